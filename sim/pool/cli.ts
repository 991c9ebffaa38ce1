/**
 * The simulator's process entry (called by sim/runner.ts): sweeps run on the worker pool, everything
 * else (usage errors, help, one run, --trace, --replay, --promote) goes straight to the runner's
 * `main`. A pooled sweep's results are fed through `main` in seed order, so its output and exit code
 * are those of a serial run of the same seeds (`main` also writes failure pictures and shrinks, as
 * in a serial run). The progress line is drawn only on a terminal outside CI and never with --json.
 */

import { type ExploreTask, GuidedExplorer } from "../explore/guided.ts";
import { main, parseCli, plantedFaults, processIo, sweepTasks, taskRunOptions } from "../runner.ts";
import { type PoolProgress, runPool } from "./pool.ts";
import { progressPrinter, showProgress } from "./progress.ts";
import type { PoolResult, PoolTask } from "./protocol.ts";

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  progress: boolean;
}

export async function runCli(argv: string[], io?: CliIo): Promise<number> {
  let opts: ReturnType<typeof parseCli>;
  try {
    opts = parseCli(argv);
  } catch {
    return main(argv, io ?? processIo(false));
  }
  const runIo = io ?? processIo(showProgress(process.env, process.stdout.isTTY === true, opts.json));
  const total = opts.scenarios.length * opts.seeds.length;
  const pooled =
    !opts.help &&
    opts.replay === undefined &&
    opts.promote === undefined &&
    opts.traceFile === undefined &&
    total > 1;
  if (!pooled) return main(argv, runIo);

  const planted = plantedFaults(opts.planted);
  const toPoolTask = (t: ExploreTask, coverageFirstAt: boolean): PoolTask => ({
    scenario: t.scenario,
    seed: t.seed,
    target: opts.target.name,
    options: {
      ...taskRunOptions(t),
      swarm: opts.swarm,
      plantedFaults: planted,
      ...(coverageFirstAt ? { coverageFirstAt: true } : {}),
    },
    ...(opts.shrinkFor === undefined ? {} : { checkers: [opts.shrinkFor] }),
    checkDeterminism: opts.checkDeterminism,
  });
  const startedMs = Date.now();
  const poolOptions = (done: number, all: number) => ({
    jobs: opts.jobs,
    seedBudgetMs: opts.seedBudgetMs,
    onProgress: runIo.progress
      ? offsetProgress(
          progressPrinter((s) => runIo.err(s)),
          done,
          all,
          startedMs,
        )
      : undefined,
  });
  if (opts.explore === "guided") {
    // Round by round: a round's tasks depend only on earlier rounds' results, in task order.
    const explorer = new GuidedExplorer(
      opts.scenarios.map((s) => s.name),
      opts.seeds,
      opts.swarm,
    );
    const tasks: ExploreTask[] = [];
    const results: PoolResult[] = [];
    for (let round = explorer.nextRound(); round.length > 0; round = explorer.nextRound()) {
      const got = await runPool(
        round.map((t) => toPoolTask(t, true)),
        poolOptions(tasks.length, total),
      );
      for (let i = 0; i < round.length; i++) {
        const r = got[i]!;
        explorer.record(round[i]!, r.kind === "report" ? r.report : { coverage: {} });
        if (r.kind === "report") delete r.report.coverageFirstAt;
        tasks.push(round[i]!);
        results.push(r);
      }
    }
    return main(argv, runIo, { results, tasks, startedMs });
  }
  // The runner's loop order (seed-major), so results map back one to one.
  const tasks = sweepTasks(opts).map((t) => toPoolTask(t, false));
  const results = await runPool(tasks, poolOptions(0, tasks.length));
  return main(argv, runIo, { results, startedMs });
}

/** Progress of one round shown as progress of the whole sweep. */
function offsetProgress(
  print: (p: PoolProgress) => void,
  done: number,
  total: number,
  startedMs: number,
): (p: PoolProgress) => void {
  return (p) => print({ ...p, done: done + p.done, total, elapsedMs: Date.now() - startedMs });
}
