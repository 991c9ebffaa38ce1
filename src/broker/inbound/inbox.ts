/**
 * Undispatched inbox (PROTOCOL §1.6): an in-memory map in insertion order with a capacity.
 * Overwriting an existing id keeps its position and succeeds even when full; a new id fails at
 * capacity. There is no expiry: rows leave only through `take`.
 */

import type { Inbox, InboxRow } from "../model.ts";

export class UndispatchedInbox implements Inbox {
  private readonly rows = new Map<string, InboxRow>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.rows.size;
  }

  has(id: string): boolean {
    return this.rows.has(id);
  }

  get(id: string): InboxRow | undefined {
    return this.rows.get(id);
  }

  tryAdd(row: InboxRow): boolean {
    if (this.rows.has(row.id)) {
      this.rows.set(row.id, row);
      return true;
    }
    if (this.rows.size >= this.capacity) return false;
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
