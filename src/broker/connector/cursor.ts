/**
 * The delivery cursor of one connector stream (PROTOCOL.md §2.5, §2.6) as pure data.
 *
 * Theory of operation:
 * 1. State: `L` the committed cursor; `G` accepted seqs above `L` not yet contiguous; `P` payload
 *    ids of sequenced messages handed to the pipeline and not yet committed or released; `Bq`
 *    seq → payload id for those; `S` a FIFO window of ids that must never be processed again
 *    (committed sequenced ids and every unsequenced id).
 * 2. Nothing here does I/O. Methods return decisions and the connector turns them into frames:
 *    `onMessage` says drop or deliver, `flushCandidate` says how far an ack may go, and `commit`
 *    is only called after the connector wrote the ack on an open socket (S3, S4).
 * 3. `L` never decreases (S2): `commit` and `jumpTo` only move it up; `reset` is the start-up load.
 * 4. The ack is cumulative over a contiguous run: `flushCandidate` is the largest `c` with
 *    `L+1 … c ⊆ G`, so one blocked seq holds back every later seq (head-of-line, by design).
 *
 * Additions over the reference, used for liveness (L1/L2) and bounded gap-fill traffic:
 * 5. `inflight` holds seqs delivered to the pipeline and not yet accepted or released, and `top` is
 *    the largest seq such that every seq in `L+1 … top` is in flight or accepted. A frame whose seq
 *    is above `top + 1` reveals a real hole (the reference compares with `L + 1`, which reports a
 *    "gap" for every message that arrives while its predecessor is still being handed off).
 * 6. `highestKnown` is the largest seq the server has shown us (messages, skips, the server head of
 *    DELIVERY_CURSOR). `stuck()` is true when a seq above `top` exists that nobody is working on:
 *    only a gap fill can make progress then.
 */

import { FifoSet } from "../fifo-set.ts";

export type MessageDecision =
  | { action: "drop"; why: "duplicate" | "old" }
  /** `gapFrom` (= L) is set when this frame revealed a hole below its seq. */
  | { action: "deliver"; gapFrom?: number };

export interface CursorOptions {
  /** Capacity of the seen-id FIFO (`seenPayloadIdsMax`). */
  seenCapacity: number;
}

export class DeliveryCursor {
  private l = 0;
  private readonly g = new Set<number>();
  /** P: payload id → seq. */
  private readonly p = new Map<string, number>();
  /** Bq: seq → payload id. */
  private readonly bq = new Map<number, string>();
  /** S: a FIFO window of `seenCapacity` ids. */
  private readonly s: FifoSet<string>;
  private readonly inflight = new Set<number>();
  private top = 0;
  private highest = 0;

  constructor(opts: CursorOptions) {
    this.s = new FifoSet(opts.seenCapacity);
  }

  get committed(): number {
    return this.l;
  }

  get pendingCount(): number {
    return this.p.size;
  }

  get seenCount(): number {
    return this.s.size;
  }

  get highestKnown(): number {
    return this.highest;
  }

  /** Largest seq with `L+1 … top` all in flight or accepted. */
  get contiguousTop(): number {
    return this.top;
  }

  acceptedGaps(): number[] {
    return [...this.g].sort((a, b) => a - b);
  }

  isPending(id: string): boolean {
    return this.p.has(id);
  }

  isSeen(id: string): boolean {
    return this.s.has(id);
  }

  isInflight(seq: number): boolean {
    return this.inflight.has(seq);
  }

  /** Start-up or scope reset: `L` = the persisted value, everything else forgotten. */
  reset(l: number): void {
    this.l = isSeq(l) ? l : 0;
    this.g.clear();
    this.p.clear();
    this.bq.clear();
    this.s.clear();
    this.inflight.clear();
    this.top = this.l;
    this.highest = this.l;
  }

  /**
   * Steps 1–3 of §2.5 for one in-scope MESSAGE_RECEIVED. `checkDuplicates = false` skips step 1
   * (planted fault `noDuplicateSuppression`).
   */
  onMessage(seq: number | undefined, messageId: string | undefined, checkDuplicates = true): MessageDecision {
    if (checkDuplicates && messageId !== undefined && (this.s.has(messageId) || this.p.has(messageId))) {
      return { action: "drop", why: "duplicate" };
    }
    if (seq === undefined) {
      if (messageId !== undefined) this.addSeen(messageId);
      return { action: "deliver" };
    }
    if (seq <= this.l) return { action: "drop", why: "old" };
    if (messageId !== undefined) this.track(seq, messageId);
    const hole = seq > this.top + 1;
    if (seq > this.highest) this.highest = seq;
    this.inflight.add(seq);
    this.extendTop();
    return hole ? { action: "deliver", gapFrom: this.l } : { action: "deliver" };
  }

  /** Would a frame naming `seq` (e.g. DELIVERY_SKIP) reveal a hole below it? */
  revealsHole(seq: number): boolean {
    return seq > this.top + 1;
  }

  /** Remember the server's head (DELIVERY_CURSOR.deliverySeq) so a stuck cursor keeps asking. */
  noteServerHead(seq: number): void {
    if (isSeq(seq) && seq > this.highest) this.highest = seq;
  }

  /** The pipeline (or a DELIVERY_SKIP) handled `seq`. Returns whether it was recorded. */
  accept(seq: number): boolean {
    if (!isSeq(seq) || seq <= this.l) return false;
    this.inflight.delete(seq);
    this.g.add(seq);
    if (seq > this.highest) this.highest = seq;
    this.extendTop();
    return true;
  }

  /** Largest `c > L` with `L+1 … c ⊆ G`, or undefined when `L+1` is not accepted. */
  flushCandidate(): number | undefined {
    let c = this.l;
    while (this.g.has(c + 1)) c++;
    return c > this.l ? c : undefined;
  }

  /**
   * Commit up to `c` after the ack was written. Only the contiguous accepted run can be committed;
   * anything else is refused (returns false) rather than corrupting the cursor, and the caller
   * asserts it never asks for anything else.
   */
  commit(c: number): boolean {
    const limit = this.flushCandidate();
    if (limit === undefined || !isSeq(c) || c > limit || c <= this.l) return false;
    for (let s = this.l + 1; s <= c; s++) {
      this.g.delete(s);
      this.inflight.delete(s);
      const id = this.bq.get(s);
      if (id !== undefined) {
        this.bq.delete(s);
        if (this.p.get(id) === s) this.p.delete(id);
        this.addSeen(id);
      }
      this.l = s;
    }
    if (this.top < this.l) this.top = this.l;
    return true;
  }

  /** Forget `seq`'s pending payload id so a redelivery is processed again. */
  release(seq: number): boolean {
    if (!isSeq(seq)) return false;
    const wasInflight = this.inflight.delete(seq);
    const id = this.bq.get(seq);
    if (id !== undefined) {
      this.bq.delete(seq);
      if (this.p.get(id) === seq) this.p.delete(id);
    }
    // A released seq that was not accepted is a hole again: lower `top` below it.
    if (seq > this.l && seq <= this.top && !this.g.has(seq)) this.top = seq - 1;
    return wasInflight || id !== undefined;
  }

  /** §2.6 step 1: the server says everything up to `delivered` is done. Returns whether L moved. */
  jumpTo(delivered: number): boolean {
    if (!isSeq(delivered) || delivered <= this.l) return false;
    this.l = delivered;
    for (const s of [...this.g]) if (s <= delivered) this.g.delete(s);
    for (const s of [...this.inflight]) if (s <= delivered) this.inflight.delete(s);
    for (const [s, id] of [...this.bq]) {
      if (s > delivered) continue;
      this.bq.delete(s);
      if (this.p.get(id) === s) this.p.delete(id);
    }
    if (this.top < this.l) this.top = this.l;
    if (this.highest < this.l) this.highest = this.l;
    this.extendTop();
    return true;
  }

  /** No progress is possible without a replay: the server has seqs above the contiguous top. */
  stuck(): boolean {
    return this.highest > this.top;
  }

  private track(seq: number, id: string): void {
    const prev = this.bq.get(seq);
    if (prev !== undefined && prev !== id && this.p.get(prev) === seq) this.p.delete(prev);
    this.bq.set(seq, id);
    this.p.set(id, seq);
  }

  private addSeen(id: string): void {
    this.s.add(id);
  }

  private extendTop(): void {
    while (this.g.has(this.top + 1) || this.inflight.has(this.top + 1)) this.top++;
  }
}

function isSeq(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
