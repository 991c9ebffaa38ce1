/**
 * Merge the `--json` outputs of a sharded sweep into one report.
 *
 *   npx tsx sim/pool/merge-summaries.ts [--json] FILE...
 *
 * Each FILE is the stdout of one `sim/runner.ts --json` shard: one JSON object per run (a run
 * report, or a runaway record) and a closing `{ "summary": … }` object, which is ignored here
 * because the merged summary is rebuilt from the runs. Runs are put back in the unsharded sweep's
 * order (scenarios in registry order, seeds ascending) before they are added up, so the merged
 * summary table, coverage matrix and gaps are those an unsharded run of the same seeds prints.
 * A run that appears in two files is an error (overlapping shards), as is a line that is not JSON.
 *
 * Output: the summary table, the coverage matrix, every failure with its rerun line and a closing
 * line, or with --json one `{ "summary": …, "runs": …, "failures": […] }` object.
 * Exit codes as the runner's: 0 pass, 1 safety, 2 usage or unreadable input, 3 liveness,
 * 4 nondeterminism, 5 coverage gap, 6 runaway.
 */

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { SweepSummary } from "../coverage/sweep.ts";
import type { RunReport } from "../run.ts";
import { SCENARIOS } from "../scenarios/index.ts";

/** One line of a shard's `--json` output that describes a run. */
type RunLine = RunReport & { rerun?: string; runaway?: string; nondeterminism?: unknown };

export interface MergedFailure {
  scenario: string;
  seed: number;
  what: string;
  rerun: string | undefined;
}

export interface Merged {
  /** `SweepSummary.toJSON` of all runs, as an unsharded `--json` sweep prints it. */
  summary: Record<string, unknown>;
  table: string[];
  matrix: string[];
  runs: number;
  failures: MergedFailure[];
  counts: { safety: number; liveness: number; nondeterministic: number; runaway: number; gaps: number };
  exitCode: number;
}

export class MergeError extends Error {}

/** Merge the text of shard outputs (`name` is used in error messages). */
export function mergeShardOutputs(files: ReadonlyArray<{ name: string; text: string }>): Merged {
  const runs = new Map<string, RunLine>();
  for (const f of files) {
    const lines = f.text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const raw = lines[i]!.trim();
      if (raw === "") continue;
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        throw new MergeError(`${f.name}:${i + 1}: not a JSON line of a --json sweep`);
      }
      if ("summary" in obj) continue;
      if (typeof obj.scenario !== "string" || typeof obj.seed !== "number") {
        throw new MergeError(`${f.name}:${i + 1}: a JSON object without scenario and seed`);
      }
      const key = `${obj.scenario} ${obj.seed}`;
      if (runs.has(key))
        throw new MergeError(`${f.name}:${i + 1}: ${obj.scenario} seed ${obj.seed} is in two shards`);
      runs.set(key, obj as unknown as RunLine);
    }
  }
  const order = SCENARIOS.map((s) => s.name);
  const rank = (name: string) => {
    const r = order.indexOf(name);
    if (r < 0) throw new MergeError(`unknown scenario "${name}" (not in this checkout's registry)`);
    return r;
  };
  const sorted = [...runs.values()].sort((a, b) => rank(a.scenario) - rank(b.scenario) || a.seed - b.seed);
  const scenarios = SCENARIOS.filter((s) => sorted.some((r) => r.scenario === s.name));

  const sweep = new SweepSummary();
  const failures: MergedFailure[] = [];
  const counts = { safety: 0, liveness: 0, nondeterministic: 0, runaway: 0, gaps: 0 };
  const seedsPer = new Map<string, number>();
  for (const r of sorted) {
    seedsPer.set(r.scenario, (seedsPer.get(r.scenario) ?? 0) + 1);
    if (r.runaway !== undefined) {
      counts.runaway++;
      failures.push({ scenario: r.scenario, seed: r.seed, what: `RUNAWAY: ${r.runaway}`, rerun: r.rerun });
      continue;
    }
    sweep.add(r);
    if (r.violation) {
      counts[r.violation.kind]++;
      const v = r.violation;
      failures.push({
        scenario: r.scenario,
        seed: r.seed,
        what: `${v.invariant} (${v.kind}) at ${v.atMs} ms virtual — ${v.message}`,
        rerun: r.rerun,
      });
    }
    if (r.nondeterminism !== undefined) {
      counts.nondeterministic++;
      failures.push({ scenario: r.scenario, seed: r.seed, what: "NONDETERMINISTIC", rerun: undefined });
    }
  }
  const clean = counts.safety + counts.liveness + counts.nondeterministic + counts.runaway === 0;
  // As in the runner: gaps only count when every run passed and each scenario had two or more seeds.
  const enforce = clean && [...seedsPer.values()].every((n) => n >= 2);
  counts.gaps = enforce ? sweep.gaps(scenarios).length : 0;
  let exitCode = 0;
  if (counts.safety > 0) exitCode = 1;
  else if (counts.liveness > 0) exitCode = 3;
  else if (counts.nondeterministic > 0) exitCode = 4;
  else if (counts.gaps > 0) exitCode = 5;
  else if (counts.runaway > 0) exitCode = 6;
  return {
    summary: sweep.toJSON(scenarios),
    table: sweep.table(scenarios),
    matrix: sweep.matrix.render(),
    runs: sorted.length,
    failures,
    counts,
    exitCode,
  };
}

export function mergeCommand(argv: string[], out: (l: string) => void, err: (l: string) => void): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    err(`error: ${(e as Error).message}\nusage: npx tsx sim/pool/merge-summaries.ts [--json] FILE...`);
    return 2;
  }
  if (parsed.positionals.length === 0) {
    err("error: no shard outputs given\nusage: npx tsx sim/pool/merge-summaries.ts [--json] FILE...");
    return 2;
  }
  let merged: Merged;
  try {
    const files = parsed.positionals.map((name) => ({ name, text: readFileSync(name, "utf8") }));
    merged = mergeShardOutputs(files);
  } catch (e) {
    err(`error: ${(e as Error).message}`);
    return 2;
  }
  const c = merged.counts;
  const line =
    `${merged.runs} runs from ${parsed.positionals.length} shard outputs: ` +
    `${merged.runs - c.safety - c.liveness - c.runaway} passed, ${c.safety} safety, ${c.liveness} liveness, ` +
    `${c.nondeterministic} nondeterministic, ${c.runaway} runaway, ${c.gaps} coverage gaps`;
  if (parsed.values.json === true) {
    out(JSON.stringify({ summary: merged.summary, runs: merged.runs, counts: c, failures: merged.failures }));
    err(line);
  } else {
    for (const l of merged.table) out(l);
    out("");
    for (const l of merged.matrix) out(l);
    out("");
    for (const f of merged.failures) {
      out(`FAIL ${f.scenario} seed ${f.seed}: ${f.what}`);
      if (f.rerun) out(`  ${f.rerun}`);
    }
    out(`${merged.exitCode === 0 ? "ok" : "FAILED"}: ${line}`);
  }
  return merged.exitCode;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: { json: { type: "boolean" } },
  });
}

if (process.argv[1]?.endsWith("sim/pool/merge-summaries.ts")) {
  process.exitCode = mergeCommand(
    process.argv.slice(2),
    (l) => process.stdout.write(`${l}\n`),
    (l) => process.stderr.write(`${l}\n`),
  );
}
