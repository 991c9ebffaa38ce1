/**
 * One bug's shrink, for scripts/mutation/shrink-killed.ts: find the broker's first failing run in
 * this tree (the given scenario and seed, else the kill sweep's seed-major swarm order), shrink it
 * for its invariant with a wall-time budget, write the replay file, and print one JSON line.
 *
 *   npx tsx scripts/mutation/shrink-one.ts --out DIR [--label L] [--plant NAME]
 *        [--scenario NAME --seed N] [--max-runs N] [--skip NAME[,NAME]] [--budget MS]
 *        [--fair-root DIR] [--clock wall|cpu]
 *
 * `--clock cpu` counts the budget (and the reported time) in this process's CPU time instead of
 * wall time: on a machine shared with other jobs, wall time measures the neighbours as much as the
 * shrinker.
 * `--fair-root DIR` names the unmutated tree: every candidate the shrinker is about to accept is
 * also run there (its invariant alone) and must pass, so the repro cannot end in a world where a
 * correct broker fails too (a planted fault's shrink does that by itself, without the plant).
 * The tree it runs in holds the bug (a mutated copy of src/broker, or `--plant`); replaying the
 * repro without the bug is the caller's job, in the unmutated tree. A given scenario and seed that
 * no longer fail here (the sweep that recorded them ran another version of the harness) fall back
 * to the sweep, and the line says so. Exit code 0 with a line, also when nothing failed
 * (`"failed": false`); 2 on bad arguments.
 */

import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { runScenario } from "../../sim/run.ts";
import { SCENARIOS, scenarioByName } from "../../sim/scenarios/index.ts";
import type { ReproSpec } from "../../sim/shrink/repro.ts";
import { reproFileFrom, reproFileName, writeReproFile } from "../../sim/shrink/repro-file.ts";
import { isPlantedFaultName, type PlantedFaultName } from "../../sim/shrink/setup.ts";
import { type FairnessOracle, type ShrinkResult, shrinkRun } from "../../sim/shrink/shrink.ts";

export interface ShrinkOneLine {
  label: string;
  failed: boolean;
  /** Runs of the seed-major sweep until the failure (1 when the given run failed). */
  runsToKill?: number;
  /** The given scenario and seed did not fail in this tree; the sweep found another run. */
  resweeped?: boolean;
  scenario?: string;
  seed?: number;
  invariant?: string;
  kind?: "safety" | "liveness";
  before?: { events: number; traceLines: number };
  after?: { events: number; traceLines: number };
  /** Time of the shrink by `clock` (wall time unless `--clock cpu`). */
  wallMs?: number;
  clock?: "wall" | "cpu";
  /** Wall time of the shrink, ms. */
  realMs?: number;
  /** CPU time of the shrink (this process), ms. */
  cpuMs?: number;
  candidates?: number;
  outOfTime?: boolean;
  /** Smaller failing candidates the fairness oracle rejected. */
  unfair?: number;
  /** Per shrinker pass: candidates, acceptances, lines removed, wall ms of runs and of the oracle. */
  profile?: ShrinkResult["profile"];
  repro?: string;
  error?: string;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      out: { type: "string" },
      label: { type: "string" },
      plant: { type: "string" },
      scenario: { type: "string" },
      seed: { type: "string" },
      "max-runs": { type: "string" },
      skip: { type: "string" },
      budget: { type: "string" },
      "fair-root": { type: "string" },
      clock: { type: "string", default: "wall" },
    },
  });
  const usage = (m: string) => {
    process.stderr.write(`shrink-one: ${m}\n`);
    return 2;
  };
  if (values.out === undefined) return usage("--out DIR is required");
  const planted: PlantedFaultName[] = [];
  if (values.plant !== undefined) {
    if (!isPlantedFaultName(values.plant)) return usage(`unknown planted fault "${values.plant}"`);
    planted.push(values.plant);
  }
  const maxRuns = Number(values["max-runs"] ?? "42");
  const budget = Number(values.budget ?? "30000");
  if (!Number.isSafeInteger(maxRuns) || maxRuns < 1) return usage("--max-runs needs a positive integer");
  if (!Number.isSafeInteger(budget) || budget < 1) return usage("--budget needs a positive integer");
  if (values.clock !== "wall" && values.clock !== "cpu") return usage("--clock is wall or cpu");
  const now =
    values.clock === "cpu"
      ? () => {
          const u = process.cpuUsage();
          return (u.user + u.system) / 1000;
        }
      : Date.now;
  if ((values.scenario === undefined) !== (values.seed === undefined))
    return usage("--scenario and --seed go together");
  const skip = (values.skip ?? "").split(",").filter((x) => x !== "");
  for (const n of skip) if (!scenarioByName(n)) return usage(`--skip: unknown scenario "${n}"`);
  const sweepOrder = SCENARIOS.filter((s) => !skip.includes(s.name));
  const label = values.label ?? (values.plant ? `plant:${values.plant}` : "tree");
  const plantedFaults = Object.fromEntries(planted.map((p) => [p, true]));

  let found: { scenario: string; seed: number; runs: number } | undefined;
  let resweeped = false;
  if (values.scenario !== undefined) {
    const sc = scenarioByName(values.scenario);
    if (!sc) return usage(`unknown scenario "${values.scenario}"`);
    const seed = Number(values.seed);
    if (!runScenario(sc, seed, { swarm: true, plantedFaults }).ok)
      found = { scenario: sc.name, seed, runs: 1 };
    else resweeped = true;
  }
  if (found === undefined) {
    // The kill sweep's order: every scenario's seed 1 (registry order), then seed 2, ...
    let runs = 0;
    outer: for (let seed = 1; runs < maxRuns; seed++) {
      for (const sc of sweepOrder) {
        if (runs >= maxRuns) break outer;
        runs++;
        if (!runScenario(sc, seed, { swarm: true, plantedFaults }).ok) {
          found = { scenario: sc.name, seed, runs };
          break outer;
        }
      }
    }
  }
  if (found === undefined) {
    print({ label, failed: false, resweeped });
    return 0;
  }
  const cpu0 = process.cpuUsage();
  const real0 = Date.now();
  try {
    const first = runScenario(scenarioByName(found.scenario)!, found.seed, { swarm: true, plantedFaults });
    const invariant = first.violation!.invariant;
    let fair: FairnessOracle | undefined;
    if (values["fair-root"] !== undefined) {
      // The unmutated tree's own module graph: its broker, scenarios and checkers.
      const other = (await import(resolve(values["fair-root"], "sim/shrink/repro.ts"))) as {
        runRepro: (
          spec: ReproSpec,
          scenario: undefined,
          eventsMax: undefined,
          run: { safetyOnly: boolean },
        ) => { report: { violation?: unknown } };
      };
      fair = (spec, safetyOnly) =>
        other.runRepro(spec, undefined, undefined, { safetyOnly }).report.violation === undefined;
    }
    const r = shrinkRun(
      { scenario: found.scenario, seed: found.seed, swarm: true, planted, edits: {} },
      { timeBudgetMs: budget, invariant, now, ...(fair ? { fair } : {}) },
    );
    const path = `${values.out}/${label.replace(/[^A-Za-z0-9_.-]+/g, "_")}-${reproFileName(r.spec, r.invariant, r.shrunk.report.traceHash)}`;
    writeReproFile(path, reproFileFrom(r, path));
    const cpu = process.cpuUsage(cpu0);
    print({
      label,
      failed: true,
      runsToKill: found.runs,
      ...(resweeped ? { resweeped } : {}),
      scenario: found.scenario,
      seed: found.seed,
      invariant: r.invariant,
      kind: r.shrunk.report.violation!.kind,
      before: { events: r.original.size.events, traceLines: r.original.size.traceLines },
      after: { events: r.shrunk.size.events, traceLines: r.shrunk.size.traceLines },
      wallMs: r.wallMs,
      clock: values.clock,
      realMs: Date.now() - real0,
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      candidates: r.runs,
      outOfTime: r.outOfTime,
      unfair: r.unfair,
      profile: r.profile,
      repro: path,
    });
  } catch (err) {
    print({
      label,
      failed: true,
      runsToKill: found.runs,
      scenario: found.scenario,
      seed: found.seed,
      error: (err as Error).message.split("\n")[0]!,
    });
  }
  return 0;
}

function print(line: ShrinkOneLine): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

process.exitCode = await main(process.argv.slice(2));
