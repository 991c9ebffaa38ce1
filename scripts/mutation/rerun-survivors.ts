/**
 * Rerun the survivors of finished mutation batches against the current checkers and scenarios,
 * without rerunning Stryker: each survivor is applied by hand (its report location and replacement)
 * to a scratch copy of the project and the kill sweep runs there with the same budget.
 *
 *   npx tsx scripts/mutation/rerun-survivors.ts [--dir DIR] [--all] [--mutants ID[,ID]]
 *
 * Only survivors whose runs traced differently from the unmutated broker's are rerun by default:
 * a survivor that traced exactly what the unmutated broker did sees the same events again, and a
 * checker that passes the unmutated broker cannot fail it. `--all` reruns every survivor;
 * `--mutants` only the named ones (Stryker's mutant ids; with several batches, in every batch).
 *
 * Each rerun appends its kill record, with `rerun: true` and the commit it ran on, to
 * DIR/batch-NN/rerun-kills.jsonl; `summarize.ts` lets a rerun record override the batch's own.
 * The scratch copy is made from the working tree (`src`, `sim`, `scripts`, the package and
 * TypeScript configs) in a fresh temporary directory and removed afterwards.
 */

import { execFileSync, spawnSync } from "node:child_process";
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { batchDirs } from "./summarize.ts";

interface ReportMutant {
  id: string;
  replacement?: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
  status: string;
}

interface Report {
  files: Record<string, { source: string; mutants: ReportMutant[] }>;
}

const COPIED = ["src", "sim", "scripts", "package.json", "tsconfig.json"];

/** `source` with the text between the 1-based report locations replaced by `replacement`. */
export function applyMutant(source: string, m: ReportMutant): string {
  const lines = source.split("\n");
  const offset = (line: number, column: number) =>
    lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
  const start = offset(m.location.start.line, m.location.start.column);
  const end = offset(m.location.end.line, m.location.end.column);
  return source.slice(0, start) + (m.replacement ?? "") + source.slice(end);
}

function lastRecords(path: string): Map<string, { killed: boolean; traceDigest?: string }> {
  const out = new Map<string, { killed: boolean; traceDigest?: string }>();
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    const r = JSON.parse(line) as { mutant: string | null; killed: boolean; traceDigest?: string };
    out.set(r.mutant ?? "", r);
  }
  return out;
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: { dir: { type: "string" }, all: { type: "boolean" }, mutants: { type: "string" } },
    strict: true,
    allowPositionals: false,
  });
  const dir = values.dir ?? "out/mutation";
  const dirs = existsSync(dir) ? batchDirs(dir) : [];
  if (dirs.length === 0) {
    process.stderr.write(`rerun-survivors: no finished batch under ${dir}\n`);
    return 2;
  }
  const only =
    values.mutants === undefined ? undefined : new Set(values.mutants.split(",").filter((x) => x !== ""));
  if (only !== undefined && only.size === 0) {
    process.stderr.write("rerun-survivors: --mutants needs at least one mutant id\n");
    return 2;
  }
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  const dirty =
    execFileSync("git", ["status", "--porcelain", "--", ...COPIED], { encoding: "utf8" }).trim() !== "";
  let reran = 0;
  let killed = 0;
  for (const batch of dirs) {
    const report = JSON.parse(readFileSync(join(batch, "report.json"), "utf8")) as Report;
    const kills = lastRecords(join(batch, "kills.jsonl"));
    const baseline = kills.get("")?.traceDigest;
    for (const [file, { source, mutants }] of Object.entries(report.files)) {
      for (const m of mutants) {
        if (m.status !== "Survived") continue;
        const digest = kills.get(m.id)?.traceDigest;
        if (only !== undefined && !only.has(m.id)) continue;
        if (only === undefined && values.all !== true && (digest === undefined || digest === baseline))
          continue;
        const scratch = mkdtempSync(join(tmpdir(), "mutant-"));
        try {
          for (const name of COPIED) cpSync(name, join(scratch, name), { recursive: true });
          symlinkSync(resolve("node_modules"), join(scratch, "node_modules"));
          writeFileSync(join(scratch, file), applyMutant(source, m));
          const record = join(scratch, "kill.jsonl");
          const r = spawnSync(
            "nice",
            [process.execPath, "--import", "tsx", "scripts/mutation/kill-sweep.ts"],
            {
              cwd: scratch,
              stdio: ["ignore", "inherit", "inherit"],
              env: { ...process.env, __STRYKER_ACTIVE_MUTANT__: m.id, MUTATION_KILLS_FILE: record },
            },
          );
          if (r.error !== undefined) throw r.error;
          const line = readFileSync(record, "utf8").trim();
          const rec = {
            ...(JSON.parse(line) as { killed: boolean; runsToKill: number | null; invariant?: string }),
            rerun: true,
            commit: dirty ? `${commit}+dirty` : commit,
          };
          appendFileSync(join(batch, "rerun-kills.jsonl"), `${JSON.stringify(rec)}\n`);
          reran++;
          if (rec.killed === true) killed++;
          process.stdout.write(
            `rerun-survivors: ${batch.split("/").at(-1)}/${m.id} ${file}:${m.location.start.line} -> ${rec.killed === true ? `killed by run ${String(rec.runsToKill)} (${String(rec.invariant)})` : "survived"}\n`,
          );
        } finally {
          rmSync(scratch, { recursive: true, force: true });
        }
      }
    }
  }
  process.stdout.write(
    `rerun-survivors: ${reran} survivors rerun on ${commit}${dirty ? "+dirty" : ""}, ${killed} now killed\n`,
  );
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
