/**
 * The inbound side of one connector stream: turns MESSAGE_RECEIVED, DELIVERY_CURSOR and
 * DELIVERY_SKIP frames plus the pipeline's accept/release calls into cursor decisions and frames
 * (PROTOCOL.md §2.5, §2.6).
 *
 * Theory of operation:
 * 1. Frames whose (normalised) `runtimeSessionId` differs from the configured scope change nothing
 *    (S6); every DELIVERY_ACK / REQUEST_GAP_FILL written carries the configured scope.
 * 2. Frames are only written while the socket is OPEN *and registered* (`wire.writable()`). The
 *    reference checks OPEN only; writing an ack before REGISTER_ACK is pointless because REGISTER
 *    already carries `lastKnownSeq`, and REGISTER_ACK flushes again. This is stricter than S4.
 * 3. Flush order is the S3 contract: write DELIVERY_ACK(c), then commit, then ask storage to write
 *    the cursor file with c. A jump from the server's `deliveredSeq` is never persisted (§2.6).
 * 4. Every REQUEST_GAP_FILL carries `sinceSeq = L` at the time of writing (S8).
 *
 * Deviation from the reference (liveness L1, bounded traffic L2):
 * 5. The reference asks for a gap fill on *every* frame whose seq is above `L + 1`, and never asks
 *    again on its own. The first floods the server while hand-offs are in flight; the second
 *    strands a released (blocked) seq forever when no newer frame arrives (L1 fails). We instead:
 *    a. call it a hole only when the seq is above the contiguous run of in-flight/accepted seqs
 *       (`DeliveryCursor.contiguousTop`);
 *    b. write at most one REQUEST_GAP_FILL per `sinceSeq` per socket until a backoff deadline
 *       (`connector:gap_retry`, `gapFillRetryInitialMs` doubling to `gapFillRetryMaxMs`) passes;
 *    c. while the cursor is stuck (the server has shown a seq above the contiguous run, e.g. after
 *       a `release`), keep that deadline armed and re-send REQUEST_GAP_FILL(L) when it fires;
 *    d. reset the backoff whenever `L` moves.
 * 6. A replay comes on the same socket behind every frame the server had already queued, and it
 *    covers every seq above the `sinceSeq` it answers, so also any hole above a cursor that has
 *    moved since. A request (a retry, or the first for a new `L`) that falls due before the previous
 *    request's replay has begun (no frame at or below the highest seq seen when it was written has
 *    arrived) while seqs above every earlier one still arrive is held back and re-checked every
 *    `gapFillRetryInitialMs`, for at most `gapFillRetryMaxMs` from the first hold: asking again
 *    would only queue one more copy of the unacked range behind the first. No request is written
 *    before its backoff deadline, so L2's bound is unchanged.
 */

import type { Deadline } from "../deadline-kinds.ts";
import type { Env } from "../env.ts";
import type {
  DeliveryCursorFrame,
  DeliverySkipFrame,
  MessageReceivedFrame,
  OutboundFrame,
} from "./frames.ts";
import { DeliveryCursor } from "./cursor.ts";
import { invariant } from "../invariant.ts";

export const GAP_RETRY_DEADLINE: Deadline = { kind: "gap_retry" };

/** The socket as the stream sees it. */
export interface Wire {
  /** OPEN and registered: frames written now reach the server. */
  writable(): boolean;
  write(frame: OutboundFrame): void;
}

export class DeliveryStream {
  readonly cursor: DeliveryCursor;
  gapFillsSent = 0;
  /** `sinceSeq` of the last REQUEST_GAP_FILL on the current socket. */
  private lastGapSince: number | undefined;
  /** Until this time a second REQUEST_GAP_FILL for `lastGapSince` is held back. */
  private gapQuietUntilMs = 0;
  private gapRetryDelayMs: number;
  /** Largest seq of a MESSAGE_RECEIVED on the current socket. */
  private highestMessageSeq = 0;
  /**
   * `highestMessageSeq` when the last REQUEST_GAP_FILL was written (undefined when it was not
   * above `sinceSeq`): a later frame at or below it is a replay.
   */
  private replayMark: number | undefined;
  private replayBegun = false;
  /** A seq above every earlier one arrived since the last retry check: the backlog still flows. */
  private freshSeqs = false;
  /** When a due retry was first held back; undefined while none is held. */
  private gapHeldSinceMs: number | undefined;
  /** Largest value handed to storage by the planted `persistBeforeAck` fault. */
  private faultPersisted = -1;

  constructor(
    private readonly env: Env,
    private readonly wire: Wire,
    private readonly scope: string | undefined,
    initialCursor: number,
    private readonly deliver: (frame: MessageReceivedFrame) => void,
  ) {
    this.cursor = new DeliveryCursor({ seenCapacity: env.opts.seenPayloadIdsMax });
    this.cursor.reset(initialCursor);
    this.gapRetryDelayMs = env.opts.gapFillRetryInitialMs;
    env.onDeadline("gap_retry", () => this.onGapRetry());
  }

  onMessageReceived(f: MessageReceivedFrame): void {
    if (!this.inScope(f.runtimeSessionId, f.event)) return;
    this.noteArrival(f.seq);
    const d = this.cursor.onMessage(f.seq, f.messageId, !this.env.faults.noDuplicateSuppression);
    if (d.action === "drop") {
      this.env.log("debug", "connector_message_dropped", { why: d.why, seq: f.seq, messageId: f.messageId });
      return;
    }
    if (d.gapFrom !== undefined) this.requestGapFill("message_gap");
    this.deliver(f);
    this.review();
  }

  onDeliveryCursor(f: DeliveryCursorFrame): void {
    if (!this.inScope(f.runtimeSessionId, f.event)) return;
    this.cursor.noteServerHead(f.deliverySeq);
    let acked = false;
    if (f.deliveredSeq !== undefined && this.cursor.jumpTo(f.deliveredSeq)) {
      this.env.log("info", "delivery_cursor_jumped", { lastKnownSeq: this.cursor.committed });
      this.onProgress();
      acked = this.flush();
    }
    const l = this.cursor.committed;
    if (f.deliverySeq > l) {
      if (f.deliverySeq > this.cursor.contiguousTop) this.requestGapFill("delivery_cursor");
    } else if (f.deliveredSeq !== undefined && f.deliveredSeq < l && !acked) {
      // The flush above already told the server about L; a second identical ack adds nothing.
      this.reAck("delivery_cursor");
    }
    this.review();
  }

  onDeliverySkip(f: DeliverySkipFrame): void {
    if (!this.inScope(f.runtimeSessionId, f.event)) return;
    if (this.cursor.revealsHole(f.seq)) this.requestGapFill("delivery_skip");
    this.env.log("info", "delivery_skip_accepted", { seq: f.seq, messageId: f.messageId });
    this.accept(f.seq);
  }

  /** REGISTER_ACK ok: re-ack a server that is behind us, then flush what waited for the socket. */
  onRegistered(serverDeliverySeq: number | undefined): void {
    this.lastGapSince = undefined;
    this.gapQuietUntilMs = 0;
    this.forgetReplay();
    if (serverDeliverySeq !== undefined && serverDeliverySeq < this.cursor.committed)
      this.reAck("register_ack");
    this.flush();
    this.review();
  }

  onSocketClosed(): void {
    this.env.disarm(GAP_RETRY_DEADLINE);
    this.lastGapSince = undefined;
    this.gapQuietUntilMs = 0;
    this.forgetReplay();
  }

  accept(seq: number): void {
    if (this.cursor.accept(seq)) this.flush();
    else this.env.log("debug", "delivery_accept_ignored", { seq, lastKnownSeq: this.cursor.committed });
    this.review();
  }

  release(seq: number): void {
    const released = this.cursor.release(seq);
    this.env.log("debug", "delivery_seq_released", { seq, released });
    this.review();
  }

  /** Returns whether a DELIVERY_ACK was written. */
  private flush(): boolean {
    const c = this.cursor.flushCandidate();
    if (c === undefined) return false;
    if (this.env.faults.persistBeforeAck && c > this.faultPersisted) {
      this.faultPersisted = c;
      this.persist(c);
    }
    if (!this.wire.writable()) return false;
    this.wire.write(this.withScope({ event: "DELIVERY_ACK", upToSeq: c }));
    invariant(this.cursor.commit(c), `the cursor refused to commit its own flush candidate ${c}`);
    this.env.log("debug", "delivery_cursor_advanced", { lastKnownSeq: c });
    if (!this.env.faults.persistBeforeAck) this.persist(c);
    this.onProgress();
    return true;
  }

  private persist(c: number): void {
    this.env.storage({ op: "write_cursor", lastKnownSeq: c }, (ok, error) => {
      if (!ok) this.env.log("warn", "delivery_cursor_persist_failed", { lastKnownSeq: c, error });
    });
  }

  private reAck(trigger: string): void {
    if (!this.wire.writable()) return;
    const l = this.cursor.committed;
    this.wire.write(this.withScope({ event: "DELIVERY_ACK", upToSeq: l }));
    this.env.log("debug", "delivery_cursor_reacked", { lastKnownSeq: l, trigger });
  }

  /** Write REQUEST_GAP_FILL(L) unless one for the same L is still within its backoff window. */
  private requestGapFill(trigger: string): void {
    if (!this.wire.writable()) return;
    const l = this.cursor.committed;
    if (this.lastGapSince === l && this.env.nowMs < this.gapQuietUntilMs) {
      this.env.log("debug", "gap_fill_suppressed", { sinceSeq: l, trigger });
      return;
    }
    if (this.replayAwaited()) {
      this.holdGapFill(trigger);
      return;
    }
    this.wire.write(this.withScope({ event: "REQUEST_GAP_FILL", sinceSeq: l }));
    this.gapFillsSent++;
    this.env.log("debug", "gap_fill_requested", { sinceSeq: l, trigger });
    this.lastGapSince = l;
    this.replayMark = this.highestMessageSeq > l ? this.highestMessageSeq : undefined;
    this.replayBegun = false;
    this.freshSeqs = false;
    this.gapHeldSinceMs = undefined;
    this.gapQuietUntilMs = this.env.nowMs + this.gapRetryDelayMs;
    this.env.armAt(GAP_RETRY_DEADLINE, this.gapQuietUntilMs);
    this.gapRetryDelayMs = Math.min(this.gapRetryDelayMs * 2, this.env.opts.gapFillRetryMaxMs);
  }

  private onGapRetry(): void {
    if (this.wire.writable() && this.cursor.stuck()) this.requestGapFill("retry");
  }

  /** A repeat request fell due while its replay is awaited: check again in a moment instead. */
  private holdGapFill(trigger: string): void {
    const now = this.env.nowMs;
    this.gapHeldSinceMs ??= now;
    this.env.log("debug", "gap_fill_held", {
      sinceSeq: this.cursor.committed,
      replayMark: this.replayMark,
      trigger,
    });
    if (trigger !== "retry" && this.env.isArmed(GAP_RETRY_DEADLINE)) return;
    // The next check asks whether seqs above every earlier one arrived in between.
    this.freshSeqs = false;
    this.env.armAt(GAP_RETRY_DEADLINE, now + this.env.opts.gapFillRetryInitialMs);
  }

  /** The last request's replay has not begun, the server is still sending, and the hold is young. */
  private replayAwaited(): boolean {
    return (
      this.replayMark !== undefined &&
      !this.replayBegun &&
      this.freshSeqs &&
      (this.gapHeldSinceMs === undefined ||
        this.env.nowMs - this.gapHeldSinceMs < this.env.opts.gapFillRetryMaxMs)
    );
  }

  private noteArrival(seq: number | undefined): void {
    if (seq === undefined) return;
    if (this.replayMark !== undefined && seq <= this.replayMark) this.replayBegun = true;
    if (seq > this.highestMessageSeq) {
      this.highestMessageSeq = seq;
      this.freshSeqs = true;
    }
  }

  private forgetReplay(): void {
    this.highestMessageSeq = 0;
    this.replayMark = undefined;
    this.replayBegun = false;
    this.freshSeqs = false;
    this.gapHeldSinceMs = undefined;
  }

  /** Keep a retry armed while only a replay can move the cursor. */
  private review(): void {
    if (!this.wire.writable() || !this.cursor.stuck() || this.env.isArmed(GAP_RETRY_DEADLINE)) return;
    const at = Math.max(this.gapQuietUntilMs, this.env.nowMs + this.gapRetryDelayMs);
    this.env.armAt(GAP_RETRY_DEADLINE, at);
    // The wait just armed is one backoff step: the next request waits twice as long.
    this.gapRetryDelayMs = Math.min(this.gapRetryDelayMs * 2, this.env.opts.gapFillRetryMaxMs);
  }

  private onProgress(): void {
    this.gapRetryDelayMs = this.env.opts.gapFillRetryInitialMs;
    this.gapQuietUntilMs = 0;
    this.env.disarm(GAP_RETRY_DEADLINE);
  }

  private inScope(frameScope: string | undefined, type: string): boolean {
    if (frameScope === this.scope) return true;
    this.env.log("debug", "connector_frame_foreign_scope", { type, runtimeSessionId: frameScope });
    return false;
  }

  private withScope<F extends { event: "DELIVERY_ACK" | "REQUEST_GAP_FILL" }>(frame: F): F {
    return this.scope === undefined ? frame : { ...frame, runtimeSessionId: this.scope };
  }
}
