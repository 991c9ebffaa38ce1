/**
 * Summarise a mutation test: Stryker's JSON report plus the kill sweep's runs-to-kill JSONL.
 *
 *   npx tsx scripts/mutation/summarize.ts [--dir DIR] [--json]
 *
 * Reads, in every finished batch directory DIR/batch-* (or in DIR itself), report.json (Stryker),
 * kills.jsonl (scripts/mutation/kill-sweep.ts) and sample.json (scripts/mutation/sample.ts); DIR
 * defaults to out/mutation. A survivor rerun against later checkers (rerun-kills.jsonl, written by
 * scripts/mutation/rerun-survivors.ts) is judged by its rerun; the summary counts those apart. Equivalent mutants
 * are listed, each with its reason, in scripts/mutation/equivalent.json (by mutant key) and leave
 * the score's denominator. Prints the counts, the score over non-equivalent mutants (timeouts
 * count as killed, as in Stryker), runs to first kill (median, 90th percentile, worst, histogram),
 * and every surviving or uncovered mutant with its source line; writes the same as DIR/summary.md.
 */

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mutantKey, type SampleFile } from "./sample.ts";

interface ReportMutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  /** 1-based lines and columns. */
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
  status: string;
  statusReason?: string;
}

interface Report {
  files: Record<string, { source: string; mutants: ReportMutant[] }>;
}

interface KillLine {
  mutant: string | null;
  killed: boolean;
  timeout?: boolean;
  traceDigest?: string;
  runsToKill: number | null;
  scenario?: string;
  seed?: number;
  invariant?: string;
  runs: number;
  /** Written by rerun-survivors.ts: the survivor rerun against later checkers. */
  rerun?: boolean;
}

export interface Row {
  key: string;
  batch: string;
  id: string;
  file: string;
  line: number;
  mutatorName: string;
  replacement: string;
  status: string;
  /** Judged by a rerun of a survivor (rerun-survivors.ts), not by the batch's own Stryker run. */
  rerun: boolean;
  inSample: boolean;
  equivalent?: string;
  runsToKill?: number;
  /** Killed by the sweep's CPU budget (counted as a timeout). */
  cpuTimeout: boolean;
  killedBy?: string;
  /** For a survivor: did its runs trace exactly what the unmutated broker's did? */
  trace?: "unchanged" | "changed";
  sourceLine: string;
}

const EQUIVALENT_FILE = "scripts/mutation/equivalent.json";

/** Nearest-rank percentile of a sorted list. */
export function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The kill records by mutant id; the dry run's (the unmutated broker's) under "". */
function readKills(path: string): Map<string, KillLine> {
  const byId = new Map<string, KillLine>();
  if (!existsSync(path)) return byId;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const rec = JSON.parse(line) as KillLine;
    byId.set(rec.mutant ?? "", rec); // the last line of a mutant wins
  }
  return byId;
}

/** The finished batches under `dir` (or `dir` itself when it holds a report). */
export function batchDirs(dir: string): string[] {
  const batches = readdirSync(dir)
    .filter((name) => name.startsWith("batch-") && existsSync(join(dir, name, "report.json")))
    .sort()
    .map((name) => join(dir, name));
  if (batches.length > 0) return batches;
  return existsSync(join(dir, "report.json")) ? [dir] : [];
}

export function collectRows(dir: string): Row[] {
  const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as Report;
  const sample = JSON.parse(readFileSync(join(dir, "sample.json"), "utf8")) as SampleFile;
  const sampled = new Set(sample.sampled.map((m) => m.key));
  const equivalent = existsSync(EQUIVALENT_FILE)
    ? (JSON.parse(readFileSync(EQUIVALENT_FILE, "utf8")) as Record<string, string>)
    : {};
  const kills = readKills(join(dir, "kills.jsonl"));
  const baseline = kills.get("")?.traceDigest;
  // A survivor rerun against later checkers (rerun-survivors.ts) is judged by its rerun.
  for (const [id, rec] of readKills(join(dir, "rerun-kills.jsonl"))) kills.set(id, rec);
  const rows: Row[] = [];
  for (const [file, { source, mutants }] of Object.entries(report.files)) {
    const lines = source.split("\n");
    for (const m of mutants) {
      if (m.status === "Ignored") continue;
      const key = mutantKey({
        file,
        mutatorName: m.mutatorName,
        replacement: m.replacement ?? "",
        start: { line: m.location.start.line, column: m.location.start.column - 1 },
        end: { line: m.location.end.line, column: m.location.end.column - 1 },
      });
      const kill = kills.get(m.id);
      const rerunKilled = m.status === "Survived" && kill?.rerun === true && kill.killed;
      rows.push({
        key,
        batch: dir,
        id: m.id,
        file,
        line: m.location.start.line,
        mutatorName: m.mutatorName,
        replacement: m.replacement ?? "",
        status: rerunKilled ? (kill.timeout === true ? "Timeout" : "Killed") : m.status,
        rerun: kill?.rerun === true,
        inSample: sampled.has(key),
        equivalent: equivalent[key],
        runsToKill: kill?.killed === true && kill.runsToKill !== null ? kill.runsToKill : undefined,
        cpuTimeout: kill?.timeout === true,
        killedBy: kill?.killed === true ? `${kill.scenario} seed ${kill.seed}: ${kill.invariant}` : undefined,
        trace:
          kill?.killed === false && kill.traceDigest !== undefined && baseline !== undefined
            ? kill.traceDigest === baseline
              ? "unchanged"
              : "changed"
            : undefined,
        sourceLine: (lines[m.location.start.line - 1] ?? "").trim(),
      });
    }
  }
  return rows;
}

const KILLED = new Set(["Killed", "Timeout"]);
const UNDETECTED = new Set(["Survived", "NoCoverage"]);

export function score(rows: Row[]) {
  const count = (pred: (r: Row) => boolean) => rows.filter(pred).length;
  const nonEq = rows.filter((r) => r.equivalent === undefined);
  const killed = count((r) => r.status === "Killed" && !r.cpuTimeout);
  const timedOut = count((r) => r.status === "Timeout" || (r.status === "Killed" && r.cpuTimeout));
  const survived = count((r) => r.status === "Survived");
  const noCoverage = count((r) => r.status === "NoCoverage");
  const errors = count((r) => r.status === "RuntimeError" || r.status === "CompileError");
  const pending = count((r) => r.status === "Pending");
  const equivalent = count((r) => r.equivalent !== undefined);
  const detected = nonEq.filter((r) => KILLED.has(r.status)).length;
  const undetected = nonEq.filter((r) => UNDETECTED.has(r.status)).length;
  const rtk = rows
    .flatMap((r) => (r.runsToKill === undefined || r.cpuTimeout ? [] : [r.runsToKill]))
    .sort((a, b) => a - b);
  return {
    mutants: rows.length,
    killed,
    timedOut,
    survived,
    noCoverage,
    errors,
    pending,
    equivalent,
    scorePct: detected + undetected === 0 ? undefined : (100 * detected) / (detected + undetected),
    runsToKill: {
      n: rtk.length,
      median: percentile(rtk, 50),
      p90: percentile(rtk, 90),
      worst: rtk.at(-1),
      histogram: Object.fromEntries([...new Set(rtk)].map((k) => [k, rtk.filter((x) => x === k).length])),
    },
  };
}

function table(title: string, s: ReturnType<typeof score>): string[] {
  const pct = s.scorePct === undefined ? "n/a" : `${s.scorePct.toFixed(1)}%`;
  return [
    `### ${title}`,
    "",
    "| Mutants run | Killed | Timed out | Survived | No coverage | Errors | Pending | Equivalent | Score (non-equivalent) | Runs to first kill: n, median, p90, worst |",
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    `| ${s.mutants} | ${s.killed} | ${s.timedOut} | ${s.survived} | ${s.noCoverage} | ${s.errors} | ${s.pending} | ${s.equivalent} | ${pct} | ${s.runsToKill.n}, ${s.runsToKill.median ?? "-"}, ${s.runsToKill.p90 ?? "-"}, ${s.runsToKill.worst ?? "-"} |`,
    "",
    `Runs to first kill (run index: mutants): ${
      Object.entries(s.runsToKill.histogram)
        .map(([k, v]) => `${k}: ${v}`)
        .join(", ") || "-"
    }`,
    "",
  ];
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: { dir: { type: "string" }, json: { type: "boolean" } },
    strict: true,
    allowPositionals: false,
  });
  const dir = values.dir ?? "out/mutation";
  const dirs = existsSync(dir) ? batchDirs(dir) : [];
  if (dirs.length === 0) {
    process.stderr.write(`summarize: no finished batch under ${dir} (run npm run mutation first)\n`);
    return 2;
  }
  const rows = dirs.flatMap(collectRows);
  const all = score(rows);
  const strict = score(rows.filter((r) => r.inSample));
  if (values.json === true) {
    process.stdout.write(`${JSON.stringify({ all, sample: strict, rows }, null, 1)}\n`);
    return 0;
  }
  const undetected = rows
    .filter((r) => UNDETECTED.has(r.status))
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  const out = [
    "## Mutation score",
    "",
    `Batches: ${dirs.length} (${dirs.join(", ")})`,
    "",
    `Survivors rerun against later checkers (rerun-kills.jsonl): ${rows.filter((r) => r.rerun).length}, of which killed: ${rows.filter((r) => r.rerun && KILLED.has(r.status)).length}`,
    "",
    ...table("Every mutant Stryker ran (sample + nested)", all),
    ...table("The seeded sample alone", strict),
    "### Survivors and uncovered mutants",
    "",
    "Trace: `unchanged` = every run traced exactly what the unmutated broker's did (the mutated code",
    "was not reached or changed nothing visible); `changed` = the broker behaved differently and no",
    "invariant failed.",
    "",
    "| Batch/mutant | Where | Mutator | Replacement | Source line | Trace | Equivalent |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...undetected.map(
      (r) =>
        `| ${r.batch.split("/").at(-1)}/${r.id} | ${r.file}:${r.line} | ${r.mutatorName} | \`${r.replacement.replace(/\s+/g, " ").slice(0, 60)}\` | \`${r.sourceLine.slice(0, 80)}\` | ${r.trace ?? "?"} | ${r.equivalent ?? ""} |`,
    ),
    "",
  ];
  const text = out.join("\n");
  writeFileSync(join(dir, "summary.md"), text);
  process.stdout.write(text);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
