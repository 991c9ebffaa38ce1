/**
 * A pool worker: a long-lived thread that runs one task at a time with `runScenario` and posts the
 * report back. It says `started` before each run so the pool's watchdog counts run time only, not
 * the worker's start-up. A run that throws is posted as an error (the pool fails the sweep with it,
 * as a serial run would stop).
 */

import { parentPort } from "node:worker_threads";
import { ALL_CHECKERS } from "../checkers/index.ts";
import { runScenario } from "../run.ts";
import { onlyCheckers } from "../shrink/repro.ts";
import { scenarioByName } from "../scenarios/index.ts";
import { targetOrThrow } from "../targets/index.ts";
import type { TaskMessage, WorkerMessage } from "./protocol.ts";

const port = parentPort;
if (!port) throw new Error("sim/pool/worker.ts runs as a worker thread only");

port.on("message", ({ id, task }: TaskMessage) => {
  const post = (m: WorkerMessage) => port.postMessage(m);
  post({ type: "started", id });
  try {
    const scenario = scenarioByName(task.scenario);
    if (!scenario) throw new Error(`unknown scenario "${task.scenario}"`);
    const options = {
      ...task.options,
      target: targetOrThrow(task.target),
      ...(task.checkers === undefined ? {} : { checkers: onlyCheckers(ALL_CHECKERS, task.checkers) }),
    };
    const report = runScenario(scenario, task.seed, options);
    if (task.checkDeterminism) {
      const again = runScenario(scenario, task.seed, options);
      post({ type: "done", id, report, again: { traceHash: again.traceHash, events: again.events } });
    } else {
      post({ type: "done", id, report });
    }
  } catch (err) {
    post({ type: "error", id, error: (err as Error).stack ?? String(err) });
  }
});
