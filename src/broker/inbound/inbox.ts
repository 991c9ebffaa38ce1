/**
 * Undispatched inbox (PROTOCOL §1.6): a map in insertion order with a capacity, mirrored by a
 * journal on disk. Overwriting an existing id keeps its position and succeeds even when full; a new
 * id fails at capacity. There is no expiry: rows leave only through `take`.
 *
 * Durability (L9; a deviation from the reference, whose inbox lives in memory only, see
 * docs/durability.md and docs/deviations.md):
 * 1. Every add writes an `inbox_put` of the row through storage. A caller that must not report
 *    success before the row is on disk (the pipeline acks the seq) passes `onDurable` and waits.
 * 2. `take` removes a row from memory only: the row is then *held* by whoever took it (a dispatch
 *    whose hand-off is in flight) and stays in the journal, so a crash before the hand-off finds it
 *    again at start-up. `settle` records the removal (`inbox_remove`) once the message is safe
 *    elsewhere (pushed with receipt, appended to a buffer) or gone by a documented path (a settled
 *    row, an announced remove); `drop` is `take` plus `settle`.
 * 3. A restarted process gets the journal's rows back (`restore`): they are in the inbox again,
 *    nothing is told to the platform (it still holds them), and they may exceed the capacity (rows
 *    held by dispatches at the crash come back too); new ids then wait for free slots.
 * 3a. The journal also remembers the last `departedMax` settled ids (`departed`), across restarts,
 *    so a dispatch that arrives late for a row whose message already left (handed to a plugin,
 *    settled) is answered as such rather than as an unknown row: the platform can tell a row this
 *    broker handed off from one it lost.
 * 4. Without a journal (planted fault `inMemoryInbox`) nothing is written and `onDurable` runs at
 *    once: the published broker's behaviour.
 *
 * Reservations (L1; a deviation from the reference, see docs/deviations.md): an inbound task that
 * can only learn after a platform round trip whether its message goes to the inbox reserves a slot
 * when it starts. A reserved slot counts against the capacity for every other new id, so slots are
 * handed out in arrival order rather than to whichever task happens to ask last; the reservation is
 * consumed by that task's `tryAdd` or given back with `release`.
 *
 * Accepted rows always fit (point 5; a deviation from the reference, which drops a row it cannot
 * put back and announces an `undispatched_changed` remove): a row taken by a dispatch whose
 * hand-off failed goes back with `readmit`, over the capacity if need be, as restored rows do
 * (point 3). Its seq was acked and the platform still holds it, so dropping it would lose it.
 *
 * Slot-freed hook: `take` tells one listener that a row left, so records waiting for a slot (the
 * assignments' capacity-full reinsertion queue, PROTOCOL §5.5) can reserve it before any new
 * inbound row does. The listener must not add rows synchronously: the caller of `take` may put its
 * row straight back.
 *
 * Slots kept for inbound (L1): `keepForInbound` holds a free slot that only an inbound task's
 * (non-quiet) `reserve` may use. It counts as reserved for everything else, so a row added without
 * a reservation (buffer surfacing, a restore's safety retry) cannot take it while the refused
 * inbound seq waits for its replay. `releaseKept` gives kept slots back.
 */

import { FifoSet } from "../fifo-set.ts";
import type { Inbox, InboxRow } from "../model.ts";
import type { StorageOp } from "../types.ts";

/** Writes one journal operation; `cb` gets the outcome. */
export type InboxJournal = (op: StorageOp, cb: (ok: boolean) => void) => void;

/** One reserved slot. Settled once consumed or released; settling twice is a no-op. */
export interface InboxReservation {
  settled: boolean;
}

export class UndispatchedInbox implements Inbox {
  private readonly rows = new Map<string, InboxRow>();
  private reservedCount = 0;
  /** Slots among `reservedCount` kept for the next inbound reservations (`keepForInbound`). */
  private keptCount = 0;
  private slotFreed: (() => void) | undefined;
  private refused = false;
  /** Ids whose last journal write is a put (in memory or held); see point 2. */
  private readonly journaled = new Set<string>();
  private readonly departedIds: FifoSet<string>;

  constructor(
    readonly capacity: number,
    private readonly journal?: InboxJournal,
    departedMax = 4_096,
  ) {
    this.departedIds = new FifoSet(departedMax);
  }

  /** Point 3: rows (and departed ids) of the journal an earlier process left; no writes. */
  restore(rows: readonly InboxRow[], departed: readonly string[] = []): void {
    for (const id of departed) this.departedIds.add(id);
    for (const row of rows) {
      this.rows.set(row.id, row);
      if (this.journal) this.journaled.add(row.id);
    }
  }

  /** Point 3a: did a row with this id leave the inbox for good (not in it now)? */
  departed(id: string): boolean {
    return !this.rows.has(id) && !this.journaled.has(id) && this.departedIds.has(id);
  }

  /** Is `id` in the journal but not in memory: taken by a hand-off that has not settled it? */
  held(id: string): boolean {
    return this.journaled.has(id) && !this.rows.has(id);
  }

  /** Point 2: record that a taken row's message is safe elsewhere or gone for good. */
  settle(id: string): void {
    if (this.rows.has(id) || !this.journaled.has(id)) return;
    this.journaled.delete(id);
    this.departedIds.add(id);
    this.journal?.({ op: "inbox_remove", id }, () => {});
  }

  /** Take a row whose message leaves the broker for good (settled by the platform). */
  drop(id: string): InboxRow | undefined {
    const row = this.take(id);
    this.settle(id);
    return row;
  }

  get size(): number {
    return this.rows.size;
  }

  /** Slots held by reservations not yet consumed or released. */
  get reserved(): number {
    return this.reservedCount;
  }

  has(id: string): boolean {
    return this.rows.has(id);
  }

  get(id: string): InboxRow | undefined {
    return this.rows.get(id);
  }

  /** Hold one slot for a later `tryAdd`; undefined when rows and reservations fill the inbox. `quiet`: see `takeRefused`. */
  reserve(quiet = false): InboxReservation | undefined {
    if (!quiet && this.keptCount > 0) {
      // The kept slot becomes this reservation: the reserved count stays as it is.
      this.keptCount--;
      return { settled: false };
    }
    if (this.rows.size + this.reservedCount >= this.capacity) {
      if (!quiet) this.refused = true;
      return undefined;
    }
    this.reservedCount++;
    return { settled: false };
  }

  /** Keep one free slot for the next inbound `reserve`; false when no slot is free. */
  keepForInbound(): boolean {
    if (this.rows.size + this.reservedCount >= this.capacity) return false;
    this.keptCount++;
    this.reservedCount++;
    return true;
  }

  /** Slots kept for inbound and not yet taken by an inbound reservation. */
  get kept(): number {
    return this.keptCount;
  }

  /** Give back every slot kept for inbound; returns how many were freed. */
  releaseKept(): number {
    const n = this.keptCount;
    this.keptCount = 0;
    this.reservedCount -= n;
    return n;
  }

  release(reservation: InboxReservation | undefined): void {
    if (!reservation || reservation.settled) return;
    reservation.settled = true;
    this.reservedCount--;
  }

  /**
   * Add or overwrite. An overwrite always succeeds (and gives back `reservation`); a new id takes
   * the reserved slot if one is given, otherwise it needs a slot no row or reservation holds.
   * A row the journal does not hold yet is written; with `onDurable` it is written in any case and
   * `onDurable` runs once the write has its outcome (point 1). Not called when the add fails.
   */
  tryAdd(row: InboxRow, reservation?: InboxReservation, onDurable?: (ok: boolean) => void): boolean {
    if (this.rows.has(row.id)) {
      this.release(reservation);
    } else if (reservation && !reservation.settled) {
      this.release(reservation);
    } else if (this.rows.size + this.reservedCount >= this.capacity) {
      return false;
    }
    this.rows.set(row.id, row);
    this.persist(row, onDurable);
    return true;
  }

  private persist(row: InboxRow, onDurable: ((ok: boolean) => void) | undefined): void {
    if (!this.journal) {
      onDurable?.(true);
      return;
    }
    if (this.journaled.has(row.id) && !onDurable) return;
    this.journaled.add(row.id);
    this.journal({ op: "inbox_put", row }, (ok) => {
      // A failed put is written again by the next add of the id (the pipeline's redelivery).
      if (!ok) this.journaled.delete(row.id);
      onDurable?.(ok);
    });
  }

  /**
   * Put back a row the broker already accepted (taken by a dispatch that failed): it always fits,
   * even over the capacity, since the capacity limits new admissions, not rows already accepted
   * ("Accepted rows always fit" above). New ids keep being refused until the inbox is below its capacity again.
   */
  readmit(row: InboxRow): void {
    this.rows.set(row.id, row);
    this.persist(row, undefined);
  }

  take(id: string): InboxRow | undefined {
    const row = this.rows.get(id);
    if (row) {
      this.rows.delete(id);
      this.slotFreed?.();
    }
    return row;
  }

  /**
   * Whether a (non-quiet) `reserve` was refused since the last call, i.e. an inbound task wanted a
   * slot; clears the flag. Quiet reservations (the reinsertion queue's) never set it.
   */
  takeRefused(): boolean {
    const r = this.refused;
    this.refused = false;
    return r;
  }

  /** Call `fn` after every `take` that removed a row (one listener; a later call replaces it). */
  onSlotFreed(fn: () => void): void {
    this.slotFreed = fn;
  }

  values(): IterableIterator<InboxRow> {
    return this.rows.values();
  }

  ids(): string[] {
    return [...this.rows.keys()];
  }

  /** First row whose `source_message_id` is `sourceId` (list enrichment). */
  findBySource(sourceId: string): InboxRow | undefined {
    for (const r of this.rows.values()) if (r.source_message_id === sourceId) return r;
    return undefined;
  }
}
