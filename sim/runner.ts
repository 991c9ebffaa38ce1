/**
 * The simulator's command line.
 *
 *   npx tsx sim/runner.ts [--scenario NAME] [--seed N | --seeds A..B] [--swarm] [--json]
 *                         [--trace FILE] [--check-determinism] [--jobs N]
 *
 * Exit codes: 0 pass, 1 safety violation, 2 usage error, 3 liveness violation, 4 nondeterminism.
 * Human output: one line per failure plus its `rerun:` line, then a summary. Progress goes to stderr
 * only when stderr is a terminal. This file is the only part of the simulator that reads the wall
 * clock, and only to show how long a sweep took.
 */

import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { type RunReport, runScenario } from "./run.ts";
import { SCENARIOS, scenarioByName } from "./scenarios/index.ts";
import type { Scenario } from "./scenarios/scenario.ts";

export const EXIT_PASS = 0;
export const EXIT_SAFETY = 1;
export const EXIT_USAGE = 2;
export const EXIT_LIVENESS = 3;
export const EXIT_NONDETERMINISM = 4;

/** Largest seed range one invocation accepts (a typo like 1..1e12 should not run for a week). */
const SEEDS_MAX = 1_000_000;

const USAGE = `usage: npx tsx sim/runner.ts [options]
  --scenario NAME        run one scenario (default: every registered scenario)
  --seed N               run one seed
  --seeds A..B           run seeds A through B inclusive (default 1..10)
  --swarm                draw fault options per seed (swarm mode)
  --json                 print one JSON object per run on stdout
  --trace FILE           write the JSONL trace of the run to FILE (one scenario, one seed)
  --check-determinism    run every seed twice and compare trace hashes (exit 4 on a difference)
  --jobs N               accepted for compatibility; runs are sequential for now
  --help                 show this help
scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`;

export class UsageError extends Error {}

export interface CliOptions {
  scenarios: Scenario[];
  seeds: number[];
  swarm: boolean;
  json: boolean;
  traceFile: string | undefined;
  checkDeterminism: boolean;
  jobs: number;
  help: boolean;
}

export function parseCli(argv: string[]): CliOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument: ${parsed.positionals[0]}`);
  let scenarios = SCENARIOS;
  if (v.scenario !== undefined) {
    const s = scenarioByName(v.scenario);
    if (!s) {
      throw new UsageError(
        `unknown scenario "${v.scenario}"; known scenarios: ${SCENARIOS.map((x) => x.name).join(", ")}`,
      );
    }
    scenarios = [s];
  }
  if (v.seed !== undefined && v.seeds !== undefined) throw new UsageError("use --seed or --seeds, not both");
  let seeds: number[];
  if (v.seed !== undefined) seeds = [parseSeed(v.seed, "--seed")];
  else seeds = parseRange(v.seeds ?? "1..10");
  const jobs = v.jobs === undefined ? 1 : parseSeed(v.jobs, "--jobs");
  if (jobs < 1) throw new UsageError("--jobs must be at least 1");
  if (v.trace !== undefined && (seeds.length !== 1 || scenarios.length !== 1)) {
    throw new UsageError("--trace needs exactly one scenario (--scenario) and one seed (--seed)");
  }
  return {
    scenarios,
    seeds,
    swarm: v.swarm === true,
    json: v.json === true,
    traceFile: v.trace,
    checkDeterminism: v["check-determinism"] === true,
    jobs,
    help: v.help === true,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      scenario: { type: "string" },
      seed: { type: "string" },
      seeds: { type: "string" },
      swarm: { type: "boolean" },
      json: { type: "boolean" },
      trace: { type: "string" },
      "check-determinism": { type: "boolean" },
      jobs: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function parseSeed(s: string, flag: string): number {
  if (!/^\d+$/.test(s)) throw new UsageError(`${flag} needs a non-negative integer, got "${s}"`);
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n > 0xffff_ffff)
    throw new UsageError(`${flag} ${s} is out of range (max 4294967295)`);
  return n;
}

function parseRange(s: string): number[] {
  const m = /^(\d+)\.\.(\d+)$/.exec(s);
  if (!m) throw new UsageError(`--seeds needs a range like 1..200, got "${s}"`);
  const a = parseSeed(m[1]!, "--seeds");
  const b = parseSeed(m[2]!, "--seeds");
  if (b < a) throw new UsageError(`--seeds range ${s} is empty (end before start)`);
  if (b - a + 1 > SEEDS_MAX) throw new UsageError(`--seeds range ${s} has more than ${SEEDS_MAX} seeds`);
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

export function rerunLine(r: { scenario: string; seed: number }, swarm: boolean): string {
  return `rerun: npx tsx sim/runner.ts --scenario ${r.scenario} --seed ${r.seed}${swarm ? " --swarm" : ""}`;
}

interface Io {
  out(line: string): void;
  err(line: string): void;
  progress: boolean;
}

/** Run the CLI; returns the exit code. */
export function main(argv: string[], io: Io = defaultIo()): number {
  let opts: CliOptions;
  try {
    opts = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}`);
      io.err(USAGE);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (opts.help) {
    io.out(USAGE);
    return EXIT_PASS;
  }
  const started = Date.now();
  let runs = 0;
  let events = 0;
  let virtualMs = 0;
  let safety = 0;
  let liveness = 0;
  let nondeterministic = 0;
  const total = opts.scenarios.length * opts.seeds.length;
  for (const scenario of opts.scenarios) {
    for (const seed of opts.seeds) {
      const report = runScenario(scenario, seed, {
        swarm: opts.swarm,
        recordTrace: opts.traceFile !== undefined,
      });
      runs++;
      events += report.events;
      virtualMs += report.virtualMs;
      let mismatch: RunReport | undefined;
      if (opts.checkDeterminism) {
        const again = runScenario(scenario, seed, { swarm: opts.swarm });
        if (again.traceHash !== report.traceHash || again.events !== report.events) mismatch = again;
      }
      if (opts.traceFile !== undefined && report.trace) {
        writeFileSync(opts.traceFile, `${report.trace.join("\n")}\n`);
        delete report.trace;
      }
      if (report.violation?.kind === "liveness") liveness++;
      else if (report.violation) safety++;
      if (mismatch) nondeterministic++;
      if (opts.json) {
        const line: Record<string, unknown> = { ...report };
        if (mismatch) line.nondeterminism = { firstHash: report.traceHash, secondHash: mismatch.traceHash };
        io.out(JSON.stringify(line));
      } else {
        if (report.violation) {
          const v = report.violation;
          io.out(
            `FAIL ${scenario.name} seed ${seed}: ${v.invariant} (${v.kind}) at ${v.atMs} ms virtual — ${v.message}`,
          );
          for (const e of v.involved) io.out(`    ${e}`);
          io.out(`  drawn: ${JSON.stringify(report.drawn)}`);
          io.out(`  ${rerunLine(report, opts.swarm)}`);
        }
        if (mismatch) {
          io.out(
            `NONDETERMINISTIC ${scenario.name} seed ${seed}: trace hash ${report.traceHash} then ${mismatch.traceHash}`,
          );
          io.out(`  ${rerunLine(report, opts.swarm)} --check-determinism`);
        }
      }
      if (io.progress) io.err(`\r${runs}/${total} runs, ${safety + liveness} failing`);
    }
  }
  if (io.progress) io.err("\n");
  const wallMs = Date.now() - started;
  const failed = safety + liveness + nondeterministic;
  const summary =
    `${runs} runs (${opts.scenarios.map((s) => s.name).join(", ")}; seeds ${describeSeeds(opts.seeds)}): ` +
    `${runs - safety - liveness} passed, ${safety} safety, ${liveness} liveness` +
    (opts.checkDeterminism ? `, ${nondeterministic} nondeterministic` : "") +
    `; ${events} events, ${Math.round(virtualMs / 1000)} s virtual in ${(wallMs / 1000).toFixed(1)} s` +
    (wallMs > 0
      ? ` (${Math.round((events / wallMs) * 1000 * (opts.checkDeterminism ? 2 : 1))} events/s)`
      : "");
  if (opts.json) io.err(summary);
  else io.out(`${failed === 0 ? "ok" : "FAILED"}: ${summary}`);
  if (safety > 0) return EXIT_SAFETY;
  if (liveness > 0) return EXIT_LIVENESS;
  if (nondeterministic > 0) return EXIT_NONDETERMINISM;
  return EXIT_PASS;
}

function describeSeeds(seeds: number[]): string {
  if (seeds.length === 1) return String(seeds[0]);
  return `${seeds[0]}..${seeds[seeds.length - 1]}`;
}

function defaultIo(): Io {
  return {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(l.startsWith("\r") || l === "\n" ? l : `${l}\n`),
    progress: process.stderr.isTTY === true,
  };
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("sim/runner.ts")) {
  process.exitCode = main(process.argv.slice(2));
}
