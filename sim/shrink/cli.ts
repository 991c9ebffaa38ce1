/**
 * The runner's `--shrink`, `--replay FILE` and `--promote FILE` modes. The runner parses the flags
 * and calls in here; exit codes are the runner's (passed in, so this file does not import the
 * runner). Wall-clock time is read only to report how long shrinking took.
 */

import { basename } from "node:path";
import { metaFromReport, writeExports, writeTraceFile } from "../export/files.ts";
import type { RunReport } from "../run.ts";
import { type ReproSize, UnknownInvariantError, UnknownScenarioError } from "./repro.ts";
import {
  describeReplay,
  promoteReproFile,
  REPRO_OUT_DIR,
  ReproFileError,
  readReproFile,
  replayReproFile,
  reproFileFrom,
  reproFileName,
  writeReproFile,
} from "./repro-file.ts";
import type { PlantedFaultName } from "./setup.ts";
import { NotFailingError, shrinkRun } from "./shrink.ts";

export interface ShrinkIo {
  out(line: string): void;
  err(line: string): void;
}

export interface ExitCodes {
  pass: number;
  safety: number;
  usage: number;
  liveness: number;
}

export function exitFor(report: RunReport, codes: ExitCodes): number {
  if (!report.violation) return codes.pass;
  return report.violation.kind === "liveness" ? codes.liveness : codes.safety;
}

export interface ShrinkCommand {
  scenario: string;
  seed: number;
  swarm: boolean;
  planted: readonly PlantedFaultName[];
  /** The target's name (absent = the reference core). */
  target?: string;
  /** Directory for the replay file (default `out/repros`). */
  outDir?: string;
  timeBudgetMs?: number;
  /** Shrink for this invariant alone (`--shrink-for`); absent = the run's first violation. */
  invariant?: string;
}

/** Shrink one failing run, write its replay file, print sizes; returns the failure's exit code. */
export function shrinkCommand(cmd: ShrinkCommand, io: ShrinkIo, codes: ExitCodes): number {
  let result: ReturnType<typeof shrinkRun>;
  try {
    result = shrinkRun(
      {
        scenario: cmd.scenario,
        seed: cmd.seed,
        swarm: cmd.swarm,
        planted: [...cmd.planted],
        edits: {},
        ...(cmd.target === undefined ? {} : { target: cmd.target }),
      },
      {
        ...(cmd.timeBudgetMs === undefined ? {} : { timeBudgetMs: cmd.timeBudgetMs }),
        ...(cmd.invariant === undefined ? {} : { invariant: cmd.invariant }),
      },
    );
  } catch (err) {
    if (err instanceof NotFailingError) {
      io.out(`shrink: ${err.message}`);
      return codes.pass;
    }
    if (err instanceof UnknownScenarioError || err instanceof UnknownInvariantError) {
      io.err(`error: ${err.message}`);
      return codes.usage;
    }
    throw err;
  }
  const path = `${cmd.outDir ?? REPRO_OUT_DIR}/${reproFileName(result.spec, result.invariant, result.shrunk.report.traceHash)}`;
  const file = reproFileFrom(result, path);
  writeReproFile(path, file);
  const v = result.shrunk.report.violation!;
  io.out(`SHRUNK ${cmd.scenario} seed ${cmd.seed}: ${v.invariant} (${v.kind}) still fails — ${v.message}`);
  io.out(`  before: ${describeSize(result.original.size)}`);
  io.out(`  after:  ${describeSize(result.shrunk.size)}`);
  io.out(
    `  ${result.runs} candidate runs in ${(result.wallMs / 1000).toFixed(1)} s` +
      (result.outOfTime ? " (time budget reached; the repro may shrink further)" : ""),
  );
  if (Object.keys(result.spec.edits).length > 0)
    io.out(`  setup edits: ${JSON.stringify(result.spec.edits)}`);
  io.out(`  repro: ${path}`);
  printPictures(
    io,
    exportPictures(path.replace(/\.json$/, ""), result.shrunk.report, result.shrunk.lines, file.rerun),
  );
  io.out(`  rerun: ${file.rerun}`);
  return exitFor(result.shrunk.report, codes);
}

/** Write the Perfetto JSON and HTML timeline of a (shrunk or replayed) run next to `base`. */
function exportPictures(base: string, report: RunReport, lines: readonly string[], rerun: string) {
  const meta = { ...metaFromReport(report as unknown as Record<string, unknown>), rerun };
  return writeExports({ lines, meta, paths: { perfetto: `${base}.perfetto.json`, html: `${base}.html` } });
}

function printPictures(io: ShrinkIo, written: { perfetto?: string; html?: string }): void {
  if (written.html) io.out(`  timeline: ${written.html}`);
  if (written.perfetto) io.out(`  perfetto: ${written.perfetto} (open in https://ui.perfetto.dev)`);
}

export function describeSize(s: ReproSize): string {
  return (
    `${s.events} events (${s.coreSteps} core steps of which ${s.storageCompletions} storage completions, ${s.faultFirings} fault firings), ` +
    `${s.workloadItems} workload items, ${s.deliveries} network deliveries, ${s.traceLines} trace lines, ${s.draws} draws`
  );
}

/** Run a replay file exactly; the exit code is the run's, as for a normal failure. */
export function replayCommand(
  path: string,
  io: ShrinkIo,
  codes: ExitCodes,
  json = false,
  traceFile?: string,
): number {
  let file: ReturnType<typeof readReproFile>;
  let outcome: ReturnType<typeof replayReproFile>;
  try {
    file = readReproFile(path);
    outcome = replayReproFile(file);
  } catch (err) {
    if (err instanceof ReproFileError || err instanceof UnknownScenarioError) {
      io.err(`error: ${err.message}`);
      return codes.usage;
    }
    throw err;
  }
  const r = outcome.report;
  if (traceFile !== undefined) writeTraceFile(traceFile, outcome.run.lines);
  if (json) {
    io.out(
      JSON.stringify({ ...r, replay: path, asExpected: outcome.asExpected, sameHash: outcome.sameHash }),
    );
  } else {
    if (r.violation) {
      const v = r.violation;
      io.out(
        `FAIL ${file.scenario} seed ${file.seed} (replay): ${v.invariant} (${v.kind}) at ${v.atMs} ms virtual — ${v.message}`,
      );
      for (const e of v.involved) io.out(`    ${e}`);
    } else {
      io.out(`PASS ${file.scenario} seed ${file.seed} (replay)`);
    }
    io.out(`  ${describeReplay(file, outcome)}`);
    io.out(
      `  trace hash ${r.traceHash}` +
        (outcome.sameHash === undefined
          ? ""
          : outcome.sameHash
            ? " (as recorded)"
            : ` (recorded ${file.expect.traceHash})`),
    );
    io.out(`  size: ${describeSize(outcome.run.size)}`);
    // Pictures go under out/ even when the file lives in test/regressions (never write into git).
    const base = `out/replays/${basename(path).replace(/\.json$/, "")}`;
    printPictures(io, exportPictures(base, r, outcome.run.lines, file.rerun));
    if (outcome.run.fallbacks > 0) {
      io.out(
        `  ${outcome.run.fallbacks} draws past the end of the log were served as simplest values (files trim those)`,
      );
    }
  }
  return exitFor(r, codes);
}

/** Check that a replay file reproduces, then copy it into test/regressions/. */
export function promoteCommand(path: string, io: ShrinkIo, codes: ExitCodes, dir?: string): number {
  try {
    const file = readReproFile(path);
    const outcome = replayReproFile(file);
    if (!outcome.asExpected) {
      io.err(`error: not promoting ${path}: ${describeReplay(file, outcome)}`);
      return codes.usage;
    }
    const dest = promoteReproFile(path, dir);
    io.out(`promoted ${path} -> ${dest} (${describeReplay(file, outcome)})`);
    io.out(`  it now runs in: npx vitest run test/regressions`);
    io.out(`  format it for the linter: npx biome format --write ${dest}`);
    return codes.pass;
  } catch (err) {
    if (err instanceof ReproFileError || err instanceof UnknownScenarioError) {
      io.err(`error: ${err.message}`);
      return codes.usage;
    }
    throw err;
  }
}
