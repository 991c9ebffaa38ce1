/**
 * Seeded simulation tests inside a user's own vitest suite (`broker-sim/vitest`).
 *
 *   import { simTest } from "broker-sim/vitest";
 *   simTest("the broker survives duplicate deliveries", { scenario: "duplicate-deliveries", seeds: "1..50" });
 *
 * Each seed runs through `runScenario`, the runner's own code path, so a seed that fails here fails
 * the same way under the runner. The scenario is a registered name or the user's own `Scenario`.
 * The first failing seed stops the test: it is shrunk (same invariant) to a repro file, run once
 * more with tracing on, and the thrown error names the invariant, the explanation, the `rerun:`
 * line and the repro's and the pictures' paths.
 *
 * Rerun lines: `simTest` knows its test file and name, so its rerun line goes through the user's
 * own vitest — `BROKER_SIM_SEED=7 npx vitest run FILE -t 'NAME'` — which works for the user's own
 * scenarios too. `BROKER_SIM_REPLAY=REPRO.json` (same command) replays the shrunk repro instead.
 * Without a test context (`runSimSeeds`, `assertSimSeeds`) the line is the runner's.
 *
 * What the run puts under test is `options.target` (a `TargetKind` from `broker-sim/sim`: the
 * reference `BrokerCore` by default, the published daemon, or your own broker behind an adapter);
 * it reaches every seed, the shrinker and the replay unchanged.
 */

import { relative } from "node:path";
import { it } from "vitest";
import type { PlantedFaults } from "../src/broker/options.ts";
import type { ExportPaths } from "./export/files.ts";
import { plantedNames, rerunFor, runAndExport } from "./export/run-export.ts";
import { type RunOptions, type RunReport, runScenario } from "./run.ts";
import { SCENARIOS, scenarioByName } from "./scenarios/index.ts";
import type { Scenario } from "./scenarios/scenario.ts";
import { runRepro } from "./shrink/repro.ts";
import { readReproFile, reproFileFrom, reproFileName, writeReproFile } from "./shrink/repro-file.ts";
import { isPlantedFaultName } from "./shrink/setup.ts";
import { NotFailingError, shrinkRun } from "./shrink/shrink.ts";

export interface SimTestSpec {
  /** A registered scenario name or a `Scenario` object (your own scenario). */
  scenario: string | Scenario;
  /** One seed, a list, or an inclusive range "A..B". */
  seeds: number | readonly number[] | string;
  swarm?: boolean;
  /** Test-only broker faults to plant in every run (`PlantedFaults` of `broker-sim/core`). */
  plantedFaults?: Partial<PlantedFaults>;
  /** Passed to `runScenario` for every run, shrink candidate and replay (checkers, broker log). */
  options?: Omit<RunOptions, "recordTrace" | "swarm" | "decisions" | "onDrawn">;
  /** Where the failing seed's files go (default `out/sim-test`; repros under `<outDir>/repros`). */
  outDir?: string;
  /** Write trace/Perfetto/HTML for the failing seed (default true). */
  artifacts?: boolean;
  /** Shrink the failing seed to a repro file (default: the value of `artifacts`). */
  shrink?: boolean;
  /** Wall-time budget of the shrink, ms (default 10000). */
  shrinkBudgetMs?: number;
  /** vitest timeout for the whole seed range, ms (default 120000). */
  timeoutMs?: number;
}

export const SIM_TEST_OUT_DIR = "out/sim-test";
export const DEFAULT_SIM_TEST_SHRINK_BUDGET_MS = 10_000;
/** Run only this seed (set by a `simTest` rerun line). */
export const SEED_ENV = "BROKER_SIM_SEED";
/** Replay this repro file instead of the seeds (set by a `simTest` repro's rerun line). */
export const REPLAY_ENV = "BROKER_SIM_REPLAY";

/** The error a failing seed throws; its message is the whole report. */
export class SimFailure extends Error {
  override readonly name = "SimFailure";
  constructor(
    message: string,
    readonly report: RunReport,
    readonly rerun: string,
    readonly paths: ExportPaths,
    /** The shrunk repro file, when the failure was shrunk. */
    readonly repro?: string,
  ) {
    super(message);
  }
}

export interface SimSweep {
  runs: number;
  events: number;
  failure?: SimFailure;
}

/** Where a test lives, for rerun lines through the user's own vitest. */
export interface SimTestContext {
  /** Test file path (absolute or relative to the working directory). */
  file: string;
  /** The test's name, as `-t` matches it. */
  name: string;
}

/** Run every seed (stopping at the first failure) and return what happened; never throws on a failure. */
export function runSimSeeds(spec: SimTestSpec, context?: SimTestContext): SimSweep {
  const scenario = resolveScenario(spec.scenario);
  const seeds = seedsFromEnv() ?? parseSeeds(spec.seeds);
  const swarm = spec.swarm === true;
  let runs = 0;
  let events = 0;
  for (const seed of seeds) {
    const report = runScenario(scenario, seed, { ...spec.options, plantedFaults: spec.plantedFaults, swarm });
    runs++;
    events += report.events;
    if (report.ok) continue;
    return { runs, events, failure: failureFor(spec, scenario, seed, report, context) };
  }
  return { runs, events };
}

/** Throw a `SimFailure` for the first failing seed. */
export function assertSimSeeds(spec: SimTestSpec, context?: SimTestContext): SimSweep {
  const sweep = runSimSeeds(spec, context);
  if (sweep.failure) throw sweep.failure;
  return sweep;
}

/** What vitest passes a test function (only the parts used here). */
interface TestContextLike {
  task?: { name?: string; file?: { filepath?: string } };
}

type Registrar = (name: string, fn: (ctx?: TestContextLike) => void, timeout?: number) => void;

/** Register one vitest test that runs the whole seed range. `test` defaults to vitest's `it`. */
export function simTest(name: string, spec: SimTestSpec, test: Registrar = it): void {
  test(
    name,
    (ctx) => {
      const file = ctx?.task?.file?.filepath;
      const context = file === undefined ? undefined : { file, name: ctx?.task?.name ?? name };
      const replay = process.env[REPLAY_ENV];
      if (replay !== undefined && replay !== "") replaySimRepro(spec, replay, context);
      else assertSimSeeds(spec, context);
    },
    spec.timeoutMs ?? 120_000,
  );
}

/** The `npx vitest run` line that reruns one test with `env` set. */
export function vitestRerunLine(context: SimTestContext, env: Record<string, string>): string {
  const file = relative(process.cwd(), context.file) || context.file;
  const vars = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`);
  return [...vars, "npx vitest run", shellQuote(file), "-t", shellQuote(escapeRegExp(context.name))].join(
    " ",
  );
}

/** Run a repro file written by a failing `simTest` with this spec's scenario and options. */
export function replaySimRepro(spec: SimTestSpec, path: string, context?: SimTestContext): RunReport {
  const scenario = resolveScenario(spec.scenario);
  const file = readReproFile(path);
  if (file.scenario !== scenario.name)
    throw new Error(
      `${REPLAY_ENV}=${path} is a repro of scenario "${file.scenario}", this test runs "${scenario.name}"`,
    );
  const run = runRepro(
    {
      scenario: file.scenario,
      seed: file.seed,
      swarm: file.swarm,
      planted: file.plantedFaults,
      edits: file.edits,
      decisions: file.decisions,
    },
    scenario,
    undefined,
    spec.options ?? {},
  );
  const report = run.report;
  if (!report.violation) return report;
  const rerun = `rerun: ${context ? vitestRerunLine(context, { [REPLAY_ENV]: path }) : file.rerun}`;
  const lines = headLines(report, report.seed, scenario);
  lines[0] += ` (replay of ${path})`;
  lines.push(`  ${rerun}`);
  throw new SimFailure(lines.join("\n"), report, rerun, {}, path);
}

function failureFor(
  spec: SimTestSpec,
  scenario: Scenario,
  seed: number,
  report: RunReport,
  context: SimTestContext | undefined,
): SimFailure {
  const planted = plantedNames(spec.plantedFaults);
  const swarm = spec.swarm === true;
  const registered = SCENARIOS.includes(scenario);
  const runnerRerun = rerunFor(report, swarm, planted);
  const rerun = context ? `rerun: ${vitestRerunLine(context, { [SEED_ENV]: String(seed) })}` : runnerRerun;
  let paths: ExportPaths = {};
  let note = "";
  const outDir = spec.outDir ?? SIM_TEST_OUT_DIR;
  if (spec.artifacts !== false) {
    const traced = runAndExport(scenario, seed, {
      swarm,
      ...(spec.plantedFaults ? { plantedFaults: spec.plantedFaults } : {}),
      ...(spec.options ? { runOptions: spec.options } : {}),
      outDir,
    });
    paths = traced.paths;
    if (traced.report.traceHash !== report.traceHash) {
      note = `  NOTE: the traced rerun differs (hash ${traced.report.traceHash} vs ${report.traceHash}): the run is nondeterministic`;
    }
  }
  const shrunk =
    (spec.shrink ?? spec.artifacts !== false) ? shrinkFailure(spec, scenario, seed, context) : undefined;
  const lines = headLines(report, seed, scenario);
  lines.push(`  ${rerun}`);
  if (context && registered) lines.push(`  or:     ${runnerRerun.slice("rerun: ".length)}`);
  if (!context && !registered)
    lines.push(
      `  (scenario "${scenario.name}" is not registered: rerun it through the test that defines it)`,
    );
  if (shrunk) lines.push(`  repro:  ${shrunk.path}  (${shrunk.summary})`);
  if (shrunk?.replay) lines.push(`  replay: ${shrunk.replay}`);
  if (paths.trace) lines.push(`  trace:    ${paths.trace}`);
  if (paths.perfetto) lines.push(`  perfetto: ${paths.perfetto}  (open at ui.perfetto.dev)`);
  if (paths.html) lines.push(`  timeline: ${paths.html}`);
  if (note) lines.push(note);
  return new SimFailure(lines.join("\n"), report, rerun, paths, shrunk?.path);
}

function headLines(report: RunReport, seed: number, scenario: Scenario): string[] {
  const v = report.violation;
  const lines = [
    v
      ? `${scenario.name} seed ${seed} failed ${v.invariant} (${v.kind}) at ${v.atMs} ms virtual`
      : `${scenario.name} seed ${seed} failed`,
  ];
  if (v?.statement) lines.push(`  invariant: ${v.statement}`);
  if (v) lines.push(`  explanation: ${v.message}`);
  for (const e of v?.involved ?? []) lines.push(`    ${e}`);
  return lines;
}

/** Shrink the failing seed and write its repro file; undefined when it no longer fails. */
function shrinkFailure(
  spec: SimTestSpec,
  scenario: Scenario,
  seed: number,
  context: SimTestContext | undefined,
): { path: string; summary: string; replay?: string } | undefined {
  const planted = plantedNames(spec.plantedFaults).filter(isPlantedFaultName);
  let result: ReturnType<typeof shrinkRun>;
  try {
    result = shrinkRun(
      { scenario: scenario.name, seed, swarm: spec.swarm === true, planted, edits: {} },
      {
        scenario,
        timeBudgetMs: spec.shrinkBudgetMs ?? DEFAULT_SIM_TEST_SHRINK_BUDGET_MS,
        ...(spec.options ? { runOptions: spec.options } : {}),
      },
    );
  } catch (err) {
    if (err instanceof NotFailingError) return undefined;
    throw err;
  }
  const path = `${spec.outDir ?? SIM_TEST_OUT_DIR}/repros/${reproFileName(result.spec, result.invariant, result.shrunk.report.traceHash)}`;
  const file = reproFileFrom(result, path);
  const replay = context ? vitestRerunLine(context, { [REPLAY_ENV]: path }) : undefined;
  writeReproFile(path, replay ? { ...file, rerun: replay } : file);
  const summary =
    `shrunk ${result.original.size.events} → ${result.shrunk.size.events} events` +
    (result.outOfTime ? ", time budget reached" : "");
  return replay ? { path, summary, replay } : { path, summary };
}

function resolveScenario(s: string | Scenario): Scenario {
  if (typeof s !== "string") return s;
  const found = scenarioByName(s);
  if (!found) throw new Error(`unknown scenario "${s}"; known: ${SCENARIOS.map((x) => x.name).join(", ")}`);
  return found;
}

function seedsFromEnv(): number[] | undefined {
  const raw = process.env[SEED_ENV];
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw))
    throw new Error(`${SEED_ENV} must be one seed (a non-negative integer), got "${raw}"`);
  return [check(Number(raw))];
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

/** A word the shell passes through unchanged: bare when safe, else single-quoted. */
function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
