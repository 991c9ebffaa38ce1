/**
 * Endpoint registry (PROTOCOL §1.4): entries keyed by the platform-issued endpoint id, kept in
 * registration order (routing scans in that order), each with a FIFO correlation ring.
 *
 * The ring is a `FifoSet` because insertion order is its FIFO order; re-adding an id that is already
 * in the ring leaves its position alone (the reference ring is a set, not a recency list).
 */

import { FifoSet } from "../fifo-set.ts";
import type { EndpointEntry, Registry } from "../model.ts";

export class EndpointRegistry implements Registry {
  private readonly entries = new Map<string, EndpointEntry>();
  private readonly rings = new Map<string, FifoSet<string>>();
  private nextOrder = 0;

  constructor(private readonly ringMax: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(endpointId: string): EndpointEntry | undefined {
    return this.entries.get(endpointId);
  }

  all(): IterableIterator<EndpointEntry> {
    return this.entries.values();
  }

  /** Insert a new entry (a re-used id replaces the old entry and its ring). */
  add(entry: Omit<EndpointEntry, "order">): EndpointEntry {
    this.remove(entry.endpointId);
    const full: EndpointEntry = { ...entry, order: this.nextOrder++ };
    this.entries.set(full.endpointId, full);
    this.rings.set(full.endpointId, new FifoSet(this.ringMax));
    return full;
  }

  remove(endpointId: string): boolean {
    this.rings.delete(endpointId);
    return this.entries.delete(endpointId);
  }

  /** Entries currently bound to `channel`. */
  boundTo(channel: number): EndpointEntry[] {
    const out: EndpointEntry[] = [];
    for (const e of this.entries.values()) if (e.channel === channel) out.push(e);
    return out;
  }

  ringHas(endpointId: string, correlationId: string): boolean {
    return this.rings.get(endpointId)?.has(correlationId) ?? false;
  }

  ringAdd(endpointId: string, correlationId: string): void {
    this.rings.get(endpointId)?.add(correlationId);
  }

  ringSize(endpointId: string): number {
    return this.rings.get(endpointId)?.size ?? 0;
  }
}
