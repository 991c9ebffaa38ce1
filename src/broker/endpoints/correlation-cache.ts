/**
 * Reply-correlation cache (PROTOCOL §1.10): correlation id → the endpoint that received the message
 * carrying it, with the receive time. `/v1/send` honours `metadata.in_reply_to` only when the id
 * resolves to the sending endpoint within the TTL.
 *
 * Theory of operation:
 * 1. A later `record` for another endpoint moves ownership (and refreshes the time).
 * 2. Each endpoint keeps at most `perEndpointMax` ids; the oldest goes first.
 * 3. Expired entries are invisible to `ownerOf` at once and physically removed by a sweep deadline
 *    (`correlation_sweep`) every max(ttl/4, 60 s). The sweep is armed only while the cache holds
 *    something, so an idle broker has no perpetual deadline.
 */

import type { Deadline } from "../deadline-kinds.ts";
import type { Env } from "../env.ts";
import type { ReplyCorrelations } from "../model.ts";

const SWEEP_DEADLINE: Deadline = { kind: "correlation_sweep" };
const SWEEP_FLOOR_MS = 60_000;

interface Owner {
  endpointId: string;
  atMs: number;
}

export class CorrelationCache implements ReplyCorrelations {
  private readonly owners = new Map<string, Owner>();
  private readonly byEndpoint = new Map<string, Set<string>>();

  constructor(
    private readonly env: Env,
    private readonly ttlMs: number,
    private readonly perEndpointMax: number,
  ) {
    env.onDeadline("correlation_sweep", () => {
      this.sweep();
      if (this.owners.size > 0) this.armSweep();
    });
  }

  get size(): number {
    return this.owners.size;
  }

  record(correlationId: string, endpointId: string): void {
    const prev = this.owners.get(correlationId);
    if (prev) this.byEndpoint.get(prev.endpointId)?.delete(correlationId);
    this.owners.set(correlationId, { endpointId, atMs: this.env.nowMs });
    let ids = this.byEndpoint.get(endpointId);
    if (!ids) {
      ids = new Set();
      this.byEndpoint.set(endpointId, ids);
    }
    ids.add(correlationId);
    while (ids.size > this.perEndpointMax) {
      const oldest = ids.values().next().value as string;
      ids.delete(oldest);
      this.owners.delete(oldest);
    }
    this.armSweep();
  }

  ownerOf(correlationId: string): string | undefined {
    const o = this.owners.get(correlationId);
    if (!o || this.env.nowMs - o.atMs >= this.ttlMs) return undefined;
    return o.endpointId;
  }

  forgetEndpoint(endpointId: string): void {
    const ids = this.byEndpoint.get(endpointId);
    if (!ids) return;
    for (const id of ids) this.owners.delete(id);
    this.byEndpoint.delete(endpointId);
  }

  sweep(): void {
    const now = this.env.nowMs;
    for (const [id, o] of this.owners) {
      if (now - o.atMs < this.ttlMs) continue;
      this.owners.delete(id);
      const ids = this.byEndpoint.get(o.endpointId);
      ids?.delete(id);
      if (ids && ids.size === 0) this.byEndpoint.delete(o.endpointId);
    }
  }

  stop(): void {
    this.env.disarm(SWEEP_DEADLINE);
  }

  private armSweep(): void {
    if (this.env.stopped || this.env.isArmed(SWEEP_DEADLINE)) return;
    this.env.arm(SWEEP_DEADLINE, Math.max(this.ttlMs / 4, SWEEP_FLOOR_MS));
  }
}
