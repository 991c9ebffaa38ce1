/**
 * Uniform seeds against guided exploration on every planted fault and every mutant of
 * bench/mutants/: runs to first kill per bug and mode, then the median and worst per mode.
 *
 *   npx tsx bench/explore-all.ts [--seeds N] [--only NAME[,NAME]] [--skip-planted] [--skip-mutants]
 *
 * Planted faults run in this tree (`--plant`). Each mutant is applied (`patch -p1`) to a fresh
 * temporary copy of the tree made with mkdtemp, which links this tree's node_modules; the real
 * sources are never touched. Every bug's line goes to out/bench/explore.jsonl as it finishes; the
 * table is printed at the end (a bug not killed within the budget counts as budget + 1 runs).
 */

import { execFileSync } from "node:child_process";
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PLANTED_FAULT_NAMES } from "../sim/runner.ts";

const { values } = parseArgs({
  options: {
    seeds: { type: "string", default: "3" },
    only: { type: "string" },
    "skip-planted": { type: "boolean" },
    "skip-mutants": { type: "boolean" },
  },
});
const root = resolve(import.meta.dirname, "..");
const mutantsDir = join(root, "bench", "mutants");
const only = values.only?.split(",");
const outDir = join(root, "out", "bench");
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, "explore.jsonl");
writeFileSync(outFile, "");

interface Line {
  label: string;
  budgetRuns: number;
  uniform: { killed: boolean; runs: number; by?: string };
  guided: { killed: boolean; runs: number; by?: string };
}
const lines: Line[] = [];

function bench(cwd: string, args: string[]): void {
  const out = execFileSync("npx", ["tsx", "bench/explore.ts", "--seeds", values.seeds!, ...args], {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const line = JSON.parse(out.trim().split("\n").pop()!) as Line;
  lines.push(line);
  appendFileSync(outFile, `${JSON.stringify(line)}\n`);
  process.stderr.write(
    `${line.label}: uniform ${show(line.uniform, line)}, guided ${show(line.guided, line)}\n`,
  );
}

if (values["skip-planted"] !== true) {
  for (const name of PLANTED_FAULT_NAMES) {
    if (only && !only.includes(name)) continue;
    bench(root, ["--plant", name, "--label", `plant:${name}`]);
  }
}
if (values["skip-mutants"] !== true) {
  for (const file of readdirSync(mutantsDir)
    .filter((f) => f.endsWith(".patch"))
    .sort()) {
    const name = file.replace(/\.patch$/, "");
    if (only && !only.includes(name)) continue;
    const dir = mkdtempSync(join(tmpdir(), "broker-sim-mutant-"));
    try {
      for (const part of ["src", "sim", "bench", "package.json", "tsconfig.json"]) {
        cpSync(join(root, part), join(dir, part), { recursive: true });
      }
      symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
      execFileSync("patch", ["-p1", "--quiet", "-i", join(mutantsDir, file)], { cwd: dir, stdio: "inherit" });
      bench(dir, ["--label", `mutant:${name}`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function show(o: Line["uniform"], l: Line): string {
  return o.killed ? `${o.runs}` : `>${l.budgetRuns}`;
}
function cost(o: Line["uniform"], l: Line): number {
  return o.killed ? o.runs : l.budgetRuns + 1;
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

console.log("| bug | uniform: runs to first kill | guided: runs to first kill |");
console.log("| --- | ---: | ---: |");
for (const l of lines) console.log(`| ${l.label} | ${show(l.uniform, l)} | ${show(l.guided, l)} |`);
for (const mode of ["uniform", "guided"] as const) {
  const xs = lines.map((l) => cost(l[mode], l));
  const killed = lines.filter((l) => l[mode].killed).length;
  console.log(
    `${mode}: killed ${killed}/${lines.length}, median ${median(xs)}, worst ${Math.max(...xs)} runs`,
  );
}
