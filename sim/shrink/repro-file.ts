/**
 * Replay files: a (shrunk) failing run as readable JSON — scenario, seed, planted faults, setup
 * edits, the expected outcome and trace hash, the command that reruns it, and its decision log.
 *
 * Theory of operation:
 * 1. The decision log is what makes the file exact: replaying it serves every draw from the file,
 *    so the run does not depend on the PRNG. Trailing draws equal to the value an exhausted stream
 *    serves anyway are trimmed (the replay is identical either way; the file gets shorter).
 * 2. `expect.outcome` is "fail" (with the invariant it breaks) or "pass". A repro of a real bug
 *    starts as "fail"; once the bug is fixed, its regression file is switched to "pass" and keeps
 *    `brokeInvariant`, so the fixture then guards the fix. Planted-fault fixtures stay "fail"
 *    forever: they prove the harness still catches that kind of bug.
 * 3. A replay is judged by the outcome (invariant id), not the trace hash: an intended change of the
 *    core shifts the hash of every run, while the repro still breaks the same invariant. The hash
 *    is reported so an unexpected drift is visible.
 * 4. A replayed log stays aligned with the code only as long as the code draws in the same order;
 *    a change of draw order can make an old repro stop failing. Re-shrink from its seed then.
 */

import { ALL_CHECKERS } from "../checkers/index.ts";
import { DEFAULT_TARGET, TARGETS, targetByName } from "../targets/index.ts";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { REPLAY_COMMAND } from "../rerun.ts";
import type { RunReport } from "../run.ts";
import { type DecisionLog, type DrawKind, invalidLog, simplestDraw } from "./decision-log.ts";
import { type ReproRun, type ReproSize, runRepro } from "./repro.ts";
import { isPlantedFaultName, type PlantedFaultName, type SetupEdits } from "./setup.ts";
import type { ShrinkResult } from "./shrink.ts";

export const REPRO_FORMAT = "sim-repro/1";
export const REPRO_OUT_DIR = "out/repros";
export const REGRESSIONS_DIR = "test/regressions";

export type ReproExpectation =
  | {
      outcome: "fail";
      invariant: string;
      kind: "safety" | "liveness";
      message: string;
      atMs: number;
      traceHash: string;
    }
  | { outcome: "pass"; brokeInvariant?: string; traceHash?: string };

export interface ReproFile {
  format: typeof REPRO_FORMAT;
  /** One line for people: what this repro shows. */
  title: string;
  scenario: string;
  seed: number;
  swarm: boolean;
  plantedFaults: PlantedFaultName[];
  edits: SetupEdits;
  /** The target the run was made against (absent = the reference core). */
  target?: string;
  /**
   * The only checkers the run has on (invariant ids; absent = every checker): a repro shrunk for
   * one invariant (`--shrink-for`) checks that invariant alone, so another that breaks first
   * cannot hide it.
   */
  checkers?: string[];
  expect: ReproExpectation;
  /** How the repro was made (sizes before and after shrinking, time taken). */
  shrink?: { before: ReproSize; after: ReproSize; runs: number; wallMs: number; outOfTime: boolean };
  rerun: string;
  /** Per stream label, the raw 32-bit draws in order. */
  decisions: DecisionLog;
}

export class ReproFileError extends Error {}

export function rerunCommand(path: string): string {
  return `${REPLAY_COMMAND} ${path}`;
}

/** A shrink result as a replay file that will live at `path`. */
export function reproFileFrom(result: ShrinkResult, path: string): ReproFile {
  const run = result.shrunk;
  const v = run.report.violation!;
  return {
    format: REPRO_FORMAT,
    title: `${result.spec.scenario} seed ${result.spec.seed}${plantedSuffix(result.spec.planted)}${targetSuffix(result.spec.target)} breaks ${v.invariant}${result.spec.checkers === undefined ? "" : ` (checked alone: ${result.spec.checkers.join(", ")})`}`,
    scenario: result.spec.scenario,
    seed: result.spec.seed,
    swarm: result.spec.swarm,
    plantedFaults: [...result.spec.planted].sort(),
    edits: result.spec.edits,
    ...(result.spec.target === undefined || result.spec.target === DEFAULT_TARGET.name
      ? {}
      : { target: result.spec.target }),
    ...(result.spec.checkers === undefined ? {} : { checkers: [...result.spec.checkers] }),
    expect: {
      outcome: "fail",
      invariant: v.invariant,
      kind: v.kind,
      message: v.message,
      atMs: v.atMs,
      traceHash: run.report.traceHash,
    },
    shrink: {
      before: result.original.size,
      after: run.size,
      runs: result.runs,
      wallMs: result.wallMs,
      outOfTime: result.outOfTime,
    },
    rerun: rerunCommand(path),
    decisions: trimLog(run.log, run.kinds),
  };
}

function targetSuffix(t: string | undefined): string {
  return t === undefined || t === DEFAULT_TARGET.name ? "" : ` on the ${t} target`;
}

function plantedSuffix(p: readonly string[]): string {
  return p.length === 0 ? "" : ` with planted ${[...p].sort().join(", ")}`;
}

/** Drop each stream's trailing draws that an exhausted stream would serve anyway. */
export function trimLog(log: DecisionLog, kinds: Record<string, DrawKind[]>): DecisionLog {
  const out: DecisionLog = {};
  for (const key of Object.keys(log)) {
    const d = log[key]!;
    const k = kinds[key] ?? [];
    let n = d.length;
    while (n > 0 && k[n - 1] !== undefined && d[n - 1] === simplestDraw(k[n - 1]!, key, n - 1)) n--;
    out[key] = d.slice(0, n);
  }
  return out;
}

/** JSON with two-space indentation, but each draw list on one line. */
export function formatReproFile(f: ReproFile): string {
  const { decisions, ...rest } = f;
  const head = JSON.stringify(rest, null, 2);
  const lines = Object.keys(decisions).map(
    (k) => `    ${JSON.stringify(k)}: ${JSON.stringify(decisions[k])}`,
  );
  return `${head.slice(0, -2)},\n  "decisions": {\n${lines.join(",\n")}\n  }\n}\n`;
}

export function parseReproFile(text: string, path: string): ReproFile {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (err) {
    throw new ReproFileError(`${path}: not JSON (${(err as Error).message})`);
  }
  const fail = (what: string) => new ReproFileError(`${path}: ${what}`);
  if (typeof x !== "object" || x === null) throw fail("not a JSON object");
  const f = x as Record<string, unknown>;
  if (f.format !== REPRO_FORMAT)
    throw fail(`format must be "${REPRO_FORMAT}", got ${JSON.stringify(f.format)}`);
  if (typeof f.scenario !== "string") throw fail("scenario must be a string");
  if (!Number.isInteger(f.seed) || (f.seed as number) < 0) throw fail("seed must be a non-negative integer");
  if (typeof f.swarm !== "boolean") throw fail("swarm must be true or false");
  if (
    !Array.isArray(f.plantedFaults) ||
    !f.plantedFaults.every((p) => typeof p === "string" && isPlantedFaultName(p))
  ) {
    throw fail("plantedFaults must list planted fault names");
  }
  if (typeof f.edits !== "object" || f.edits === null) throw fail("edits must be an object");
  if (f.target !== undefined && (typeof f.target !== "string" || targetByName(f.target) === undefined))
    throw fail(`target must name a target (${TARGETS.map((t) => t.name).join(", ")})`);
  if (
    f.checkers !== undefined &&
    (!Array.isArray(f.checkers) ||
      f.checkers.length === 0 ||
      !f.checkers.every((c) => typeof c === "string" && ALL_CHECKERS.some((d) => d.id === c)))
  )
    throw fail(`checkers must list invariant ids (${ALL_CHECKERS.map((c) => c.id).join(", ")})`);
  const e = f.expect as Record<string, unknown> | undefined;
  if (typeof e !== "object" || e === null) throw fail("expect must be an object");
  if (e.outcome === "fail") {
    if (typeof e.invariant !== "string")
      throw fail("expect.invariant must name the invariant the run breaks");
  } else if (e.outcome !== "pass") {
    throw fail(`expect.outcome must be "fail" or "pass", got ${JSON.stringify(e.outcome)}`);
  }
  const bad = invalidLog(f.decisions);
  if (bad !== undefined) throw fail(bad);
  return x as ReproFile;
}

export function readReproFile(path: string): ReproFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ReproFileError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return parseReproFile(text, path);
}

export function writeReproFile(path: string, f: ReproFile): void {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, formatReproFile(f));
}

export interface ReplayOutcome {
  report: RunReport;
  run: ReproRun;
  /** The run did what `expect` says (same invariant, or passed). */
  asExpected: boolean;
  /** The trace hash equals the recorded one (undefined when none was recorded). */
  sameHash: boolean | undefined;
}

/** Run a replay file exactly: its planted faults, edits and decision log. */
export function replayReproFile(f: ReproFile): ReplayOutcome {
  const run = runRepro({
    scenario: f.scenario,
    seed: f.seed,
    swarm: f.swarm,
    planted: f.plantedFaults,
    edits: f.edits,
    target: f.target,
    decisions: f.decisions,
    ...(f.checkers === undefined ? {} : { checkers: f.checkers }),
  });
  const report = run.report;
  const asExpected =
    f.expect.outcome === "fail" ? report.violation?.invariant === f.expect.invariant : report.ok;
  const recorded = f.expect.traceHash;
  return {
    report,
    run,
    asExpected,
    sameHash: recorded === undefined ? undefined : recorded === report.traceHash,
  };
}

/** One sentence on how a replay compares with its file. */
export function describeReplay(f: ReproFile, o: ReplayOutcome): string {
  const got = o.report.violation ? `breaks ${o.report.violation.invariant}` : "passes";
  if (f.expect.outcome === "fail") {
    if (o.asExpected) return `reproduced: ${got}, as recorded`;
    return o.report.violation
      ? `NOT reproduced: the file records a break of ${f.expect.invariant}, the run now ${got} instead`
      : `NOT reproduced: the file records a break of ${f.expect.invariant}, the run now passes (fixed? see test/regressions/README.md)`;
  }
  const was = f.expect.brokeInvariant === undefined ? "" : ` (it used to break ${f.expect.brokeInvariant})`;
  return o.asExpected ? `passes, as recorded${was}` : `REGRESSED: expected to pass${was}, the run ${got}`;
}

/** Copy a replay file into `test/regressions/` (its rerun line pointing at the new place). */
export function promoteReproFile(src: string, dir = REGRESSIONS_DIR): string {
  const f = readReproFile(src);
  const dest = join(dir, basename(src));
  mkdirSync(dir, { recursive: true });
  if (f.rerun === rerunCommand(dest)) copyFileSync(src, dest);
  else writeReproFile(dest, { ...f, rerun: rerunCommand(dest) });
  return dest;
}

/**
 * The file name of a repro: target, scenario, planted faults, seed, invariant, and the first 8 hex
 * digits of the shrunk run's trace hash, so two different failures of one seed (another invariant,
 * or the same one reached another way) never overwrite each other.
 */
export function reproFileName(
  spec: { scenario: string; seed: number; planted: readonly string[]; target?: string },
  invariant: string,
  traceHash: string,
): string {
  const planted = spec.planted.length === 0 ? "" : `-${[...spec.planted].sort().join("+")}`;
  const target = spec.target === undefined || spec.target === DEFAULT_TARGET.name ? "" : `${spec.target}-`;
  return `${target}${spec.scenario}${planted}-seed${spec.seed}-${invariant}-${traceHash.slice(0, 8)}.json`;
}
