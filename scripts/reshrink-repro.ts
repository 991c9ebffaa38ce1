/**
 * Shrink a replay file further: its edits and decision log are the starting point, so a repro a
 * time budget cut short (on the published target a candidate run costs 20 ms to seconds) keeps
 * shrinking from where it stopped instead of from the seed. The result is written under
 * `out/repros/` (or `--out DIR`) with the usual name; the input file is left alone.
 *
 *   npx tsx scripts/reshrink-repro.ts FILE [--budget MS] [--out DIR]
 *
 * Exit codes: 0 written, 2 usage, 3 the file does not fail as it records (nothing to shrink).
 */

import { describeSize } from "../sim/shrink/cli.ts";
import {
  REPRO_OUT_DIR,
  readReproFile,
  reproFileFrom,
  reproFileName,
  writeReproFile,
} from "../sim/shrink/repro-file.ts";
import { NotFailingError, shrinkRun } from "../sim/shrink/shrink.ts";

const USAGE = "usage: npx tsx scripts/reshrink-repro.ts FILE [--budget MS] [--out DIR]";

function main(argv: readonly string[]): number {
  let file: string | undefined;
  let budgetMs = 60_000;
  let outDir = REPRO_OUT_DIR;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--budget" || a === "--out") {
      const v = argv[++i];
      if (v === undefined) return usage(`${a} needs a value`);
      if (a === "--out") outDir = v;
      else {
        const n = Number(v);
        if (!Number.isInteger(n) || n <= 0) return usage(`--budget takes a positive whole number of ms, not "${v}"`);
        budgetMs = n;
      }
    } else if (a === "--help") {
      console.log(USAGE);
      return 0;
    } else if (a.startsWith("-")) return usage(`unknown option ${a}`);
    else if (file === undefined) file = a;
    else return usage(`one file only (got "${file}" and "${a}")`);
  }
  if (file === undefined) return usage("no replay file given");
  const f = readReproFile(file);
  if (f.expect.outcome !== "fail") {
    console.error(`error: ${file} records a passing run; there is nothing to shrink`);
    return 2;
  }
  let result: ReturnType<typeof shrinkRun>;
  try {
    result = shrinkRun(
      {
        scenario: f.scenario,
        seed: f.seed,
        swarm: f.swarm,
        planted: f.plantedFaults,
        edits: f.edits,
        decisions: f.decisions,
        ...(f.target === undefined ? {} : { target: f.target }),
      },
      {
        timeBudgetMs: budgetMs,
        ...(f.checkers?.length === 1 ? { invariant: f.checkers[0]! } : {}),
      },
    );
  } catch (err) {
    if (err instanceof NotFailingError) {
      console.error(`error: ${file} no longer fails: ${err.message}`);
      return 3;
    }
    throw err;
  }
  if (result.invariant !== f.expect.invariant) {
    console.error(`error: ${file} now breaks ${result.invariant} first, not ${f.expect.invariant}`);
    return 3;
  }
  const path = `${outDir}/${reproFileName(result.spec, result.invariant, result.shrunk.report.traceHash)}`;
  writeReproFile(path, reproFileFrom(result, path));
  console.log(`RESHRUNK ${file}: ${result.invariant} still fails`);
  console.log(`  before: ${describeSize(result.original.size)}`);
  console.log(`  after:  ${describeSize(result.shrunk.size)}`);
  console.log(
    `  ${result.runs} candidate runs in ${(result.wallMs / 1000).toFixed(1)} s` +
      (result.outOfTime ? " (time budget reached; the repro may shrink further)" : " (converged)"),
  );
  console.log(`  repro: ${path}`);
  return 0;
}

function usage(why: string): number {
  console.error(`error: ${why}\n${USAGE}`);
  return 2;
}

process.exitCode = main(process.argv.slice(2));
