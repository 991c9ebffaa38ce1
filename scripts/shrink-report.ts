/**
 * The shrinker's report card: shrinks every planted bug's first failing run and every finding
 * against the published target, and prints, per case, the size before and after, the wall time,
 * whether the budget cut the search short, and whether the shrunk repro passes once the bug is
 * removed (planted: the same repro without the plant; published: the same repro on the reference
 * core, which keeps every invariant), its invariant checked alone. Then the distribution of shrunk sizes and times.
 *
 *   npx tsx scripts/shrink-report.ts [--budget MS] [--only planted|published] [--out DIR]
 *
 * Replay files go to DIR (default out/repros). Exit code 1 when a repro fails without the bug.
 */

import { parseArgs } from "node:util";
import { runRepro, type ReproSpec } from "../sim/shrink/repro.ts";
import { REPRO_OUT_DIR, reproFileFrom, reproFileName, writeReproFile } from "../sim/shrink/repro-file.ts";
import type { PlantedFaultName } from "../sim/shrink/setup.ts";
import { GOAL_EVENTS, shrinkRun } from "../sim/shrink/shrink.ts";

interface Case {
  group: "planted" | "published";
  spec: ReproSpec;
  /** Shrink for this invariant alone (`--shrink-for`). */
  invariant?: string;
}

const planted = (fault: PlantedFaultName, scenario: string): Case => ({
  group: "planted",
  spec: { scenario, seed: 1, swarm: false, planted: [fault], edits: {} },
});

const published = (scenario: string, seed: number, invariant?: string): Case => ({
  group: "published",
  spec: { scenario, seed, swarm: true, planted: [], edits: {}, target: "published" },
  ...(invariant === undefined ? {} : { invariant }),
});

/** Each planted bug's first failing seed, and each published finding's first failing run (docs/conformance.md). */
export const CASES: Case[] = [
  planted("ackBeforeHandoff", "happy-path"),
  planted("persistBeforeAck", "happy-path"),
  planted("forgetReplyRecords", "conflicting-replies"),
  planted("noDuplicateSuppression", "duplicate-deliveries"),
  planted("silentInboxLoss", "capacity-reinsertion"),
  planted("noSequenceGuard", "stale-sequences"),
  published("happy-path", 2, "R5"),
  published("ack-timeouts", 1, "L2"),
  published("stale-sequences", 1, "A1"),
  published("grace", 2, "E1"),
  published("stale-sequences", 3, "L6"),
];

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { budget: { type: "string" }, only: { type: "string" }, out: { type: "string" } },
  });
  const budget = values.budget === undefined ? 30_000 : Number(values.budget);
  if (!Number.isInteger(budget) || budget <= 0) throw new Error(`--budget needs a positive integer, got ${values.budget}`);
  if (values.only !== undefined && values.only !== "planted" && values.only !== "published")
    throw new Error(`--only is "planted" or "published", got "${values.only}"`);
  const outDir = values.out ?? REPRO_OUT_DIR;
  const rows: Array<{ events: number; wallMs: number; fair: boolean }> = [];
  console.log("| case | invariant | events before | events after | wall s | runs | budget hit | passes without the bug | repro |");
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const c of CASES) {
    if (values.only !== undefined && c.group !== values.only) continue;
    const r = shrinkRun(c.spec, { timeBudgetMs: budget, ...(c.invariant ? { invariant: c.invariant } : {}) });
    const path = `${outDir}/${reproFileName(r.spec, r.invariant, r.shrunk.report.traceHash)}`;
    writeReproFile(path, reproFileFrom(r, path));
    // Without the bug, the repro's invariant must hold (checked alone: the repro is about it).
    const fixed: ReproSpec =
      c.group === "planted" ? { ...r.spec, planted: [] } : { ...r.spec, target: "reference" };
    const withoutBug = runRepro({ ...fixed, checkers: [r.invariant] });
    const fair = withoutBug.report.violation === undefined;
    rows.push({ events: r.shrunk.size.events, wallMs: r.wallMs, fair });
    const name = c.group === "planted" ? `${c.spec.planted[0]} (${c.spec.scenario} seed 1)` : `published ${c.spec.scenario} seed ${c.spec.seed}`;
    console.log(
      `| ${name} | ${r.invariant} | ${r.original.size.events} | ${r.shrunk.size.events} | ${(r.wallMs / 1000).toFixed(1)} | ${r.runs} | ${r.outOfTime ? "yes" : "no"} | ${fair ? "yes" : `NO (${withoutBug.report.violation?.invariant})`} | ${path} |`,
    );
  }
  const sizes = rows.map((r) => r.events).sort((a, b) => a - b);
  const times = rows.map((r) => r.wallMs / 1000).sort((a, b) => a - b);
  const within = rows.filter((r) => r.events <= GOAL_EVENTS && r.wallMs <= 30_000).length;
  const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
  console.log("");
  console.log(`shrunk events: min ${sizes[0]}, median ${pct(sizes, 50)}, p90 ${pct(sizes, 90)}, max ${sizes.at(-1)}`);
  console.log(
    `shrink wall s: min ${times[0]?.toFixed(1)}, median ${pct(times, 50)?.toFixed(1)}, p90 ${pct(times, 90)?.toFixed(1)}, max ${times.at(-1)?.toFixed(1)}`,
  );
  console.log(`${within}/${rows.length} at most ${GOAL_EVENTS} events within 30 s; ${rows.filter((r) => r.fair).length}/${rows.length} pass without the bug`);
  return rows.every((r) => r.fair) ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
