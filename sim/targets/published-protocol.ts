/** Messages between the published target (main thread) and its worker (published-worker.ts). */

import type { BrokerOptions } from "../../src/broker/options.ts";
import type { Input, Output } from "../../src/broker/types.ts";

export interface WorkerStart {
  nowMs: number;
  options: BrokerOptions;
  /** Seeds the worker's stream behind randomUUID, randomBytes, getRandomValues and Math.random. */
  randomSeed: number;
}

export type WorkerRequest =
  | { op: "start"; start: WorkerStart }
  | { op: "handle"; input: Input; nowMs: number }
  | { op: "advance"; nowMs: number }
  /** The process dies: its timers and sockets are dropped, the disk stays. */
  | { op: "crash" }
  /** The run is over: drop the process and remove the run's disk. */
  | { op: "close" };

export interface WorkerReply {
  outputs: Output[];
  logs: Array<[string, string, Record<string, unknown> | undefined]>;
  stopped: boolean;
  internalErrors: number;
  deadline: number | undefined;
  initialCursor: number;
}
