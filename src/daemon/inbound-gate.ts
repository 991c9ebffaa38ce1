/**
 * Backpressure on the connector socket: the daemon hands the core a new connector frame only while
 * fewer than `maxInboundTasksInFlight` inbound tasks are unfinished in the core. Frames beyond that
 * wait here, in arrival order, and the socket stops being read while many wait, so a burst of
 * messages is taken at the pace the daemon can finish them instead of all at once (which starts a
 * route claim per message, starves the event loop and lets push receipts time out).
 *
 * Theory of operation:
 * 1. The core sees the socket's frames in the order they arrived, as always; a frame that waits here
 *    is, to the core, a frame still on the wire. Every kind of frame waits behind earlier ones, not
 *    only messages, so acks are never reordered around messages.
 * 2. After every step of the driver, `pump()` hands over waiting frames while the core has room.
 * 3. The socket is paused when `pauseAtFrames` wait and resumed once no more than `resumeAtFrames`
 *    wait (TCP backpressure onto the platform).
 * 4. When the socket closes, or a new one opens, waiting frames are dropped: they belong to a socket
 *    that is gone, and the platform replays everything above the acked cursor on the next
 *    registration. The close itself goes to the core at once.
 */

import type { Input } from "../broker/types.ts";

export interface InboundGateOptions {
  /** Unfinished inbound tasks in the core above which new frames wait. Default 256. */
  maxInboundTasksInFlight?: number;
  /** Waiting frames at which the socket stops being read. Default 1 024. */
  pauseAtFrames?: number;
  /** Waiting frames at or below which a paused socket is read again. Default 256. */
  resumeAtFrames?: number;
}

export const DEFAULT_MAX_INBOUND_TASKS_IN_FLIGHT = 256;
const DEFAULT_PAUSE_AT_FRAMES = 1_024;
const DEFAULT_RESUME_AT_FRAMES = 256;
/** Handed-over slots at the front of the waiting list are cut off once there are this many. */
const COMPACT_AT = 4_096;

export interface GatePorts {
  /** Unfinished inbound tasks in the core. */
  inflight(): number;
  /** Hand one input to the core. */
  feed(input: Input): void;
  /** Stop / start reading the connector socket. */
  pause(): void;
  resume(): void;
}

export class InboundGate {
  private readonly waiting: string[] = [];
  /** Index of the next waiting frame (the array is compacted when it empties). */
  private head = 0;
  private paused = false;
  private pumping = false;
  private readonly max: number;
  private readonly pauseAt: number;
  private readonly resumeAt: number;
  /** Frames that waited, frames dropped with their socket, times the socket was paused. */
  readonly stats = { waited: 0, dropped: 0, pauses: 0 };

  constructor(
    private readonly ports: GatePorts,
    opts: InboundGateOptions = {},
  ) {
    this.max = positive(
      opts.maxInboundTasksInFlight ?? DEFAULT_MAX_INBOUND_TASKS_IN_FLIGHT,
      "maxInboundTasksInFlight",
    );
    this.pauseAt = positive(opts.pauseAtFrames ?? DEFAULT_PAUSE_AT_FRAMES, "pauseAtFrames");
    this.resumeAt = Math.min(
      positive(opts.resumeAtFrames ?? DEFAULT_RESUME_AT_FRAMES, "resumeAtFrames"),
      this.pauseAt,
    );
  }

  /** Frames waiting for room in the core. */
  get size(): number {
    return this.waiting.length - this.head;
  }

  /** An input from the connector socket. */
  input(input: Input): void {
    switch (input.kind) {
      case "connector_frame":
        if (this.size === 0 && this.ports.inflight() < this.max) {
          this.ports.feed(input);
          return;
        }
        this.waiting.push(input.text);
        this.stats.waited++;
        if (!this.paused && this.size >= this.pauseAt) {
          this.paused = true;
          this.stats.pauses++;
          this.ports.pause();
        }
        return;
      case "connector_open":
      case "connector_closed":
        this.dropWaiting();
        this.ports.feed(input);
        return;
      default:
        this.ports.feed(input);
    }
  }

  /** Hand waiting frames to the core while it has room (called after every driver step). */
  pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.size > 0 && this.ports.inflight() < this.max) {
        const text = this.waiting[this.head]!;
        this.waiting[this.head++] = "";
        if (this.head === this.waiting.length) this.compact();
        else if (this.head >= COMPACT_AT && this.head * 2 >= this.waiting.length) {
          this.waiting.splice(0, this.head);
          this.head = 0;
        }
        this.ports.feed({ kind: "connector_frame", text });
      }
      if (this.paused && this.size <= this.resumeAt) {
        this.paused = false;
        this.ports.resume();
      }
    } finally {
      this.pumping = false;
    }
  }

  private dropWaiting(): void {
    this.stats.dropped += this.size;
    this.compact();
    if (this.paused) {
      this.paused = false;
      this.ports.resume();
    }
  }

  private compact(): void {
    this.waiting.length = 0;
    this.head = 0;
  }
}

function positive(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer, got ${n}`);
  return n;
}
