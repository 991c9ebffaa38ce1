/**
 * Capacity-full reinsertion queue (PROTOCOL §5.5; a deviation, see docs/deviations.md).
 *
 * Theory of operation:
 * 1. A record whose message could not go back into a full inbox joins a FIFO, in failure order
 *    (one entry per key; a later failure keeps the earlier place). Its acceptance deadline is
 *    re-armed as well, so the old periodic retry still runs should the queue never be served.
 * 2. When a row leaves the inbox (`take`: dispatch, take-back, settled rows…), the queue reserves
 *    the freed slot at once through the inbox's reservation mechanism, one slot per waiting record,
 *    so new inbound rows and buffer surfacing cannot take it first. Without this, every record of
 *    an endpoint was re-armed to one instant, and an endpoint whose instant always came just after
 *    another endpoint's restores refilled the inbox never got a slot (L3).
 * 3. The reserved slots are used from a zero-delay deadline, not inside `take`: the caller of
 *    `take` may put its row straight back (a failed dispatch), and `putBack` may reclaim a held slot
 *    for that so a bounce never loses a row to the queue.
 * 4. Serving pops records in order; one that was forgotten, accepted or is back in the inbox by
 *    another path is skipped. A retry that does not consume its reservation (the restore was
 *    deferred behind an acceptance post) leaves it for the next record; left-over reservations are
 *    released once nobody waits.
 * 5. Fairness with inbound messages: strict priority let restores that cycle (restored, dispatched
 *    to a reconnecting endpoint, timed out, restored…) keep every slot and the inbound head seq
 *    never got one (L1). So when an inbound reservation was refused since the last freed slot and
 *    the queue took that slot, this one is kept for inbound (queue reservations are `quiet`: they
 *    never count as inbound demand).
 * 6. A slot left free would not wait for the refused seq: its replay comes with the connector's
 *    next gap fill, up to `gapFillRetryMaxMs` later, and buffer surfacing or a restore's safety
 *    retry took the slot first, so inbound still starved (L1). The slot is therefore kept
 *    (`Inbox.keepForInbound`): only an inbound reservation can use it. While the cursor is stuck
 *    the connector asks for a replay at least every `gapFillRetryMaxMs`; a kept slot still unused
 *    after twice that has no taker (the refused seq was settled another way) and is given back to
 *    the queue.
 */

import type { InboxReservation } from "../inbound/inbox.ts";
import type { Deadline } from "../deadline-kinds.ts";
import type { Ctx } from "./context.ts";
import type { AssignmentRecord } from "./records.ts";

const DRAIN_DEADLINE: Deadline = { kind: "reinsert_drain" };
const KEPT_LAPSE_DEADLINE: Deadline = { kind: "inbound_slot_kept" };

/** `restore` = the timeout/removal restore (posts target_lost); `before_acceptance` = adapter failure. */
export type ReinsertKind = "restore" | "before_acceptance";

export interface ReinsertEntry {
  rec: AssignmentRecord;
  reason: string;
  kind: ReinsertKind;
}

export type ReinsertRetry = (entry: ReinsertEntry, reservation: InboxReservation) => void;

export class ReinsertQueue {
  private readonly waiting = new Map<string, ReinsertEntry>();
  private readonly held: InboxReservation[] = [];
  private tookLast = false;

  constructor(
    private readonly ctx: Ctx,
    private readonly retry: ReinsertRetry,
  ) {
    ctx.deps.inbox.onSlotFreed(() => this.slotFreed());
    ctx.env.onDeadline("reinsert_drain", () => this.drain());
    ctx.env.onDeadline("inbound_slot_kept", () => this.keptLapsed());
  }

  get length(): number {
    return this.waiting.size;
  }

  enqueue(rec: AssignmentRecord, reason: string, kind: ReinsertKind): void {
    const prior = this.waiting.get(rec.key);
    if (prior && prior.rec === rec) return;
    if (prior) this.waiting.delete(rec.key);
    this.waiting.set(rec.key, { rec, reason, kind });
  }

  /** The record's message is in the inbox (or the record is gone): it no longer waits. */
  remove(rec: AssignmentRecord): void {
    if (this.waiting.get(rec.key)?.rec === rec) this.waiting.delete(rec.key);
  }

  /** Give up one held slot (for a row bounced straight back by its taker); undefined if none. */
  reclaim(): InboxReservation | undefined {
    return this.held.pop();
  }

  private slotFreed(): void {
    if (this.waiting.size <= this.held.length) return;
    const { inbox } = this.ctx.deps;
    // Fairness with inbound messages: when one was refused a slot, every other freed slot is left
    // to it, or a queue kept full by restores that cycle would keep the cursor stuck (L1).
    if (inbox.takeRefused() && this.tookLast) {
      this.tookLast = false;
      if (inbox.keepForInbound()) this.armKeptLapse();
      return;
    }
    const r = inbox.reserve(true);
    if (!r) return;
    this.held.push(r);
    this.tookLast = true;
    const { env } = this.ctx;
    if (!env.isArmed(DRAIN_DEADLINE)) env.arm(DRAIN_DEADLINE, 0);
  }

  /** Point 6: a kept slot nobody reserved within two replay periods goes back to the queue. */
  private armKeptLapse(): void {
    const { env } = this.ctx;
    env.arm(KEPT_LAPSE_DEADLINE, 2 * env.opts.gapFillRetryMaxMs);
  }

  private keptLapsed(): void {
    const { env, deps } = this.ctx;
    const freed = deps.inbox.releaseKept();
    if (freed === 0) return;
    env.log("info", "inbox_kept_slot_released", { slots: freed });
    this.tookLast = false;
    for (let i = 0; i < freed; i++) this.slotFreed();
  }

  private drain(): void {
    const { store, deps } = this.ctx;
    while (this.held.length > 0 && this.waiting.size > 0) {
      const [key, entry] = this.waiting.entries().next().value as [string, ReinsertEntry];
      this.waiting.delete(key);
      const { rec } = entry;
      if (store.get(key) !== rec || rec.accepted || rec.inInbox) continue;
      const r = this.held.shift()!;
      this.retry(entry, r);
      if (!r.settled) this.held.unshift(r);
    }
    if (this.waiting.size === 0) for (const r of this.held.splice(0)) deps.inbox.release(r);
  }
}
