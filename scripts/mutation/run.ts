/**
 * The mutation test, end to end (`npm run mutation`): draw the seeded sample, run StrykerJS over it
 * batch by batch with the kill sweep as the test command, and print the summary.
 *
 *   npx tsx scripts/mutation/run.ts [--size N] [--batch-size N] [--seed N] [--resume]
 *                                   [--nice-increment N]
 *
 * --size N        mutants in the sample (whole mutation sites are taken, so a few more may come
 *                 in; default 300)
 * --batch-size N  mutants per Stryker run (default 50). The batches are consecutive slices of one
 *                 seeded shuffle, so every finished batch is itself a uniform sample: a run stopped
 *                 early still reports on an unbiased part of the sample.
 * --seed N        the sample's seed (default 1)
 * --resume        keep the batches already finished (those with a report.json); without it every
 *                 batch starts afresh. Do not resume after changing the simulation or the broker.
 * --nice-increment N
 *                 the niceness added to Stryker and its kill sweeps, an integer 0..19 (default 10,
 *                 `nice`'s own default); 0 runs them at the caller's priority, without `nice`.
 *
 * Stryker runs with one test runner. Batch k writes out/mutation/batch-k/: sample.json,
 * kills.jsonl (runs to first kill), report.json and report.html (Stryker), stryker.log; the summary
 * of every finished batch goes to out/mutation/summary.md.
 */

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_SAMPLE_SEED, DEFAULT_SAMPLE_SIZE } from "./sample.ts";

const OUT_DIR = "out/mutation";
const DEFAULT_BATCH_SIZE = 50;
/** The niceness added to Stryker by default: `nice`'s own default increment. */
const DEFAULT_NICE_INCREMENT = 10;
const MAX_NICE_INCREMENT = 19;

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const r = spawnSync(cmd, args, { stdio: "inherit", env });
  if (r.error !== undefined) throw r.error;
  return r.status ?? 1;
}

/** A batch already run with the same slice of the same sample (a resumed run skips it). */
function finished(dir: string, size: number, offset: number, seed: number): boolean {
  if (!existsSync(`${dir}/report.json`) || !existsSync(`${dir}/sample.json`)) return false;
  const s = JSON.parse(readFileSync(`${dir}/sample.json`, "utf8")) as {
    size?: number;
    offset?: number;
    seed?: number;
  };
  return s.size === size && s.offset === offset && s.seed === seed;
}

function positiveInt(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw) || (flag !== "--seed" && Number(raw) === 0)) {
    throw new Error(
      `${flag} must be a ${flag === "--seed" ? "non-negative" : "positive"} integer, got "${raw}"`,
    );
  }
  return Number(raw);
}

function niceIncrement(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_NICE_INCREMENT;
  if (!/^[0-9]+$/.test(raw) || Number(raw) > MAX_NICE_INCREMENT) {
    throw new Error(`--nice-increment must be an integer 0..${MAX_NICE_INCREMENT}, got "${raw}"`);
  }
  return Number(raw);
}

function main(argv: string[]): number {
  let size: number;
  let nice: number;
  let batchSize: number;
  let seed: number;
  let resume: boolean;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        size: { type: "string" },
        "batch-size": { type: "string" },
        seed: { type: "string" },
        resume: { type: "boolean" },
        "nice-increment": { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    });
    size = positiveInt("--size", values.size, DEFAULT_SAMPLE_SIZE);
    batchSize = positiveInt("--batch-size", values["batch-size"], DEFAULT_BATCH_SIZE);
    seed = positiveInt("--seed", values.seed, DEFAULT_SAMPLE_SEED);
    resume = values.resume === true;
    nice = niceIncrement(values["nice-increment"]);
  } catch (err) {
    process.stderr.write(`mutation: ${(err as Error).message}\n`);
    return 2;
  }
  if (!resume) rmSync(OUT_DIR, { recursive: true, force: true });
  const tsx = ["--import", "tsx"];
  const batches = Math.ceil(size / batchSize);
  for (let k = 1; k <= batches; k++) {
    const dir = `${OUT_DIR}/batch-${String(k).padStart(2, "0")}`;
    const offset = (k - 1) * batchSize;
    const n = Math.min(batchSize, size - offset);
    if (resume && finished(dir, n, offset, seed)) continue;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const args = [
      "--size",
      String(n),
      "--offset",
      String(offset),
      "--seed",
      String(seed),
      "--out",
      `${dir}/sample.json`,
    ];
    const sampled = run(process.execPath, [...tsx, "scripts/mutation/sample.ts", ...args]);
    if (sampled !== 0) return sampled;
    const env = { ...process.env, MUTATION_OUT_DIR: dir, MUTATION_KILLS_FILE: resolve(dir, "kills.jsonl") };
    const strykerArgs = ["node_modules/.bin/stryker", "run", "stryker.config.mjs"];
    const stryker =
      nice === 0
        ? run(process.execPath, strykerArgs, env)
        : run("nice", ["-n", String(nice), process.execPath, ...strykerArgs], env);
    if (stryker !== 0) return stryker;
  }
  return run(process.execPath, [...tsx, "scripts/mutation/summarize.ts", "--dir", OUT_DIR]);
}

process.exitCode = main(process.argv.slice(2));
