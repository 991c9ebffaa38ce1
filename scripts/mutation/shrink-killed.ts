/**
 * Shrink every killed bug and check each repro without the bug: the planted faults, the realistic
 * mutants of bench/mutants/, and the mutants a mutation run killed (Stryker's report.json plus the
 * kill sweep's kills.jsonl, per batch directory).
 *
 *   npx tsx scripts/mutation/shrink-killed.ts [--planted] [--bench] [--stryker DIR]
 *        [--only LABEL[,LABEL]] [--budget MS] [--clock wall|cpu] [--max-runs N] [--skip NAME[,NAME]]
 *        [--out DIR]
 *
 * With none of --planted, --bench, --stryker, the first two run. For each bug, in a child process:
 * the bug's first failing run (planted and bench: the kill sweep's seed-major swarm order, at most
 * --max-runs runs, default 42, leaving out the scenarios --skip names; Stryker: the scenario and seed its kill record names) is shrunk for
 * its invariant with a --budget of wall time (default 30 000 ms; `--clock cpu`: of the child's CPU
 * time, for a machine shared with other jobs). A mutant runs in a temporary copy
 * of this tree (mkdtemp) with the bug applied — a bench patch (`patch -p1`) or the Stryker
 * mutant's replacement written over its location in the report's copy of the file — so the real
 * sources are never touched. The shrinker accepts a smaller candidate only if it also passes
 * without the bug (a mutant's: run on this tree, `--fair-root`; a planted fault's: without the
 * plant), its invariant checked alone. The repro is then replayed here, on the unmutated broker (a planted
 * fault removed), with its invariant checked alone: it must pass, or the repro shows an unfair
 * world rather than the bug.
 *
 * Prints one table row per bug as it finishes and the distribution at the end (share at most 25
 * events within the budget, median and p90 of sizes and times); every row also goes to
 * OUT/shrink-killed.jsonl. Repro files go to OUT (default out/shrink-killed). A Stryker mutant
 * killed by the CPU budget (a hang) has no failing run to shrink and is counted apart. Exit code 1
 * when a repro fails without its bug.
 */

import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { readReproFile, replayReproFile } from "../../sim/shrink/repro-file.ts";
import { PLANTED_FAULT_NAMES } from "../../sim/shrink/setup.ts";
import { GOAL_EVENTS } from "../../sim/shrink/shrink.ts";
import type { ShrinkOneLine } from "./shrink-one.ts";

const root = resolve(import.meta.dirname, "../..");

interface Bug {
  label: string;
  group: "planted" | "bench" | "stryker";
  /** Child arguments besides --out, --label, --budget, --max-runs. */
  args: string[];
  /** Prepare a mutated copy of the tree (absent: the child runs in this tree). */
  mutate?: (dir: string) => void;
}

interface Row extends ShrinkOneLine {
  group: Bug["group"];
  /** The repro's invariant held on the unmutated broker (undefined: nothing to replay). */
  fair?: boolean;
  unfairBy?: string;
}

interface StrykerMutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
  status: string;
}

interface KillLine {
  mutant: string | null;
  killed: boolean;
  timeout?: boolean;
  scenario?: string;
  seed?: number;
  invariant?: string;
  runsToKill: number | null;
}

function plantedBugs(): Bug[] {
  return PLANTED_FAULT_NAMES.map((p) => ({ label: `plant:${p}`, group: "planted", args: ["--plant", p] }));
}

function benchBugs(): Bug[] {
  const dir = join(root, "bench", "mutants");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".patch"))
    .sort()
    .map((f) => ({
      label: `bench:${f.replace(/\.patch$/, "")}`,
      group: "bench",
      args: [],
      mutate: (copy: string) =>
        execFileSync("patch", ["-p1", "--quiet", "-i", join(dir, f)], { cwd: copy, stdio: "inherit" }),
    }));
}

/** Offset of a 1-based line and column in `text`. */
function offsetOf(text: string, line: number, column: number): number {
  let at = 0;
  for (let l = 1; l < line; l++) {
    at = text.indexOf("\n", at);
    if (at < 0) throw new Error(`line ${line} is past the end`);
    at++;
  }
  return at + column - 1;
}

/** Every killed (not timed-out) mutant of every batch under `dir` (or `dir` itself). */
function strykerBugs(dir: string): { bugs: Bug[]; timeouts: number } {
  const batches = existsSync(join(dir, "report.json"))
    ? [dir]
    : readdirSync(dir)
        .filter((d) => d.startsWith("batch-"))
        .sort()
        .map((d) => join(dir, d));
  const bugs: Bug[] = [];
  let timeouts = 0;
  for (const b of batches) {
    const reportPath = [join(b, "report.json"), join(b, "reports", "mutation", "mutation.json")].find(
      existsSync,
    );
    const killsPath = join(b, "kills.jsonl");
    if (reportPath === undefined || !existsSync(killsPath)) continue;
    const report = JSON.parse(readFileSync(reportPath, "utf8")) as {
      files: Record<string, { source: string; mutants: StrykerMutant[] }>;
    };
    const where = new Map<string, { file: string; source: string; m: StrykerMutant }>();
    for (const [file, f] of Object.entries(report.files))
      for (const m of f.mutants) where.set(m.id, { file, source: f.source, m });
    const batch = b.split("/").pop()!;
    for (const text of readFileSync(killsPath, "utf8").split("\n")) {
      if (text.trim() === "") continue;
      const k = JSON.parse(text) as KillLine;
      if (k.mutant === null || !k.killed) continue;
      if (k.timeout) {
        timeouts++;
        continue;
      }
      const w = where.get(k.mutant);
      if (w === undefined || w.m.replacement === undefined) continue;
      const { file, source, m } = w;
      const start = offsetOf(source, m.location.start.line, m.location.start.column);
      const end = offsetOf(source, m.location.end.line, m.location.end.column);
      const mutated = source.slice(0, start) + m.replacement + source.slice(end);
      const rel = file.startsWith("/") ? file.slice(file.indexOf("src/broker/")) : file;
      const args =
        k.scenario !== undefined && k.seed !== undefined
          ? ["--scenario", k.scenario, "--seed", String(k.seed)]
          : [];
      bugs.push({
        label: `stryker:${batch}#${k.mutant}:${rel.replace(/^src\/broker\//, "")}:${m.location.start.line}:${m.mutatorName}`,
        group: "stryker",
        args,
        mutate: (copy) => writeFileSync(join(copy, rel), mutated),
      });
    }
  }
  return { bugs, timeouts };
}

function runBug(
  bug: Bug,
  outDir: string,
  budget: string,
  clock: string,
  maxRuns: string,
  skip?: string,
): Row {
  let cwd = root;
  let temp: string | undefined;
  try {
    if (bug.mutate) {
      temp = mkdtempSync(join(tmpdir(), "broker-sim-shrink-"));
      for (const part of ["src", "sim", "scripts", "package.json", "tsconfig.json"])
        cpSync(join(root, part), join(temp, part), { recursive: true });
      symlinkSync(join(root, "node_modules"), join(temp, "node_modules"));
      bug.mutate(temp);
      cwd = temp;
    }
    const args = ["tsx", "scripts/mutation/shrink-one.ts", "--out", outDir, "--label", bug.label];
    if (bug.mutate) args.push("--fair-root", root);
    args.push(
      "--budget",
      budget,
      "--clock",
      clock,
      "--max-runs",
      maxRuns,
      ...(skip ? ["--skip", skip] : []),
      ...bug.args,
    );
    let out: string;
    try {
      // A mutant that hangs the broker is stopped: the sweep plus the budget, with room to spare.
      out = execFileSync("npx", args, {
        cwd,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 10 * 60_000,
      });
    } catch (err) {
      return {
        label: bug.label,
        group: bug.group,
        failed: true,
        error: `child: ${(err as Error).message.split("\n")[0]}`,
      };
    }
    const line = JSON.parse(out.trim().split("\n").pop()!) as ShrinkOneLine;
    const row: Row = { ...line, group: bug.group };
    if (line.repro !== undefined && line.invariant !== undefined) {
      // The repro, without the bug, on this (unmutated) tree: its invariant checked alone.
      const file = readReproFile(line.repro);
      const outcome = replayReproFile({ ...file, plantedFaults: [], checkers: [line.invariant] });
      row.fair = outcome.report.violation === undefined;
      if (!row.fair) row.unfairBy = outcome.report.violation!.invariant;
    }
    return row;
  } finally {
    if (temp !== undefined) rmSync(temp, { recursive: true, force: true });
  }
}

function pct(xs: readonly number[], p: number): number | undefined {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

function rowText(r: Row): string {
  if (!r.failed) return `| ${r.label} | — | not killed within the sweep | | | | | | |`;
  if (r.error !== undefined)
    return `| ${r.label} | ${r.scenario ?? "?"} ${r.seed ?? ""} | error: ${r.error} | | | | | | |`;
  const budgetHit = r.outOfTime ? " (budget hit)" : "";
  return (
    `| ${r.label} | ${r.scenario} seed ${r.seed}${r.resweeped ? " (re-swept)" : ""} | ${r.invariant} | ` +
    `${r.before!.events} | ${r.after!.events} | ${((r.realMs ?? r.wallMs!) / 1000).toFixed(1)} | ` +
    `${((r.cpuMs ?? 0) / 1000).toFixed(1)}${budgetHit} | ${r.candidates} | ` +
    `${r.fair ? "yes" : `NO (${r.unfairBy})`} |`
  );
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      planted: { type: "boolean" },
      bench: { type: "boolean" },
      stryker: { type: "string" },
      only: { type: "string" },
      budget: { type: "string", default: "30000" },
      clock: { type: "string", default: "wall" },
      "max-runs": { type: "string", default: "42" },
      skip: { type: "string" },
      out: { type: "string", default: "out/shrink-killed" },
    },
  });
  const budget = Number(values.budget);
  if (!Number.isSafeInteger(budget) || budget < 1)
    throw new Error(`--budget needs a positive integer, got ${values.budget}`);
  if (values.clock !== "wall" && values.clock !== "cpu")
    throw new Error(`--clock is wall or cpu, got ${values.clock}`);
  const all = values.planted === undefined && values.bench === undefined && values.stryker === undefined;
  const bugs: Bug[] = [];
  let timeouts = 0;
  if (all || values.planted) bugs.push(...plantedBugs());
  if (all || values.bench) bugs.push(...benchBugs());
  if (values.stryker !== undefined) {
    if (!existsSync(values.stryker)) throw new Error(`--stryker: no directory ${values.stryker}`);
    const s = strykerBugs(values.stryker);
    bugs.push(...s.bugs);
    timeouts = s.timeouts;
  }
  const only = values.only?.split(",");
  const chosen = only ? bugs.filter((b) => only.some((o) => b.label.includes(o))) : bugs;
  if (chosen.length === 0) throw new Error("no bugs to shrink (check --only and --stryker)");
  const outDir = resolve(values.out);
  mkdirSync(outDir, { recursive: true });
  const jsonl = join(outDir, "shrink-killed.jsonl");
  writeFileSync(jsonl, "");

  console.log(
    `| bug | first failing run | invariant | events before | events after | wall s | cpu s | candidates | passes without the bug |`,
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  const rows: Row[] = [];
  for (const bug of chosen) {
    const row = runBug(bug, outDir, values.budget, values.clock!, values["max-runs"], values.skip);
    rows.push(row);
    appendFileSync(jsonl, `${JSON.stringify(row)}\n`);
    console.log(rowText(row));
  }

  const shrunk = rows.filter((r) => r.after !== undefined);
  const sizes = shrunk.map((r) => r.after!.events);
  // Times by the budget's clock (wall time, or CPU time with --clock cpu).
  const times = shrunk.map((r) => r.wallMs! / 1000);
  const within = shrunk.filter((r) => r.after!.events <= GOAL_EVENTS && r.wallMs! <= budget).length;
  const fair = shrunk.filter((r) => r.fair).length;
  const f1 = (x: number | undefined) => (x === undefined ? "-" : x.toFixed(1));
  console.log("");
  console.log(
    `| shrunk | ≤ ${GOAL_EVENTS} events within ${budget / 1000} s | events: median, p90, max | ${values.clock} s: median, p90, max | pass without the bug |`,
  );
  console.log("|---|---|---|---|---|");
  console.log(
    `| ${shrunk.length} | ${within} (${shrunk.length ? Math.round((100 * within) / shrunk.length) : 0}%) | ` +
      `${pct(sizes, 50)}, ${pct(sizes, 90)}, ${Math.max(...sizes)} | ${f1(pct(times, 50))}, ${f1(pct(times, 90))}, ${f1(Math.max(...times))} | ${fair}/${shrunk.length} |`,
  );
  const notKilled = rows.filter((r) => !r.failed).length;
  const errors = rows.filter((r) => r.error !== undefined).length;
  if (notKilled + errors + timeouts > 0)
    console.log(
      `not shrunk: ${notKilled} not killed within the sweep, ${errors} errors, ${timeouts} killed by the CPU budget (hangs)`,
    );
  return fair === shrunk.length ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
