/**
 * Delivered-source-route cache (PROTOCOL §1.8 step 4): source message id → the routed event posted
 * for it, so a redelivery of an already handed-off message re-posts the event instead of pushing a
 * second time. FIFO with a cap: the oldest entry goes first.
 */

import type { RoutedEvent } from "../api.ts";

export class RouteCache {
  private readonly map = new Map<string, RoutedEvent>();

  constructor(private readonly max: number) {}

  get size(): number {
    return this.map.size;
  }

  get(messageId: string): RoutedEvent | undefined {
    return this.map.get(messageId);
  }

  set(messageId: string, event: RoutedEvent): void {
    if (this.map.has(messageId)) this.map.delete(messageId);
    this.map.set(messageId, event);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next().value as string;
      this.map.delete(oldest);
    }
  }
}
