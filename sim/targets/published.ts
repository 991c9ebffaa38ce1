/**
 * The published target: `@masons/runtime-broker@0.2.36`'s `startBrokerDaemon`, run in a worker
 * thread (published-worker.ts) and called synchronously from the simulated world.
 *
 * Theory of operation:
 * 1. One worker per run: it holds the patched globals, the fake clock and the run's disk (a temp
 *    directory); a crash drops the daemon instance and its timers, a restart builds a new one on
 *    the same disk, `close()` removes the disk and parks the thread for the next run.
 * 2. Each call posts one request and blocks on `Atomics.wait` until the worker has let the daemon
 *    run to quiescence and posted the reply; `receiveMessageOnPort` takes it synchronously. The
 *    world never sees the daemon mid-step.
 * 3. The worker's randomness is seeded from one draw of the world's broker stream, so a replay
 *    (and the shrinker's decision log) reproduces it.
 * 4. What the daemon cannot show is declared in `capabilities`: its disk writes are synchronous
 *    `node:fs` calls (no `storage` outputs), its internal maps are not exposed (no snapshot), and
 *    it has no planted faults. Internal errors are the rejections and exceptions it lets escape.
 */

import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import type { BrokerOptions } from "../../src/broker/options.ts";
import type { BrokerSnapshot } from "../../src/broker/snapshot.ts";
import type { Input, LogLevel, LogSink, Output } from "../../src/broker/types.ts";
import type { WorkerReply, WorkerRequest } from "./published-protocol.ts";
import type { Target, TargetKind, TargetRun, TargetStart } from "./target.ts";

/** A worker that does not answer within this much wall time is reported as hung. */
const WORKER_REPLY_TIMEOUT_MS = 60_000;

class WorkerLink {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal: Int32Array;

  constructor() {
    const flag = new SharedArrayBuffer(8);
    this.signal = new Int32Array(flag);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(new URL("./published-worker-boot.mjs", import.meta.url), {
      workerData: { port: port2, flag },
      transferList: [port2],
      execArgv: [],
      stdout: false,
      stderr: false,
    });
    this.worker.unref();
  }

  call(req: WorkerRequest): WorkerReply {
    Atomics.store(this.signal, 0, 0);
    this.port.postMessage(req);
    Atomics.wait(this.signal, 0, 0, WORKER_REPLY_TIMEOUT_MS);
    // The flag can be raised a moment before the reply is visible on the port: poll in 1 ms
    // sleeps (a bounded count, so no clock is read).
    let msg = receiveMessageOnPort(this.port);
    for (let i = 0; msg === undefined && i < WORKER_REPLY_TIMEOUT_MS; i++) {
      Atomics.wait(this.signal, 1, 0, 1);
      msg = receiveMessageOnPort(this.port);
    }
    if (msg === undefined) {
      throw new Error(
        `published target: worker did not answer "${req.op}" within ${WORKER_REPLY_TIMEOUT_MS} ms`,
      );
    }
    const reply = msg.message as WorkerReply | { error: string };
    if ("error" in reply) throw new Error(`published target worker: ${reply.error}`);
    return reply;
  }

  terminate(): void {
    this.port.close();
    void this.worker.terminate();
  }
}

class PublishedProcess implements Target {
  private outputs: Output[] = [];
  private deadline: number | undefined;
  private dead = false;
  stopped = false;
  internalErrors = 0;
  readonly initialCursor: number;
  readonly logCounts = new Map<string, number>();

  constructor(
    private readonly link: WorkerLink,
    s: TargetStart,
  ) {
    this.log = s.log;
    const r = link.call({
      op: "start",
      start: { nowMs: s.nowMs, options: s.options, randomSeed: s.random.int(0x7fff_ffff) },
    });
    this.initialCursor = r.initialCursor;
    this.absorb(r);
  }

  private readonly log: LogSink | undefined;

  handle(input: Input, nowMs: number): void {
    if (this.dead) return;
    this.absorb(this.link.call({ op: "handle", input, nowMs }));
  }
  advance(nowMs: number): void {
    if (this.dead) return;
    this.absorb(this.link.call({ op: "advance", nowMs }));
  }
  nextDeadline(): number | undefined {
    return this.dead ? undefined : this.deadline;
  }
  takeOutputs(): Output[] {
    const o = this.outputs;
    this.outputs = [];
    return o;
  }
  snapshot(): BrokerSnapshot {
    throw new Error(
      "the published daemon does not expose a snapshot (assignments, reply records are internal)",
    );
  }
  dispose(): void {
    if (this.dead) return;
    this.dead = true;
    this.link.call({ op: "crash" });
  }

  private absorb(r: WorkerReply): void {
    for (const o of r.outputs) this.outputs.push(o);
    this.deadline = r.deadline;
    this.stopped = r.stopped;
    this.internalErrors = r.internalErrors;
    for (const [level, event, fields] of r.logs) {
      this.logCounts.set(event, (this.logCounts.get(event) ?? 0) + 1);
      this.log?.(level as LogLevel, event, fields);
    }
  }
}

/**
 * Idle workers, reused by later runs: starting a thread and loading the package costs far more
 * than a short run. `close` leaves a worker with no daemon, no timers and no disk; the package's
 * modules stay loaded (they keep no state between daemon instances that a run can observe:
 * `--check-determinism` compares a fresh worker's run with a reused one's).
 */
const idle: WorkerLink[] = [];
const IDLE_WORKERS_MAX = 1;

class PublishedRun implements TargetRun {
  private link: WorkerLink | undefined;

  start(s: TargetStart): Target {
    this.link ??= idle.pop() ?? new WorkerLink();
    return new PublishedProcess(this.link, s);
  }
  close(): void {
    if (!this.link) return;
    this.link.call({ op: "close" });
    if (idle.length < IDLE_WORKERS_MAX) idle.push(this.link);
    else this.link.terminate();
    this.link = undefined;
  }
}

/**
 * The limits `startBrokerDaemon` takes no option for: the package's own constants, so a run on this
 * target is judged by them (`TargetKind.fixedOptions`).
 */
export const PUBLISHED_FIXED_OPTIONS: Partial<BrokerOptions> = {
  /** `dist/types.js` REGISTER_ACK_TIMEOUT_MS and SEND_ACK_TIMEOUT_MS. */
  registerAckTimeoutMs: 15_000,
  sendAckTimeoutMs: 15_000,
  /** `dist/connector-client.js` BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, ALREADY_CONNECTED_*, SEEN_PAYLOAD_ID_CAP. */
  reconnectInitialMs: 1_000,
  reconnectMaxMs: 30_000,
  alreadyConnectedRetryMs: 2_000,
  alreadyConnectedRetriesMax: 30,
  seenPayloadIdsMax: 4_096,
  /** `dist/broker/correlation-ring.js` DEFAULT_CAP; `control-event-dispatcher.js` DEFAULT_IDEMPOTENCY_RING_SIZE. */
  correlationRingMax: 1_024,
  controlIdempotencyRingMax: 1_024,
  /** `dist/broker/broker-daemon.js` DELIVERED_INBOUND_SOURCE_ROUTE_CAP. */
  routeCacheMax: 4_096,
  /** `dist/broker/entry.js` `transitionState`: one retry after `sleep(500)` (the adapter's port does the same). */
  transitionRetryMs: 500,
};

export const PUBLISHED_TARGET: TargetKind = {
  name: "published",
  description: "@masons/runtime-broker 0.2.36 startBrokerDaemon, in a worker thread on fake timers",
  capabilities: ["internal_errors"],
  fixedOptions: PUBLISHED_FIXED_OPTIONS,
  open: () => new PublishedRun(),
};
