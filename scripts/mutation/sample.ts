/**
 * The mutation test's seeded sample: list every mutant Stryker generates for `src/broker`, pick a
 * seeded sample, and write the `mutate` ranges that make Stryker test exactly those mutants.
 *
 *   npx tsx scripts/mutation/sample.ts [--size N] [--seed N] [--offset N] [--out FILE]
 *
 * The list comes from Stryker's own instrumenter (the version `@stryker-mutator/core` runs), so the
 * mutants are the ones Stryker would generate over the whole directory. The sample is a seeded
 * shuffle of that list cut to `--size` (default 300); every sampled mutant becomes one `mutate`
 * range, `file:startLine:startColumn-endLine:endColumn`, spanning exactly its node. Stryker mutates
 * every node a range includes, so mutants nested inside a sampled node's span run too: the output
 * lists them apart (`nested`) so the summary can score the strict sample and the whole run.
 * Same seed, same sources and same Stryker version => the same sample.
 */

import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { Instrumenter } from "@stryker-mutator/instrumenter";

export const DEFAULT_SAMPLE_SIZE = 300;
export const DEFAULT_SAMPLE_SEED = 1;
export const DEFAULT_SAMPLE_FILE = "out/mutation/sample.json";
const MUTATE_ROOT = "src/broker";

export interface SampledMutant {
  /** `file:startLine:startColumn-endLine:endColumn` (1-based lines, 0-based columns, Stryker's form). */
  key: string;
  file: string;
  mutatorName: string;
  replacement: string;
  /** 1-based lines, 0-based columns. */
  start: { line: number; column: number };
  end: { line: number; column: number };
}

export interface SampleFile {
  seed: number;
  size: number;
  /** Mutants of the shuffled sites skipped before this slice (batches: 0, size, 2 * size, ...). */
  offset: number;
  /** Every mutant of `src/broker`. */
  total: number;
  sampled: SampledMutant[];
  /** Mutants Stryker also runs because their node lies inside a sampled node's span. */
  nested: SampledMutant[];
  /** The `mutate` patterns for Stryker. */
  mutate: string[];
}

/** Identity of a mutant across Stryker's runs: where it is, which mutator, what it writes. */
export function mutantKey(m: Omit<SampledMutant, "key">): string {
  return `${m.file}:${m.start.line}:${m.start.column}-${m.end.line}:${m.end.column}|${m.mutatorName}|${m.replacement}`;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else if (name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/** splitmix32: a tiny seeded generator; the sample only needs to be reproducible. */
function splitmix32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x9e3779b9) >>> 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t ^= t >>> 15;
    t = Math.imul(t, 0x735a2d97);
    t ^= t >>> 15;
    return (t >>> 0) / 4294967296;
  };
}

const quietLogger = {
  isTraceEnabled: () => false,
  isDebugEnabled: () => false,
  isInfoEnabled: () => false,
  isWarnEnabled: () => false,
  isErrorEnabled: () => false,
  isFatalEnabled: () => false,
  trace: () => {},
  debug: () => {},
  info: () => {},
  warn: (msg: string) => process.stderr.write(`instrumenter: ${msg}\n`),
  error: (msg: string) => process.stderr.write(`instrumenter: ${msg}\n`),
  fatal: (msg: string) => process.stderr.write(`instrumenter: ${msg}\n`),
};

export async function listMutants(root = MUTATE_ROOT): Promise<SampledMutant[]> {
  const files = listFiles(root).map((name) => ({ name, content: readFileSync(name, "utf8"), mutate: true }));
  // biome-ignore lint/suspicious/noExplicitAny: Stryker's Logger type is a log4js-like interface; the quiet logger covers it.
  const instrumenter = new Instrumenter(quietLogger as any);
  const result = await instrumenter.instrument(files, { plugins: null, excludedMutations: [], ignorers: [] });
  return result.mutants.map((m) => {
    const base = {
      file: m.fileName,
      mutatorName: m.mutatorName,
      replacement: m.replacement,
      start: { line: m.location.start.line + 1, column: m.location.start.column },
      end: { line: m.location.end.line + 1, column: m.location.end.column },
    };
    return { key: mutantKey(base), ...base };
  });
}

function includes(outer: Span, inner: Span): boolean {
  if (outer.file !== inner.file) return false;
  const startIn =
    outer.start.line < inner.start.line ||
    (outer.start.line === inner.start.line && outer.start.column <= inner.start.column);
  const endIn =
    outer.end.line > inner.end.line ||
    (outer.end.line === inner.end.line && outer.end.column >= inner.end.column);
  return startIn && endIn;
}

type Span = Pick<SampledMutant, "file" | "start" | "end">;

function spanKey(m: Span): string {
  return `${m.file}:${m.start.line}:${m.start.column}-${m.end.line}:${m.end.column}`;
}

/**
 * A seeded cluster sample: shuffle the distinct mutation sites (a node's span) and take whole
 * sites until at least `size` mutants are in. Every mutant of a taken site is sampled. `offset`
 * skips the sites that the first `offset` mutants of the same shuffle fill, so slices with
 * offsets 0, size, 2 * size, ... are disjoint batches of one seeded sample.
 */
export function pickSample(all: SampledMutant[], size: number, seed: number, offset = 0): SampleFile {
  const sites = [...new Set(all.map(spanKey))];
  const random = splitmix32(seed);
  for (let i = sites.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [sites[i], sites[j]] = [sites[j] as string, sites[i] as string];
  }
  const bySite = new Map<string, SampledMutant[]>();
  for (const m of all) bySite.set(spanKey(m), [...(bySite.get(spanKey(m)) ?? []), m]);
  const taken: string[] = [];
  let count = 0;
  for (const site of sites) {
    if (count >= offset + size) break;
    if (count >= offset) taken.push(site);
    count += bySite.get(site)?.length ?? 0;
  }
  const takenSet = new Set(taken);
  const sampled = all.filter((m) => takenSet.has(spanKey(m)));
  // The ignorer (sample-ignorer.mjs) keeps a node inside a sampled span only when a sampled span
  // lies inside it; such nodes' mutants run too.
  const nested = all.filter(
    (m) =>
      !takenSet.has(spanKey(m)) && sampled.some((s) => includes(s, m)) && sampled.some((s) => includes(m, s)),
  );
  return { seed, size, offset, total: all.length, sampled, nested, mutate: [...takenSet].sort() };
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      size: { type: "string" },
      seed: { type: "string" },
      offset: { type: "string" },
      out: { type: "string" },
    },
    strict: true,
    allowPositionals: false,
  });
  const size = Number(values.size ?? DEFAULT_SAMPLE_SIZE);
  const seed = Number(values.seed ?? DEFAULT_SAMPLE_SEED);
  const offset = Number(values.offset ?? 0);
  if (
    !Number.isSafeInteger(size) ||
    size < 1 ||
    ![seed, offset].every((n) => Number.isSafeInteger(n) && n >= 0)
  ) {
    process.stderr.write(
      "sample: --size must be a positive integer, --seed and --offset non-negative integers\n",
    );
    return 2;
  }
  const out = values.out ?? DEFAULT_SAMPLE_FILE;
  const sample = pickSample(await listMutants(), size, seed, offset);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(sample, null, 1)}\n`);
  process.stdout.write(
    `sample: ${sample.sampled.length} of ${sample.total} mutants (seed ${seed}, offset ${offset}), ` +
      `${sample.nested.length} nested ones run too, ${sample.mutate.length} sites -> ${out}\n`,
  );
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`sample: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
