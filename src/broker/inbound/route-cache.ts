/**
 * Delivered-source-route cache (PROTOCOL §1.8 step 4): source message id → the routed event posted
 * for it, so a redelivery of an already handed-off message re-posts the event instead of pushing a
 * second time. FIFO with a cap: the entry set longest ago goes first (setting an id again makes it
 * the newest).
 *
 * The FIFO order is a queue of (id, stamp) pairs rather than the map's own insertion order: finding
 * a `Map`'s oldest key walks past every deleted slot V8 has not yet compacted, which made each
 * eviction cost grow with the cap. A queue pair whose stamp no longer matches the map's entry is a
 * leftover of an id that was set again, and is skipped.
 */

import type { RoutedEvent } from "../api.ts";

interface Entry {
  event: RoutedEvent;
  stamp: number;
}

export class RouteCache {
  private readonly map = new Map<string, Entry>();
  private ids: string[] = [];
  private stamps: number[] = [];
  private head = 0;
  private nextStamp = 0;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  get(messageId: string): RoutedEvent | undefined {
    return this.map.get(messageId)?.event;
  }

  set(messageId: string, event: RoutedEvent): void {
    const stamp = this.nextStamp++;
    this.map.set(messageId, { event, stamp });
    this.ids.push(messageId);
    this.stamps.push(stamp);
    while (this.map.size > this.max) {
      const id = this.ids[this.head]!;
      const s = this.stamps[this.head]!;
      this.head++;
      if (this.map.get(id)?.stamp === s) this.map.delete(id);
    }
    this.compact();
  }

  /**
   * Keep the queue within a constant factor of the map: drop its consumed front, and the leftovers
   * of ids set again, once they outweigh the live pairs.
   */
  private compact(): void {
    const pending = this.ids.length - this.head;
    const live = this.map.size;
    if (this.head < Math.max(1_024, live) && pending <= 2 * live + 1_024) return;
    const ids: string[] = [];
    const stamps: number[] = [];
    for (let i = this.head; i < this.ids.length; i++) {
      const id = this.ids[i]!;
      const stamp = this.stamps[i]!;
      if (this.map.get(id)?.stamp !== stamp) continue;
      ids.push(id);
      stamps.push(stamp);
    }
    this.ids = ids;
    this.stamps = stamps;
    this.head = 0;
  }
}
