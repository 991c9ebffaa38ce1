/**
 * The simulator's command line.
 *
 *   npx tsx sim/runner.ts [--scenario NAME] [--seed N | --seeds A..B] [--swarm] [--json]
 *                         [--plant NAME[,NAME]] [--trace FILE] [--check-determinism] [--jobs N]
 *                         [--shard I/N] [--seed-budget-ms MS]
 *
 * Exit codes: 0 pass, 1 safety violation, 2 usage error, 3 liveness violation, 4 nondeterminism,
 * 5 coverage gap (a scenario's declared event never happened in a sweep of two or more seeds),
 * 6 runaway (a pooled seed overran its wall-clock budget).
 * Human output: each run's drawn options (one line, for a single run or with --verbose), one line
 * per failure plus its `rerun:` line, then for sweeps the summary table and the coverage matrix,
 * then a one-line summary. Progress goes to stderr only on a terminal. This file and sim/pool/ are
 * the only parts of the simulator that read the wall clock, to show how long a sweep took and to
 * stop a runaway seed. Sweeps run on the worker pool (sim/pool/cli.ts, `--jobs`); `main` is the
 * in-process serial runner the pool's results are fed through, so both print the same.
 */

import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { NO_PLANTED_FAULTS, type PlantedFaults } from "../src/broker/options.ts";
import { SweepSummary } from "./coverage/sweep.ts";
import { type RunOptions, type RunReport, runScenario } from "./run.ts";
import type { ForkPoint } from "./explore/fork.ts";
import { type ExploreTask, GuidedExplorer } from "./explore/guided.ts";
import { writeTraceFile } from "./export/files.ts";
import { runAndExport } from "./export/run-export.ts";
import { runCli } from "./pool/cli.ts";
import { DEFAULT_SEED_BUDGET_MS } from "./pool/pool.ts";
import type { PoolResult } from "./pool/protocol.ts";
import { parseShard, type Shard, shardSeeds } from "./pool/shard.ts";
import { promoteCommand, replayCommand, shrinkCommand } from "./shrink/cli.ts";
import { onlyCheckers } from "./shrink/repro.ts";
import { RUNNER_COMMAND } from "./rerun.ts";
import { SCENARIOS, scenarioByName } from "./scenarios/index.ts";
import type { Scenario } from "./scenarios/scenario.ts";
import { ALL_CHECKERS } from "./checkers/index.ts";
import { applicableCheckers, CHECKER_NEEDS, DEFAULT_TARGET, TARGETS, targetByName } from "./targets/index.ts";
import type { TargetKind } from "./targets/target.ts";

export const EXIT_PASS = 0;
export const EXIT_SAFETY = 1;
export const EXIT_USAGE = 2;
export const EXIT_LIVENESS = 3;
export const EXIT_NONDETERMINISM = 4;
export const EXIT_COVERAGE = 5;
export const EXIT_RUNAWAY = 6;

/** Coverage is enforced for sweeps of at least this many seeds per scenario. */
export const COVERAGE_MIN_SEEDS = 2;

export const PLANTED_FAULT_NAMES = Object.keys(NO_PLANTED_FAULTS) as Array<keyof PlantedFaults>;

/** Largest seed range one invocation accepts (a typo like 1..1e12 should not run for a week). */
const SEEDS_MAX = 1_000_000;

const USAGE = `usage: ${RUNNER_COMMAND} [options]
  --scenario NAME        run one scenario (default: every registered scenario)
  --skip NAME[,NAME]     leave these scenarios out of the sweep
  --seed N               run one seed
  --seeds A..B           run seeds A through B inclusive (default 1..10)
  --swarm                draw fault options per seed (swarm mode)
  --explore MODE         how a sweep spends its runs (default uniform): uniform = every seed of the
                         range; guided = the same number of runs per scenario, part of them forks
                         of runs that reached rare coverage events and (swarm mode) fresh seeds with
                         such runs' fault plans (docs/exploration.md)
  --fork-at N            fork the seed's run after N events and continue with fresh draws from
                         --fork-stream K (K >= 1); both together, one scenario and one seed
  --fork-stream K        the fresh stream of a forked run (with --fork-at)
  --swarm-from S         swarm mode: draw the fault plan from seed S's swarm draws instead
  --target NAME          the broker under test (default ${DEFAULT_TARGET.name}): ${TARGETS.map((t) => `${t.name} = ${t.description}`).join("; ")}
  --plant NAME[,NAME]    plant test-only broker bugs: ${PLANTED_FAULT_NAMES.join(", ")}
  --planted-fault NAME   the same, one name per flag (repeatable)
  --json                 print one JSON object per run on stdout (and a summary object for sweeps)
  --verbose              print every run's drawn options (always printed for a single run)
  --no-coverage          do not fail a sweep whose declared coverage events did not all happen
  --no-export            do not write the trace, Perfetto JSON and HTML timeline of failing runs
                         (by default the first 3 failing runs are written under out/failures/)
  --trace FILE           write the JSONL trace of the run to FILE (one scenario and one seed,
                         or with --replay)
  --check-determinism    run every seed twice and compare trace hashes (exit 4 on a difference)
  --jobs N               run a sweep on N worker threads (default: the number of cores); results
                         are merged in seed order, so the output is that of a serial run
  --shard I/N            run only shard I of N of the seed range: the seeds at positions I-1,
                         I-1+N, ... (shards 1/N..N/N together are exactly the range)
  --seed-budget-ms MS    wall-clock budget per seed on the pool; a seed that overruns it is stopped
                         and reported with its rerun line, exit 6 (default ${DEFAULT_SEED_BUDGET_MS})
  --shrink               shrink the first failing run (same invariant) and write a replay file
                         under out/repros/ (see sim/shrink/)
  --shrink-budget MS     wall-time budget for --shrink (default 20000)
  --shrink-for ID        shrink for invariant ID alone: every run of the sweep checks only ID (so
                         another invariant that breaks first cannot hide it), the first run that
                         breaks it is shrunk, and the replay file records that it checks ID alone
                         (implies --shrink)
  --replay FILE          run a replay file exactly (exit code as for a normal failure)
  --promote FILE         check a replay file reproduces, then copy it into test/regressions/
  --help                 show this help
exit codes: 0 pass, 1 safety, 2 usage, 3 liveness, 4 nondeterminism, 5 coverage gap, 6 runaway
scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}`;

export class UsageError extends Error {}

/** How a sweep spends its runs (`--explore`). */
export const EXPLORE_MODES = ["uniform", "guided"] as const;
export type ExploreMode = (typeof EXPLORE_MODES)[number];

export interface CliOptions {
  scenarios: Scenario[];
  seeds: number[];
  swarm: boolean;
  /** How a sweep spends its runs. */
  explore: ExploreMode;
  /** `--fork-at` with `--fork-stream`: the run forks from its seed's run there. */
  fork: ForkPoint | undefined;
  /** `--swarm-from`: the fault plan is drawn from this seed. */
  swarmFrom: number | undefined;
  /** The broker under test. */
  target: TargetKind;
  /** Planted broker faults, sorted by name (as printed in `rerun:` lines). */
  planted: Array<keyof PlantedFaults>;
  json: boolean;
  verbose: boolean;
  coverage: boolean;
  /** Write trace, Perfetto JSON and HTML timeline for the first failing runs. */
  export: boolean;
  traceFile: string | undefined;
  checkDeterminism: boolean;
  /** Worker threads for a sweep (sim/pool/); default the number of cores. */
  jobs: number;
  /** `--shard i/n`: `seeds` is already this shard's part of the range. */
  shard: Shard | undefined;
  seedBudgetMs: number;
  help: boolean;
  /** Issue 6 (sim/shrink/): shrink the first failing run; replay or promote a replay file. */
  shrink: boolean;
  shrinkBudgetMs: number | undefined;
  /** `--shrink-for ID`: the runs check only this invariant, and the shrinker shrinks for it. */
  shrinkFor: string | undefined;
  replay: string | undefined;
  promote: string | undefined;
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
  if (v.skip !== undefined) {
    const skip = v.skip.split(",").filter((x) => x.length > 0);
    for (const name of skip) {
      if (!scenarioByName(name)) throw new UsageError(`--skip: unknown scenario "${name}"`);
    }
    scenarios = scenarios.filter((x) => !skip.includes(x.name));
    if (scenarios.length === 0) throw new UsageError("--skip leaves no scenario to run");
  }
  const target = targetByName(v.target ?? DEFAULT_TARGET.name);
  if (!target) {
    throw new UsageError(
      `unknown target "${v.target}"; known targets: ${TARGETS.map((t) => t.name).join(", ")}`,
    );
  }
  if (v.seed !== undefined && v.seeds !== undefined) throw new UsageError("use --seed or --seeds, not both");
  let seeds: number[];
  if (v.seed !== undefined) seeds = [parseSeed(v.seed, "--seed")];
  else seeds = parseRange(v.seeds ?? "1..10");
  const jobs = v.jobs === undefined ? availableParallelism() : parseSeed(v.jobs, "--jobs");
  if (jobs < 1) throw new UsageError("--jobs must be at least 1");
  let shard: Shard | undefined;
  if (v.shard !== undefined) {
    try {
      shard = parseShard(v.shard);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const all = seeds;
    seeds = shardSeeds(all, shard);
    if (seeds.length === 0) {
      throw new UsageError(
        `--shard ${v.shard} leaves no seed of ${describeSeeds(all)} (fewer seeds than shards)`,
      );
    }
  }
  const seedBudgetMs =
    v["seed-budget-ms"] === undefined
      ? DEFAULT_SEED_BUDGET_MS
      : parseSeed(v["seed-budget-ms"], "--seed-budget-ms");
  if (seedBudgetMs < 1) throw new UsageError("--seed-budget-ms must be at least 1");
  if (v.trace !== undefined && v.replay === undefined && (seeds.length !== 1 || scenarios.length !== 1)) {
    throw new UsageError("--trace needs exactly one scenario (--scenario) and one seed (--seed)");
  }
  const explore = v.explore ?? "uniform";
  if (!(EXPLORE_MODES as readonly string[]).includes(explore)) {
    throw new UsageError(`--explore must be one of ${EXPLORE_MODES.join(", ")}, got "${explore}"`);
  }
  let fork: ForkPoint | undefined;
  if ((v["fork-at"] === undefined) !== (v["fork-stream"] === undefined)) {
    throw new UsageError("--fork-at and --fork-stream go together");
  }
  if (v["fork-at"] !== undefined && v["fork-stream"] !== undefined) {
    fork = {
      atEvent: parseSeed(v["fork-at"], "--fork-at"),
      stream: parseSeed(v["fork-stream"], "--fork-stream"),
    };
    if (fork.atEvent < 1) throw new UsageError("--fork-at must be at least 1");
    if (fork.stream < 1) throw new UsageError("--fork-stream must be at least 1");
    if (seeds.length !== 1 || scenarios.length !== 1) {
      throw new UsageError("--fork-at needs exactly one scenario (--scenario) and one seed (--seed)");
    }
  }
  const swarmFrom = v["swarm-from"] === undefined ? undefined : parseSeed(v["swarm-from"], "--swarm-from");
  if (swarmFrom !== undefined && v.swarm !== true) throw new UsageError("--swarm-from needs --swarm");
  if (explore === "guided" && (fork !== undefined || swarmFrom !== undefined)) {
    throw new UsageError(
      "--explore guided chooses forks and fault plans itself: no --fork-at or --swarm-from",
    );
  }
  if (explore === "guided" && v.shard !== undefined) {
    throw new UsageError("--explore guided steers by its own earlier results: run it unsharded (no --shard)");
  }
  if (explore === "guided" && v.trace !== undefined) {
    throw new UsageError("--trace writes one run's trace: use it on a rerun line, not with --explore guided");
  }
  if (
    (fork !== undefined || swarmFrom !== undefined || explore === "guided") &&
    (v.replay !== undefined || v.promote !== undefined)
  ) {
    throw new UsageError(
      "--replay and --promote run a replay file as it is: no --explore, --fork-at or --swarm-from",
    );
  }
  const planted = parsePlanted([...(v.plant ?? []), ...(v["planted-fault"] ?? [])]);
  if (planted.length > 0 && !target.capabilities.includes("planted_faults")) {
    throw new UsageError(
      `--plant: the ${target.name} target has no planted faults (they are the reference's)`,
    );
  }
  return {
    scenarios,
    seeds,
    swarm: v.swarm === true,
    explore: explore as ExploreMode,
    fork,
    swarmFrom,
    target,
    planted,
    json: v.json === true,
    verbose: v.verbose === true,
    coverage: v["no-coverage"] !== true,
    export: v["no-export"] !== true,
    traceFile: v.trace,
    checkDeterminism: v["check-determinism"] === true,
    jobs,
    shard,
    seedBudgetMs,
    help: v.help === true,
    shrink: v.shrink === true || v["shrink-for"] !== undefined,
    shrinkFor: parseInvariant(v["shrink-for"]),
    shrinkBudgetMs:
      v["shrink-budget"] === undefined ? undefined : parseSeed(v["shrink-budget"], "--shrink-budget"),
    replay: v.replay,
    promote: v.promote,
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      scenario: { type: "string" },
      skip: { type: "string" },
      seed: { type: "string" },
      seeds: { type: "string" },
      swarm: { type: "boolean" },
      explore: { type: "string" },
      "fork-at": { type: "string" },
      "fork-stream": { type: "string" },
      "swarm-from": { type: "string" },
      target: { type: "string" },
      plant: { type: "string", multiple: true },
      "planted-fault": { type: "string", multiple: true },
      json: { type: "boolean" },
      verbose: { type: "boolean" },
      "no-coverage": { type: "boolean" },
      "no-export": { type: "boolean" },
      trace: { type: "string" },
      "check-determinism": { type: "boolean" },
      jobs: { type: "string" },
      shard: { type: "string" },
      "seed-budget-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
      shrink: { type: "boolean" },
      "shrink-budget": { type: "string" },
      "shrink-for": { type: "string" },
      replay: { type: "string" },
      promote: { type: "string" },
    },
  });
}

function parseInvariant(id: string | undefined): string | undefined {
  if (id === undefined) return undefined;
  if (!ALL_CHECKERS.some((c) => c.id === id))
    throw new UsageError(
      `--shrink-for: unknown invariant "${id}"; known invariants: ${ALL_CHECKERS.map((c) => c.id).join(", ")}`,
    );
  return id;
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

function parsePlanted(values: string[]): Array<keyof PlantedFaults> {
  const out = new Set<keyof PlantedFaults>();
  for (const v of values) {
    for (const name of v.split(",")) {
      if (name === "") continue;
      if (!(PLANTED_FAULT_NAMES as string[]).includes(name)) {
        throw new UsageError(`unknown planted fault "${name}"; known: ${PLANTED_FAULT_NAMES.join(", ")}`);
      }
      out.add(name as keyof PlantedFaults);
    }
  }
  return [...out].sort();
}

/** The planted-fault switches for `names`. */
export function plantedFaults(names: readonly (keyof PlantedFaults)[]): Partial<PlantedFaults> {
  const out: Partial<PlantedFaults> = {};
  for (const n of names) out[n] = true;
  return out;
}

/** A run's identity in a rerun line: seed, and where it forked or drew its fault plan from. */
export interface RerunId {
  scenario: string;
  seed: number;
  target?: string;
  fork?: ForkPoint;
  swarmFrom?: number;
}

/** The runner arguments that reproduce one run exactly. */
export function rerunArgs(r: RerunId, swarm: boolean, planted: readonly string[] = []): string[] {
  const args = ["--scenario", r.scenario, "--seed", String(r.seed)];
  if (r.fork !== undefined)
    args.push("--fork-at", String(r.fork.atEvent), "--fork-stream", String(r.fork.stream));
  if (r.target !== undefined && r.target !== DEFAULT_TARGET.name) args.push("--target", r.target);
  if (swarm) args.push("--swarm");
  if (swarm && r.swarmFrom !== undefined) args.push("--swarm-from", String(r.swarmFrom));
  if (planted.length > 0) args.push("--plant", [...planted].sort().join(","));
  return args;
}

export function rerunLine(r: RerunId, swarm: boolean, planted: readonly string[] = []): string {
  return `rerun: ${RUNNER_COMMAND} ${rerunArgs(r, swarm, planted).join(" ")}`;
}

interface Io {
  out(line: string): void;
  err(line: string): void;
  progress: boolean;
}

/** A sweep's runs done on the pool, in loop order (seed-major: each seed across every scenario). */
export interface PooledRuns {
  results: readonly PoolResult[];
  /** The runs in `results` order, when they are not the uniform sweep's (a guided sweep). */
  tasks?: readonly ExploreTask[];
  /** When the pooled sweep started (wall clock, for the summary's timing only). */
  startedMs: number;
}

/**
 * Run the CLI in this process; returns the exit code. With `pooled`, the runs come from the pool
 * instead of being run here (the process entry, `runCli` of sim/pool/cli.ts, does that for sweeps).
 */
export function main(argv: string[], io: Io = defaultIo(), pooled?: PooledRuns): number {
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
  const codes = { pass: EXIT_PASS, safety: EXIT_SAFETY, usage: EXIT_USAGE, liveness: EXIT_LIVENESS };
  if (opts.replay !== undefined) return replayCommand(opts.replay, io, codes, opts.json, opts.traceFile);
  if (opts.promote !== undefined) return promoteCommand(opts.promote, io, codes);
  let shrunk = false;
  let exported = 0;
  const started = pooled?.startedMs ?? Date.now();
  const sweep = new SweepSummary();
  let runaway = 0;
  let task = 0;
  let runs = 0;
  let events = 0;
  let virtualMs = 0;
  let safety = 0;
  let liveness = 0;
  let nondeterministic = 0;
  const planted = plantedFaults(opts.planted);
  const only = opts.shrinkFor === undefined ? undefined : onlyCheckers(ALL_CHECKERS, [opts.shrinkFor]);
  const inProcessGuided =
    pooled === undefined && opts.explore === "guided" ? runGuided(opts, planted) : undefined;
  const tasks = pooled?.tasks ?? inProcessGuided?.tasks ?? sweepTasks(opts);
  const results = pooled?.results ?? inProcessGuided?.results;
  const total = tasks.length;
  const showDrawn = !opts.json && (total === 1 || opts.verbose);
  for (const t of tasks) {
    const scenario = scenarioByName(t.scenario)!;
    const seed = t.seed;
    const taskOptions = taskRunOptions(t);
    const fromPool = results?.[task++];
    if (fromPool?.kind === "runaway") {
      runaway++;
      const rerun = rerunLine(
        { scenario: scenario.name, seed, target: opts.target.name, ...taskOptions },
        opts.swarm,
        opts.planted,
      );
      const what = `still running after ${fromPool.budgetMs} ms wall-clock (--seed-budget-ms); stopped`;
      if (opts.json) io.out(JSON.stringify({ scenario: scenario.name, seed, runaway: what, rerun }));
      else io.out(`RUNAWAY ${scenario.name} seed ${seed}: ${what}\n  ${rerun}`);
      continue;
    }
    if (fromPool && showDrawn) io.out(drawnLine(scenario.name, seed, fromPool.report.drawn, taskOptions));
    const report =
      fromPool?.report ??
      runScenario(scenario, seed, {
        ...taskOptions,
        swarm: opts.swarm,
        plantedFaults: planted,
        target: opts.target,
        ...(only ? { checkers: only } : {}),
        recordTrace: opts.traceFile !== undefined,
        onDrawn: showDrawn ? (d) => io.out(drawnLine(scenario.name, seed, d, taskOptions)) : undefined,
      });
    runs++;
    events += report.events;
    virtualMs += report.virtualMs;
    sweep.add(report);
    let mismatch: { traceHash: string } | undefined;
    if (opts.checkDeterminism) {
      const again =
        fromPool?.again ??
        runScenario(scenario, seed, {
          ...taskOptions,
          swarm: opts.swarm,
          plantedFaults: planted,
          target: opts.target,
          ...(only ? { checkers: only } : {}),
        });
      if (again.traceHash !== report.traceHash || again.events !== report.events) mismatch = again;
    }
    if (opts.traceFile !== undefined && report.trace) {
      writeTraceFile(opts.traceFile, report.trace);
      delete report.trace;
    }
    if (report.violation?.kind === "liveness") liveness++;
    else if (report.violation) safety++;
    if (mismatch) nondeterministic++;
    if (opts.json) {
      const line: Record<string, unknown> = { ...report };
      if (report.violation) line.rerun = rerunLine(report, opts.swarm, opts.planted);
      if (mismatch) line.nondeterminism = { firstHash: report.traceHash, secondHash: mismatch.traceHash };
      io.out(JSON.stringify(line));
    } else {
      if (report.violation) printFailure(io, report, opts);
      if (report.violation && opts.export && exported < EXPORTED_FAILURES_MAX) {
        exported++;
        const { paths } = runAndExport(scenario, seed, {
          swarm: opts.swarm,
          plantedFaults: planted,
          outDir: FAILURES_OUT_DIR,
          runOptions: { target: opts.target, ...taskOptions, ...(only ? { checkers: only } : {}) },
        });
        if (paths.html) io.out(`  timeline: ${paths.html}`);
        if (paths.perfetto) io.out(`  perfetto: ${paths.perfetto} (open in https://ui.perfetto.dev)`);
        if (paths.trace) io.out(`  trace: ${paths.trace}`);
      }
      if (report.violation && opts.shrink && !shrunk && (t.fork !== undefined || t.swarmFrom !== undefined)) {
        io.out("  shrink: forked runs and --swarm-from runs are not shrunk; the next plain-seed failure is");
      } else if (report.violation && opts.shrink && !shrunk) {
        shrunk = true;
        const cmd = {
          scenario: scenario.name,
          seed,
          swarm: opts.swarm,
          planted: opts.planted,
          ...(opts.target === DEFAULT_TARGET ? {} : { target: opts.target.name }),
        };
        shrinkCommand(
          {
            ...cmd,
            timeBudgetMs: opts.shrinkBudgetMs,
            ...(opts.shrinkFor === undefined ? {} : { invariant: opts.shrinkFor }),
          },
          io,
          codes,
        );
      }
      if (mismatch) {
        io.out(
          `NONDETERMINISTIC ${scenario.name} seed ${seed}: trace hash ${report.traceHash} then ${mismatch.traceHash}`,
        );
        io.out(`  ${rerunLine(report, opts.swarm, opts.planted)} --check-determinism`);
      }
    }
    if (io.progress && !pooled) io.err(`\r${runs}/${total} runs, ${safety + liveness} failing`);
  }
  if (io.progress && !pooled) io.err("\n");
  // Runs that stop at a violation cut their coverage short, so gaps only mean something (and are
  // only enforced) when every run passed.
  const enforceCoverage =
    opts.coverage &&
    opts.seeds.length >= COVERAGE_MIN_SEEDS &&
    safety + liveness + nondeterministic + runaway === 0;
  const gaps = enforceCoverage ? sweep.gaps(opts.scenarios) : [];
  if (runs > 1) {
    if (opts.json) io.out(JSON.stringify({ summary: sweep.toJSON(opts.scenarios) }));
    else {
      io.out("");
      for (const l of sweep.table(opts.scenarios)) io.out(l);
      io.out("");
      for (const l of sweep.matrix.render()) io.out(l);
    }
  }
  for (const g of gaps) {
    const what = g.unknown
      ? `declares "${g.event}", which is not a coverage event (see sim/coverage/events.ts)`
      : `never made "${g.event}" happen in ${g.seeds} seeds`;
    (opts.json ? io.err : io.out)(`COVERAGE ${g.scenario} ${what}`);
  }
  const { notApplicable } = applicableCheckers(opts.target, ALL_CHECKERS);
  if (notApplicable.length > 0) {
    const why = notApplicable.map((id) => `${id} (${(CHECKER_NEEDS[id] ?? []).join("+")})`).join(", ");
    (opts.json ? io.err : io.out)(`not applicable on target ${opts.target.name}: ${why}`);
  }
  const wallMs = Date.now() - started;
  const failed = safety + liveness + nondeterministic + runaway + gaps.length;
  const shard = opts.shard ? ` shard ${opts.shard.index}/${opts.shard.count}` : "";
  const summary =
    `${runs + runaway} runs (${opts.scenarios.map((s) => s.name).join(", ")}; seeds ${describeSeeds(opts.seeds)}${shard}` +
    `${opts.swarm ? "; swarm" : ""}${opts.target === DEFAULT_TARGET ? "" : `; target ${opts.target.name}`}${opts.planted.length > 0 ? `; planted ${opts.planted.join(",")}` : ""}): ` +
    `${runs - safety - liveness} passed, ${safety} safety, ${liveness} liveness` +
    (opts.checkDeterminism ? `, ${nondeterministic} nondeterministic` : "") +
    (runaway > 0 ? `, ${runaway} runaway` : "") +
    (enforceCoverage ? `, ${gaps.length} coverage gaps` : "") +
    `; ${events} events, ${Math.round(virtualMs / 1000)} s virtual in ${(wallMs / 1000).toFixed(1)} s` +
    (wallMs > 0
      ? ` (${Math.round((events / wallMs) * 1000 * (opts.checkDeterminism ? 2 : 1))} events/s)`
      : "");
  if (opts.json) io.err(summary);
  else io.out(`${failed === 0 ? "ok" : "FAILED"}: ${summary}`);
  if (safety > 0) return EXIT_SAFETY;
  if (liveness > 0) return EXIT_LIVENESS;
  if (nondeterministic > 0) return EXIT_NONDETERMINISM;
  if (gaps.length > 0) return EXIT_COVERAGE;
  if (runaway > 0) return EXIT_RUNAWAY;
  return EXIT_PASS;
}

/**
 * The runs of a uniform sweep, seed-major: every scenario's first seed, then every scenario's
 * second seed, … so a bug one scenario finds is not reached only after every seed of the scenarios
 * before it. `--fork-at` and `--swarm-from` apply to every run.
 */
export function sweepTasks(opts: CliOptions): ExploreTask[] {
  const out: ExploreTask[] = [];
  for (const seed of opts.seeds) {
    for (const scenario of opts.scenarios) {
      const t: ExploreTask = { scenario: scenario.name, seed };
      if (opts.fork !== undefined) t.fork = { ...opts.fork };
      if (opts.swarmFrom !== undefined) t.swarmFrom = opts.swarmFrom;
      out.push(t);
    }
  }
  return out;
}

/** The run options a task adds to the sweep's (fork point, fault plan seed). */
export function taskRunOptions(t: ExploreTask): Pick<RunOptions, "fork" | "swarmFrom"> {
  const o: Pick<RunOptions, "fork" | "swarmFrom"> = {};
  if (t.fork !== undefined) o.fork = t.fork;
  if (t.swarmFrom !== undefined) o.swarmFrom = t.swarmFrom;
  return o;
}

/** A guided sweep run in this process, round by round (the pool does the same in parallel). */
function runGuided(
  opts: CliOptions,
  planted: Partial<PlantedFaults>,
): { tasks: ExploreTask[]; results: PoolResult[] } {
  const explorer = new GuidedExplorer(
    opts.scenarios.map((s) => s.name),
    opts.seeds,
    opts.swarm,
  );
  const tasks: ExploreTask[] = [];
  const results: PoolResult[] = [];
  for (let round = explorer.nextRound(); round.length > 0; round = explorer.nextRound()) {
    for (const t of round) {
      const scenario = scenarioByName(t.scenario)!;
      const run = { ...taskRunOptions(t), swarm: opts.swarm, plantedFaults: planted, target: opts.target };
      const report = runScenario(scenario, t.seed, { ...run, coverageFirstAt: true });
      explorer.record(t, report);
      delete report.coverageFirstAt;
      tasks.push(t);
      if (opts.checkDeterminism) {
        const again = runScenario(scenario, t.seed, run);
        results.push({ kind: "report", report, again: { traceHash: again.traceHash, events: again.events } });
      } else results.push({ kind: "report", report });
    }
  }
  return { tasks, results };
}

/** Failing runs whose pictures a sweep writes (each costs one more traced run). */
const EXPORTED_FAILURES_MAX = 3;
const FAILURES_OUT_DIR = "out/failures";

/** The one-line statement of a run's drawn options (swarm fault plan included). */
export function drawnLine(
  scenario: string,
  seed: number,
  drawn: Record<string, unknown>,
  from: Pick<RunOptions, "fork" | "swarmFrom"> = {},
): string {
  const fork = from.fork === undefined ? "" : ` fork-at ${from.fork.atEvent} stream ${from.fork.stream}`;
  const plan = from.swarmFrom === undefined ? "" : ` swarm-from ${from.swarmFrom}`;
  return `run ${scenario} seed ${seed}${fork}${plan} drawn: ${JSON.stringify(drawn)}`;
}

function printFailure(io: Io, report: RunReport, opts: CliOptions): void {
  const v = report.violation!;
  io.out(
    `FAIL ${report.scenario} seed ${report.seed}: ${v.invariant} (${v.kind}) at ${v.atMs} ms virtual — ${v.message}`,
  );
  for (const e of v.involved) io.out(`    ${e}`);
  io.out(`  drawn: ${JSON.stringify(report.drawn)}`);
  io.out(`  ${rerunLine(report, opts.swarm, opts.planted)}`);
}

function describeSeeds(seeds: number[]): string {
  if (seeds.length === 1) return String(seeds[0]);
  return `${seeds[0]}..${seeds[seeds.length - 1]}`;
}

function defaultIo(): Io {
  return processIo(process.stderr.isTTY === true);
}

/** Lines to stdout and stderr; a progress redraw (`\r…`) or a bare newline is written as it is. */
export function processIo(progress: boolean): Io {
  return {
    out: (l) => process.stdout.write(`${l}\n`),
    err: (l) => process.stderr.write(l.startsWith("\r") || l === "\n" ? l : `${l}\n`),
    progress,
  };
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("sim/runner.ts")) {
  // `… | head` closes stdout early: stop quietly instead of dying on an unhandled EPIPE.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
  process.exitCode = await runCli(process.argv.slice(2));
}
