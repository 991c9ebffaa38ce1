/**
 * Summarise a V8 `.cpuprofile` (from `node --cpu-prof`): self time and inclusive time per function,
 * then self time per file, top N. Used to find the hot spots of the delivery path; not part of
 * `npm run bench`.
 *
 *   npx tsx bench/profile-summary.ts out/prof/CPU.….cpuprofile [top]
 *   npx tsx bench/profile-summary.ts out/prof [top]
 *
 * Given a directory, it reads the largest profile there: under tsx every process also writes a
 * small profile of tsx's loader thread, and the largest one is the main thread's.
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const arg = process.argv[2];
if (!arg) throw new Error("usage: profile-summary <file.cpuprofile | directory> [top]");
const file = statSync(arg).isDirectory() ? largestProfile(arg) : arg;
const top = Number(process.argv[3] ?? 30);
const prof = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[] };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<string, number>();
const incl = new Map<string, number>();
const root = pathToFileURL(`${process.cwd()}/`).href;
const key = (n: Node) =>
  `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.replace(root, "")}:${n.callFrame.lineNumber + 1}`;
const counts = new Map<number, number>();
for (const s of prof.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
let total = 0;
for (const [id, c] of counts) {
  total += c;
  const n = byId.get(id)!;
  self.set(key(n), (self.get(key(n)) ?? 0) + c);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const k = key(byId.get(cur)!);
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + c);
  }
}
const pct = (v: number) => `${((v / total) * 100).toFixed(1).padStart(5)}%`;
console.log(`${file}: samples ${total}\n-- self --`);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);
console.log("-- inclusive --");
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);
const byFile = new Map<string, number>();
for (const [id, c] of counts) {
  const n = byId.get(id)!;
  const f = n.callFrame.url.replace(root, "") || n.callFrame.functionName;
  byFile.set(f, (byFile.get(f) ?? 0) + c);
}
console.log("-- self, by file --");
for (const [k, v] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(pct(v), k);

function largestProfile(dir: string): string {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .map((f) => join(dir, f));
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  return files.reduce((a, b) => (statSync(b).size > statSync(a).size ? b : a));
}
