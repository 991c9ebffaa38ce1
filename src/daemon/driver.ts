/**
 * The driver loop: the only place where real time and real events meet the sans-IO core.
 *
 * Theory of operation:
 * 1. Every real event becomes one `Input` passed to `feed`. Inputs are queued and handed to
 *    `core.handle(input, now)` strictly one at a time, so an output performer that answers
 *    synchronously (storage, a refused send) never re-enters the core.
 * 2. After each `handle`/`advance` the driver takes the core's outputs and performs them in order
 *    through the `DriverPorts`. A performer that throws is logged and skipped: one broken socket
 *    must not stop the others' outputs.
 * 3. Exactly one timer is armed, at `core.nextDeadline()`; it is re-armed after every batch of
 *    inputs and after every `advance`. When it fires the driver calls `core.advance(now)`.
 * 4. `now` never decreases, even if the wall clock steps back (the core's rule 1 of types.ts).
 * 5. After `dispose()` nothing reaches the core and no timer stays armed.
 * 6. A deadline is judged after the I/O that had already arrived when its timer fired
 *    (io-deadline.ts): the core is advanced only after the I/O grace, inputs fed meanwhile are
 *    handled first (a push receipt waiting in its socket settles its deadline instead of missing
 *    it), and no second timer is armed while a grace is running.
 */

import type { ApiArgs, ApiOp } from "../broker/api.ts";
import type { BrokerCore } from "../broker/broker.ts";
import type { OutboundFrame } from "../broker/connector/frames.ts";
import type { Input, Output, PushFrame, StorageOp } from "../broker/types.ts";
import { afterIoTurns, IO_GRACE_TURNS } from "./io-deadline.ts";
import type { Logger } from "./logger.ts";

/** The largest delay `setTimeout` honours; longer deadlines are reached in several hops. */
const MAX_TIMER_MS = 2_147_483_647;

export type ControlAck = Extract<Output, { kind: "control_ack" }>;

/** Where each kind of output goes. Implementations answer later by calling `Driver.feed`. */
export interface DriverPorts {
  connectorConnect(): void;
  connectorSend(frame: OutboundFrame): void;
  connectorClose(code: number, reason: string): void;
  api<K extends ApiOp>(id: number, op: K, args: ApiArgs[K]): void;
  storage(id: number, op: StorageOp): void;
  ipcRespond(id: number, status: number, body: unknown): void;
  ipcPush(channel: number, frame: PushFrame): void;
  ipcCloseChannel(channel: number, code: number, reason: string): void;
  controlAck(ack: ControlAck): void;
  stopped(): void;
}

export interface DriverOptions {
  /** Wall clock in ms since the epoch. Default `Date.now`. */
  now?: () => number;
  logger?: Logger;
  /** Called after every step of the core (its inputs handled, its outputs performed). */
  afterStep?: () => void;
  /**
   * Runs its argument once the I/O that had arrived when a deadline fell due has been read.
   * Default: after `IO_GRACE_TURNS` turns of the event loop (io-deadline.ts).
   */
  ioGrace?: (judge: () => void) => void;
}

export class Driver {
  private readonly queue: Input[] = [];
  private draining = false;
  private disposed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt: number | undefined;
  private lastNow = 0;
  private readonly clock: () => number;
  private readonly logger: Logger | undefined;
  private readonly afterStep: (() => void) | undefined;
  private readonly ioGrace: (judge: () => void) => void;
  /** A due deadline waits for its I/O grace; no timer is armed meanwhile. */
  private judging = false;
  /** Counts of inputs fed and outputs performed, for tests and `/health`-style diagnostics. */
  readonly stats = { inputs: 0, outputs: 0, advances: 0, performErrors: 0 };

  constructor(
    readonly core: BrokerCore,
    private readonly ports: DriverPorts,
    opts: DriverOptions = {},
  ) {
    this.clock = opts.now ?? Date.now;
    this.logger = opts.logger;
    this.afterStep = opts.afterStep;
    this.ioGrace = opts.ioGrace ?? ((judge) => afterIoTurns(IO_GRACE_TURNS, judge));
  }

  /** Current time as the core sees it (monotone). */
  now(): number {
    const t = this.clock();
    if (t > this.lastNow) this.lastNow = t;
    return this.lastNow;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Hand one input to the core (queued behind any input being handled). */
  feed(input: Input): void {
    if (this.disposed) {
      this.logger?.debug("driver_input_after_dispose", { kind: input.kind });
      return;
    }
    this.queue.push(input);
    if (this.draining) return;
    this.run(() => {});
  }

  /** Stop: no more inputs reach the core, and the timer is cleared. */
  dispose(): void {
    this.disposed = true;
    this.queue.length = 0;
    this.clearTimer();
  }

  /** When the armed timer will fire (ms since the epoch), for tests. */
  get armedAt(): number | undefined {
    return this.timerAt;
  }

  private performAll(): void {
    for (const out of this.core.takeOutputs()) {
      this.stats.outputs++;
      try {
        this.perform(out);
      } catch (err) {
        this.stats.performErrors++;
        this.logger?.error("driver_output_failed", { kind: out.kind, error: err });
      }
    }
  }

  private perform(out: Output): void {
    const p = this.ports;
    switch (out.kind) {
      case "connector_connect":
        p.connectorConnect();
        return;
      case "connector_send":
        p.connectorSend(out.frame);
        return;
      case "connector_close":
        p.connectorClose(out.code, out.reason);
        return;
      case "api_call":
        p.api(out.id, out.op, out.args as ApiArgs[typeof out.op]);
        return;
      case "storage":
        p.storage(out.id, out.op);
        return;
      case "ipc_push":
        p.ipcPush(out.channel, out.frame);
        return;
      case "ipc_response":
        p.ipcRespond(out.id, out.status, out.body);
        return;
      case "ipc_close_channel":
        p.ipcCloseChannel(out.channel, out.code, out.reason);
        return;
      case "control_ack":
        p.controlAck(out);
        return;
      case "stopped":
        p.stopped();
        return;
      default: {
        const never: never = out;
        this.logger?.warn("driver_unknown_output", { output: never });
      }
    }
  }

  private arm(): void {
    if (this.disposed || this.judging) return;
    const at = this.core.nextDeadline();
    if (at === this.timerAt && this.timer !== undefined) return;
    this.clearTimer();
    if (at === undefined) return;
    const delay = Math.min(Math.max(0, at - this.now()), MAX_TIMER_MS);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), delay);
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = undefined;
    if (this.disposed) return;
    const due = this.core.nextDeadline();
    // A far deadline is reached in hops of MAX_TIMER_MS; only call the core when one is due.
    if (due === undefined || due > this.now()) {
      this.arm();
      return;
    }
    this.judging = true;
    this.ioGrace(() => {
      this.judging = false;
      if (this.disposed) return;
      const now = this.now();
      const still = this.core.nextDeadline();
      if (still === undefined || still > now) {
        this.arm();
        return;
      }
      this.run(() => {
        this.stats.advances++;
        this.core.advance(now);
        this.performAll();
      });
    });
  }

  /** Run `first`, then every queued input, each followed by its outputs; then re-arm the timer. */
  private run(first: () => void): void {
    this.draining = true;
    try {
      first();
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) {
        if (this.disposed) break;
        this.stats.inputs++;
        this.core.handle(next, this.now());
        this.performAll();
      }
    } finally {
      this.draining = false;
    }
    this.arm();
    if (!this.disposed) this.afterStep?.();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
  }
}
