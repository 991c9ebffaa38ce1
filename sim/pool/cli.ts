/**
 * The simulator's process entry (called by sim/runner.ts): sweeps run on the worker pool, everything
 * else (usage errors, help, one run, --trace, --replay, --promote) goes straight to the runner's
 * `main`. A pooled sweep's results are fed through `main` in seed order, so its output and exit code
 * are those of a serial run of the same seeds (`main` also writes failure pictures and shrinks, as
 * in a serial run). The progress line is drawn only on a terminal outside CI and never with --json.
 */

import { main, parseCli, plantedFaults, processIo } from "../runner.ts";
import { runPool } from "./pool.ts";
import { progressPrinter, showProgress } from "./progress.ts";
import type { PoolTask } from "./protocol.ts";

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
  const tasks: PoolTask[] = [];
  for (const scenario of opts.scenarios) {
    for (const seed of opts.seeds) {
      tasks.push({
        scenario: scenario.name,
        seed,
        target: opts.target.name,
        options: { swarm: opts.swarm, plantedFaults: planted },
        ...(opts.shrinkFor === undefined ? {} : { checkers: [opts.shrinkFor] }),
        checkDeterminism: opts.checkDeterminism,
      });
    }
  }
  const startedMs = Date.now();
  const results = await runPool(tasks, {
    jobs: opts.jobs,
    seedBudgetMs: opts.seedBudgetMs,
    onProgress: runIo.progress ? progressPrinter((s) => runIo.err(s)) : undefined,
  });
  return main(argv, runIo, { results, startedMs });
}
