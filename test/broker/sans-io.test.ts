import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The broker core must stay sans-IO and deterministic (DESIGN.md §1). Biome's restricted-globals
 * rule catches most uses; this test also catches the ones a linter can be configured around
 * (member access such as `globalThis.Date`, dynamic imports, `node:` specifiers).
 */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/\bDate\b/, "Date"],
  [/\bMath\.random\b/, "Math.random"],
  [/\bset(Timeout|Interval|Immediate)\b/, "timers"],
  [/\bqueueMicrotask\b/, "queueMicrotask"],
  [/\bcrypto\b/, "crypto"],
  [/\bprocess\./, "process"],
  [/\bperformance\b/, "performance"],
  [/\bfetch\(/, "fetch"],
  [/from\s+["']node:/, "node: import"],
  [/import\(/, "dynamic import"],
  [/\basync\b|\bawait\b|\bPromise\b/, "async code"],
];

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (p.endsWith(".ts")) yield p;
  }
}

function stripComments(src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
}

describe("the broker core", () => {
  it("never reads wall-clock time, global randomness, timers, the process or Node modules", () => {
    const hits: string[] = [];
    for (const f of files("src/broker")) {
      const lines = stripComments(readFileSync(f, "utf8")).split("\n");
      lines.forEach((line, i) => {
        for (const [re, what] of FORBIDDEN)
          if (re.test(line)) hits.push(`${f}:${i + 1} uses ${what}: ${line.trim()}`);
      });
    }
    expect(hits).toEqual([]);
  });

  it("the scan itself finds a forbidden use when there is one", () => {
    const sample = stripComments("const t = Date.now(); // fine in a comment: Math.random()\n");
    expect(FORBIDDEN.some(([re]) => re.test(sample))).toBe(true);
    expect(FORBIDDEN.some(([re]) => re.test(stripComments("// Date.now() only in a comment")))).toBe(false);
  });
});
