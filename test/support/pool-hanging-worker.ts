/**
 * A stand-in pool worker for the watchdog tests: seed 2 never finishes (a busy loop, as a runaway
 * simulation would be); every other seed answers at once with a minimal report.
 */

import { parentPort } from "node:worker_threads";
import type { TaskMessage, WorkerMessage } from "../../sim/pool/protocol.ts";

const port = parentPort!;
port.on("message", ({ id, task }: TaskMessage) => {
  const post = (m: WorkerMessage) => port.postMessage(m);
  post({ type: "started", id });
  if (task.seed === 2) for (;;);
  if (task.seed === 3) {
    post({ type: "error", id, error: "Error: boom" });
    return;
  }
  const report = { scenario: task.scenario, seed: task.seed, ok: true, events: 1 } as never;
  post({ type: "done", id, report });
});
