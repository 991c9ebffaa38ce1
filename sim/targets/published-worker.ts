/**
 * Worker thread that runs the published `@masons/runtime-broker` daemon behind the simulator's
 * Input/Output boundary (see published.ts for the main-thread side and docs/targets.md).
 *
 * Theory of operation:
 * 1. Importing published-patches.ts patches the thread's globals before the package loads
 *    (seeded randomness, in-memory IPC server and plugin sockets, refused `fetch`).
 * 2. Each request from the main thread performs one input (or advances time) on the current
 *    process (published-process.ts) and then lets the daemon run to quiescence: real
 *    `setImmediate` turns until no output and no log line appears for two turns. Everything the
 *    daemon does is in memory, so that point exists.
 * 3. Time: fake timers are advanced timer by timer to the simulator's virtual time, with the
 *    daemon running to quiescence after each due timer.
 * 4. The disk is a real temp directory per run, kept across restarts, removed by `close`.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MessagePort, workerData } from "node:worker_threads";
import { ipcHooks, seedRandomness } from "./published-patches.ts";
import { Proc } from "./published-process.ts";
import type { WorkerReply, WorkerRequest } from "./published-protocol.ts";

let proc: Proc | undefined;
ipcHooks.listening = (server) => proc?.ipcListening(server);
ipcHooks.closed = (server) => {
  if (proc?.server === server) proc.server = undefined;
};

// ---- errors the daemon lets escape (an uncaught error exits the real process) ----

process.on("unhandledRejection", (err) => {
  if (!proc || proc.dead) return;
  proc.internalErrors++;
  proc.logs.push([
    "error",
    "sim_unhandled_rejection",
    { err: String(err), op: (err as { simOp?: string }).simOp },
  ]);
});
process.on("uncaughtException", (err) => {
  if (!proc || proc.dead) return;
  proc.internalErrors++;
  proc.logs.push(["error", "sim_uncaught_exception", { err: String(err) }]);
});

// ---- quiescence and the request loop ----

const realSetImmediate = setImmediate;
const turn = () => new Promise<void>((r) => realSetImmediate(r));

/** Let the daemon run until nothing changes for two event-loop turns. */
async function settle(p: Proc): Promise<void> {
  let quiet = 0;
  for (let i = 0; i < 200 && quiet < 2; i++) {
    const before = p.outputs.length + p.logs.length;
    await turn();
    quiet = p.outputs.length + p.logs.length === before ? quiet + 1 : 0;
  }
}

async function advanceTo(p: Proc, nowMs: number): Promise<void> {
  for (;;) {
    if (p.dead) return;
    const due = p.nextDeadline();
    if (due === undefined || due > nowMs) break;
    p.clock.tick(Math.max(0, due - p.clock.now));
    await settle(p);
  }
  if (!p.dead && nowMs > p.clock.now) p.clock.tick(nowMs - p.clock.now);
}

let dir: string | undefined;

async function serve(req: WorkerRequest): Promise<WorkerReply> {
  switch (req.op) {
    case "start": {
      if (proc && !proc.dead) proc.kill();
      dir ??= mkdtempSync(join(tmpdir(), "broker-sim-published-"));
      seedRandomness(req.start.randomSeed);
      proc = new Proc(req.start, dir);
      return reply(proc);
    }
    case "handle": {
      const p = proc!;
      await advanceTo(p, req.nowMs);
      if (!p.dead) p.handle(req.input);
      await settle(p);
      return reply(p);
    }
    case "advance": {
      const p = proc!;
      await advanceTo(p, req.nowMs);
      await settle(p);
      return reply(p);
    }
    case "crash": {
      if (proc && !proc.dead) proc.kill();
      return stoppedReply();
    }
    case "close": {
      if (proc && !proc.dead) proc.kill();
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
      return stoppedReply();
    }
  }
}

function reply(p: Proc): WorkerReply {
  const outputs = p.outputs.splice(0);
  const logs = p.logs.splice(0);
  return {
    outputs,
    logs,
    stopped: p.stopped,
    internalErrors: p.internalErrors,
    deadline: p.dead ? undefined : p.nextDeadline(),
    initialCursor: p.initialCursor,
  };
}

const { port, flag } = workerData as { port: MessagePort; flag: SharedArrayBuffer };
const signal = new Int32Array(flag);
port.on("message", (req: WorkerRequest) => {
  serve(req).then(
    (r) => {
      port.postMessage(r);
      Atomics.store(signal, 0, 1);
      Atomics.notify(signal, 0);
    },
    (err: unknown) => {
      port.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      Atomics.store(signal, 0, 1);
      Atomics.notify(signal, 0);
    },
  );
});

/** The reply to `crash` and `close`: the process is gone, nothing more comes from it. */
function stoppedReply() {
  return { outputs: [], logs: [], stopped: true, internalErrors: 0, deadline: undefined, initialCursor: 0 };
}
