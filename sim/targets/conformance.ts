/**
 * The invariant × target sweep behind docs/conformance.md:
 *
 *   npx tsx sim/targets/conformance.ts --target published --seeds A..B [--scenario NAME] [--swarm]
 *
 * A run stops at its first finding, so one invariant that breaks early hides every later one. The
 * sweep therefore runs in rounds: each round runs every scenario × seed with the invariants found
 * so far switched off, and records, for each newly broken invariant, the first (scenario, seed)
 * that broke it in sweep order. Rounds end when one finds nothing new. An invariant is then
 * `fail` (with its first seed), `pass` (checked in every run of the last round and never broken),
 * or `n/a` (the target cannot expose what it needs). The table goes to stdout, the details to
 * out/conformance/<target>.json. Exit code: 0 when every applicable invariant passed, 1 otherwise.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { CheckerDef } from "../checkers/checker.ts";
import { ALL_CHECKERS } from "../checkers/index.ts";
import { runScenario } from "../run.ts";
import { SCENARIOS, scenarioByName } from "../scenarios/index.ts";
import type { Scenario } from "../scenarios/scenario.ts";
import { applicableCheckers, targetOrThrow } from "./index.ts";
import type { TargetKind } from "./target.ts";

export interface InvariantVerdict {
  invariant: string;
  verdict: "pass" | "fail" | "n/a";
  /** For `fail`: the first run that broke it (with earlier-found invariants switched off). */
  first?: { scenario: string; seed: number; message: string; atMs: number; round: number };
  /** For `fail`: how many runs of its round broke it. */
  failingRuns?: number;
}

export interface ConformanceResult {
  target: string;
  seeds: number[];
  swarm: boolean;
  scenarios: string[];
  rounds: number;
  runs: number;
  verdicts: InvariantVerdict[];
}

export function conformanceSweep(
  target: TargetKind,
  scenarios: readonly Scenario[],
  seeds: readonly number[],
  swarm: boolean,
  progress?: (line: string) => void,
): ConformanceResult {
  const { applicable, notApplicable } = applicableCheckers(target, ALL_CHECKERS);
  const found = new Map<string, InvariantVerdict>();
  let rounds = 0;
  let runs = 0;
  for (;;) {
    rounds++;
    const checkers: CheckerDef[] = applicable.filter((c) => !found.has(c.id));
    const fresh = new Map<string, InvariantVerdict>();
    for (const scenario of scenarios) {
      for (const seed of seeds) {
        const r = runScenario(scenario, seed, { swarm, target, checkers });
        runs++;
        const v = r.violation;
        if (!v) continue;
        const known = fresh.get(v.invariant);
        if (known) known.failingRuns = (known.failingRuns ?? 0) + 1;
        else {
          fresh.set(v.invariant, {
            invariant: v.invariant,
            verdict: "fail",
            first: { scenario: scenario.name, seed, message: v.message, atMs: v.atMs, round: rounds },
            failingRuns: 1,
          });
          progress?.(`round ${rounds}: ${v.invariant} first broken by ${scenario.name} seed ${seed}`);
        }
      }
    }
    for (const [id, f] of fresh) found.set(id, f);
    if (fresh.size === 0) break;
  }
  const verdicts: InvariantVerdict[] = ALL_CHECKERS.map((c) => {
    if (notApplicable.includes(c.id)) return { invariant: c.id, verdict: "n/a" };
    return found.get(c.id) ?? { invariant: c.id, verdict: "pass" };
  });
  return {
    target: target.name,
    seeds: [...seeds],
    swarm,
    scenarios: scenarios.map((s) => s.name),
    rounds,
    runs,
    verdicts,
  };
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      target: { type: "string" },
      seeds: { type: "string", default: "1..10" },
      scenario: { type: "string" },
      swarm: { type: "boolean", default: false },
    },
  });
  const target = targetOrThrow(values.target);
  const m = /^(\d+)\.\.(\d+)$/.exec(values.seeds ?? "");
  if (!m) throw new Error(`--seeds needs a range like 1..40, got "${values.seeds}"`);
  const seeds: number[] = [];
  for (let s = Number(m[1]); s <= Number(m[2]); s++) seeds.push(s);
  let scenarios: readonly Scenario[] = SCENARIOS;
  if (values.scenario !== undefined) {
    const s = scenarioByName(values.scenario);
    if (!s) throw new Error(`unknown scenario "${values.scenario}"`);
    scenarios = [s];
  }
  const r = conformanceSweep(target, scenarios, seeds, values.swarm === true, (l) =>
    process.stderr.write(`${l}\n`),
  );
  mkdirSync("out/conformance", { recursive: true });
  writeFileSync(`out/conformance/${target.name}.json`, `${JSON.stringify(r, null, 2)}\n`);
  console.log(`| invariant | ${target.name} | first failing run |`);
  console.log("|---|---|---|");
  for (const v of r.verdicts) {
    const first = v.first
      ? `${v.first.scenario} seed ${v.first.seed} (${v.failingRuns} runs in round ${v.first.round})`
      : "";
    console.log(`| ${v.invariant} | ${v.verdict} | ${first} |`);
  }
  console.log(`${r.runs} runs in ${r.rounds} rounds (seeds ${values.seeds}${r.swarm ? ", swarm" : ""})`);
  return r.verdicts.some((v) => v.verdict === "fail") ? 1 : 0;
}

if (process.argv[1]?.endsWith("sim/targets/conformance.ts")) process.exitCode = main(process.argv.slice(2));
