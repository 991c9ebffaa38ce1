/**
 * Coalesced cursor writes. The core asks for one `write_cursor` per DELIVERY_ACK it writes, and a
 * durable write (temp file, fsync, rename) costs milliseconds: done one by one they capped the
 * daemon at a few hundred messages per second (bench/). Requests that arrive while a write is
 * waiting for its turn are folded into it: only the newest value is written, once, and every
 * folded request is answered with that write's outcome.
 *
 * Why this keeps the core's guarantees: the core only asks to write `v` after DELIVERY_ACK(v) went
 * to an open socket, and its values never decrease (S2), so the newest pending value is also the
 * largest and was acked; an older value that is never written separately was superseded on disk by
 * a larger one before anyone could read it. A file that lags the wire after a crash is allowed (the
 * server replays above the persisted cursor; route claims and the delivered-route record dedupe).
 */

import type { StorageOp } from "../broker/types.ts";

export type StorageOutcome = { ok: true } | { ok: false; error: string };

export class CursorWrites {
  private waiting: number[] = [];
  private value = 0;
  private scheduled = false;
  private dropped = false;

  constructor(
    private readonly perform: (op: StorageOp) => StorageOutcome,
    private readonly answer: (id: number, outcome: StorageOutcome) => void,
    /** Runs the fold after the current I/O turn. Default `setImmediate`. */
    private readonly later: (fn: () => void) => void = (fn) => setImmediate(fn),
  ) {}

  get pending(): number {
    return this.waiting.length;
  }

  request(id: number, lastKnownSeq: number): void {
    if (this.dropped) return;
    this.waiting.push(id);
    this.value = lastKnownSeq;
    if (this.scheduled) return;
    this.scheduled = true;
    this.later(() => this.flush());
  }

  /** Write the newest pending value now and answer every waiting request. */
  flush(): void {
    this.scheduled = false;
    if (this.dropped || this.waiting.length === 0) return;
    const ids = this.waiting;
    this.waiting = [];
    const outcome = this.perform({ op: "write_cursor", lastKnownSeq: this.value });
    for (const id of ids) this.answer(id, outcome);
  }

  /** Forget waiting requests without writing (a crash, or the core is gone). */
  drop(): void {
    this.dropped = true;
    this.waiting = [];
  }
}
