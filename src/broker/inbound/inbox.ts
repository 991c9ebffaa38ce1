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
 */

import type { Inbox, InboxRow } from "../model.ts";

/** One reserved slot. Settled once consumed or released; settling twice is a no-op. */
export interface InboxReservation {
  settled: boolean;
}

export class UndispatchedInbox implements Inbox {
  private readonly rows = new Map<string, InboxRow>();
  private reservedCount = 0;

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

  /** Hold one slot for a later `tryAdd`; undefined when rows and reservations fill the inbox. */
  reserve(): InboxReservation | undefined {
    if (this.rows.size + this.reservedCount >= this.capacity) return undefined;
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
    if (row) this.rows.delete(id);
    return row;
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
