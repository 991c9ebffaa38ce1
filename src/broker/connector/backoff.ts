/**
 * Reconnect delays of the connector socket (PROTOCOL.md §2.4).
 *
 * Theory of operation:
 * 1. Exponential mode: the delay is `min(b · (1 + U·jitterRatio), max)` with `U` in [0, 1) from the
 *    injected Random, then `b = min(2b, max)`. `b` starts at `initialMs`.
 * 2. "Already connected" mode: while the counter of `REGISTER_ACK error "Already connected"`
 *    answers is above zero the delay is a fixed `alreadyConnectedRetryMs` without jitter, because
 *    the server is waiting for the previous session to time out, not overloaded. When the counter
 *    reaches `alreadyConnectedRetriesMax` it is cleared and one exponential delay is used.
 * 3. `reset()` on `REGISTER_ACK ok` returns to the initial delay and clears the counter.
 */

import type { Random } from "../types.ts";

export interface BackoffOptions {
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  reconnectJitterRatio: number;
  alreadyConnectedRetryMs: number;
  alreadyConnectedRetriesMax: number;
}

export class ReconnectBackoff {
  private base: number;
  private alreadyConnected = 0;

  constructor(private readonly opts: BackoffOptions) {
    this.base = opts.reconnectInitialMs;
  }

  get alreadyConnectedCount(): number {
    return this.alreadyConnected;
  }

  noteAlreadyConnected(): void {
    this.alreadyConnected++;
  }

  reset(): void {
    this.base = this.opts.reconnectInitialMs;
    this.alreadyConnected = 0;
  }

  /** The delay before the next connect attempt, in ms. Draws one float only in exponential mode. */
  next(random: Random): number {
    if (this.alreadyConnected > 0) {
      if (this.alreadyConnected < this.opts.alreadyConnectedRetriesMax)
        return this.opts.alreadyConnectedRetryMs;
      this.alreadyConnected = 0;
    }
    const max = this.opts.reconnectMaxMs;
    // Whole milliseconds keep traces readable; the jitter stays uniform at that resolution.
    const delay = Math.floor(
      Math.min(this.base * (1 + random.float() * this.opts.reconnectJitterRatio), max),
    );
    this.base = Math.min(this.base * 2, max);
    return delay;
  }
}
