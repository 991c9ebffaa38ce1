/**
 * Seeded simulation tests inside a user's own vitest suite.
 *
 *   import { simTest } from "../sim/vitest.ts";
 *   simTest("the broker survives a fault-free day", { scenario: "happy-path", seeds: "1..20" });
 *
 * Each seed runs through `runScenario`, the runner's own code path, so a seed that fails here fails
 * the same way under `sim/runner.ts`. The first failing seed stops the test: it is run once more
 * with tracing on, its trace, Perfetto JSON and HTML timeline are written under `out/sim-test/`,
 * and the thrown error names the invariant, the explanation, the `rerun:` line and those files.
 */

import { it } from "vitest";
import type { PlantedFaults } from "../src/broker/options.ts";
import type { ExportPaths } from "./export/files.ts";
import { plantedNames, rerunFor, runAndExport } from "./export/run-export.ts";
import { type RunOptions, type RunReport, runScenario } from "./run.ts";
import { SCENARIOS, scenarioByName } from "./scenarios/index.ts";
import type { Scenario } from "./scenarios/scenario.ts";

export interface SimTestSpec {
  /** A registered scenario name or a `Scenario` object. */
  scenario: string | Scenario;
  /** One seed, a list, or an inclusive range "A..B". */
  seeds: number | readonly number[] | string;
  swarm?: boolean;
  /** Test-only broker faults (PROTOCOL.md planted faults) to plant in every run. */
  plantedFaults?: Partial<PlantedFaults>;
  /** Passed to `runScenario` (checkers, broker log). */
  options?: Omit<RunOptions, "recordTrace" | "swarm">;
  /** Where the failing seed's files go (default `out/sim-test`). */
  outDir?: string;
  /** Write trace/Perfetto/HTML for the failing seed (default true). */
  artifacts?: boolean;
  /** vitest timeout for the whole seed range, ms (default 120000). */
  timeoutMs?: number;
}

export const SIM_TEST_OUT_DIR = "out/sim-test";

/** The error a failing seed throws; its message is the whole report. */
export class SimFailure extends Error {
  override readonly name = "SimFailure";
  constructor(
    message: string,
    readonly report: RunReport,
    readonly rerun: string,
    readonly paths: ExportPaths,
  ) {
    super(message);
  }
}

export interface SimSweep {
  runs: number;
  events: number;
  failure?: SimFailure;
}

/** Run every seed (stopping at the first failure) and return what happened; never throws on a failure. */
export function runSimSeeds(spec: SimTestSpec): SimSweep {
  const scenario = resolveScenario(spec.scenario);
  const seeds = parseSeeds(spec.seeds);
  const swarm = spec.swarm === true;
  let runs = 0;
  let events = 0;
  for (const seed of seeds) {
    const report = runScenario(scenario, seed, { ...spec.options, plantedFaults: spec.plantedFaults, swarm });
    runs++;
    events += report.events;
    if (report.ok) continue;
    return { runs, events, failure: failureFor(spec, scenario, seed, report) };
  }
  return { runs, events };
}

/** Throw a `SimFailure` for the first failing seed. */
export function assertSimSeeds(spec: SimTestSpec): SimSweep {
  const sweep = runSimSeeds(spec);
  if (sweep.failure) throw sweep.failure;
  return sweep;
}

type Registrar = (name: string, fn: () => void, timeout?: number) => void;

/** Register one vitest test that runs the whole seed range. `test` defaults to vitest's `it`. */
export function simTest(name: string, spec: SimTestSpec, test: Registrar = it): void {
  test(
    name,
    () => {
      assertSimSeeds(spec);
    },
    spec.timeoutMs ?? 120_000,
  );
}

function failureFor(spec: SimTestSpec, scenario: Scenario, seed: number, report: RunReport): SimFailure {
  const planted = plantedNames(spec.plantedFaults);
  const swarm = spec.swarm === true;
  let rerun = rerunFor(report, swarm, planted);
  let paths: ExportPaths = {};
  let note = "";
  if (spec.artifacts !== false) {
    const traced = runAndExport(scenario, seed, {
      swarm,
      ...(spec.plantedFaults ? { plantedFaults: spec.plantedFaults } : {}),
      ...(spec.options ? { runOptions: spec.options } : {}),
      outDir: spec.outDir ?? SIM_TEST_OUT_DIR,
    });
    rerun = traced.rerun;
    paths = traced.paths;
    if (traced.report.traceHash !== report.traceHash) {
      note = `  NOTE: the traced rerun differs (hash ${traced.report.traceHash} vs ${report.traceHash}): the run is nondeterministic`;
    }
  }
  const v = report.violation;
  const lines = [
    v
      ? `${report.scenario} seed ${seed} failed ${v.invariant} (${v.kind}) at ${v.atMs} ms virtual`
      : `${report.scenario} seed ${seed} failed`,
  ];
  if (v?.statement) lines.push(`  invariant: ${v.statement}`);
  if (v) lines.push(`  explanation: ${v.message}`);
  for (const e of v?.involved ?? []) lines.push(`    ${e}`);
  if (!SCENARIOS.includes(scenario))
    lines.push(`  (scenario "${scenario.name}" is not registered in sim/scenarios/index.ts)`);
  lines.push(`  ${rerun}`);
  if (paths.trace) lines.push(`  trace:    ${paths.trace}`);
  if (paths.perfetto) lines.push(`  perfetto: ${paths.perfetto}  (open at ui.perfetto.dev)`);
  if (paths.html) lines.push(`  timeline: ${paths.html}`);
  if (note) lines.push(note);
  return new SimFailure(lines.join("\n"), report, rerun, paths);
}

function resolveScenario(s: string | Scenario): Scenario {
  if (typeof s !== "string") return s;
  const found = scenarioByName(s);
  if (!found) throw new Error(`unknown scenario "${s}"; known: ${SCENARIOS.map((x) => x.name).join(", ")}`);
  return found;
}

/** One seed, a list, or "A..B" (inclusive). */
export function parseSeeds(seeds: SimTestSpec["seeds"]): number[] {
  if (typeof seeds === "number") return [check(seeds)];
  if (typeof seeds !== "string") return seeds.map(check);
  const m = /^(\d+)\.\.(\d+)$/.exec(seeds.trim());
  if (!m) throw new Error(`seeds must be a number, a list or "A..B", got "${seeds}"`);
  const a = check(Number(m[1]));
  const b = check(Number(m[2]));
  if (b < a) throw new Error(`seed range ${seeds} is empty`);
  const out: number[] = [];
  for (let s = a; s <= b; s++) out.push(s);
  return out;
}

function check(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0xffff_ffff)
    throw new Error(`seed ${n} is not a 32-bit unsigned integer`);
  return n;
}
