/**
 * The messages between the pool (sim/pool/pool.ts) and its workers (sim/pool/worker.ts). Everything
 * here crosses a thread boundary by structured clone, so it is plain data: no functions, no classes.
 */

import type { RunOptions, RunReport } from "../run.ts";

/** The part of `RunOptions` a worker can receive: plain data only (no callbacks, no decision log). */
export type PoolRunOptions = Pick<
  RunOptions,
  "swarm" | "plantedFaults" | "fork" | "swarmFrom" | "coverageFirstAt"
>;

/** One run to do: a scenario (by name) and a seed, with the sweep's options. */
export interface PoolTask {
  scenario: string;
  seed: number;
  /** The registered target to run against, by name (sim/targets/). */
  target: string;
  options: PoolRunOptions;
  /** Run only these checkers (invariant ids, `--shrink-for`); absent = every checker. */
  checkers?: string[];
  /** Run the seed a second time and hand back the second run's hash and event count. */
  checkDeterminism: boolean;
}

/** The second run of a seed under `--check-determinism`. */
export interface SecondRun {
  traceHash: string;
  events: number;
}

export interface TaskMessage {
  id: number;
  task: PoolTask;
}

export type WorkerMessage =
  | { type: "started"; id: number }
  | { type: "done"; id: number; report: RunReport; again?: SecondRun }
  | { type: "error"; id: number; error: string };

/** What the pool hands back for each task, in task order. */
export type PoolResult =
  | { kind: "report"; report: RunReport; again?: SecondRun }
  /** The seed ran past its wall-clock budget; its worker was stopped and replaced. */
  | { kind: "runaway"; scenario: string; seed: number; budgetMs: number };
