/**
 * Undispatched inbox (PROTOCOL §1.6): an in-memory map in insertion order with a capacity.
 * Overwriting an existing id keeps its position and succeeds even when full; a new id fails at
 * capacity. There is no expiry: rows leave only through `take`.
 *
 * Reservations (L1; a deviation from the reference, see docs/deviations.md): an inbound task that
 * can only learn after a platform round trip whether its message goes to the inbox reserves a slot
 * when it starts. A reserved slot counts against the capacity for every other new id, so slots are
 * handed out in arrival order rather than to whichever task happens to ask last; the reservation is
 * consumed by that task's `tryAdd` or given back with `release`.
 *
 * Slot-freed hook: `take` tells one listener that a row left, so records waiting for a slot (the
 * assignments' capacity-full reinsertion queue, PROTOCOL §5.5) can reserve it before any new
 * inbound row does. The listener must not add rows synchronously: the caller of `take` may put its
 * row straight back.
 */

import type { Inbox, InboxRow } from "../model.ts";

/** One reserved slot. Settled once consumed or released; settling twice is a no-op. */
export interface InboxReservation {
  settled: boolean;
}

export class UndispatchedInbox implements Inbox {
  private readonly rows = new Map<string, InboxRow>();
  private reservedCount = 0;
  private slotFreed: (() => void) | undefined;
  private refused = false;

  constructor(readonly capacity: number) {}

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
    if (this.rows.size + this.reservedCount >= this.capacity) {
      if (!quiet) this.refused = true;
      return undefined;
    }
    this.reservedCount++;
    return { settled: false };
  }

  release(reservation: InboxReservation | undefined): void {
    if (!reservation || reservation.settled) return;
    reservation.settled = true;
    this.reservedCount--;
  }

  /**
   * Add or overwrite. An overwrite always succeeds (and gives back `reservation`); a new id takes
   * the reserved slot if one is given, otherwise it needs a slot no row or reservation holds.
   */
  tryAdd(row: InboxRow, reservation?: InboxReservation): boolean {
    if (this.rows.has(row.id)) {
      this.release(reservation);
      this.rows.set(row.id, row);
      return true;
    }
    if (reservation && !reservation.settled) {
      this.release(reservation);
      this.rows.set(row.id, row);
      return true;
    }
    if (this.rows.size + this.reservedCount >= this.capacity) return false;
    this.rows.set(row.id, row);
    return true;
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
