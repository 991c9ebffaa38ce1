/**
 * Routing (PROTOCOL §1.7): which registered endpoint, if any, an inbound message is for.
 *
 * 1. `target_endpoint_id` naming a registered entry (any state) wins.
 * 2. Else a `correlation_id` is looked up in the correlation rings, in registration order, skipping
 *    the sender's own endpoint when it is registered here; the first hit wins and more than one hit
 *    is reported as a collision (the caller logs `correlation_id_collision`).
 * 3. Else no match.
 * Only string-valued metadata keys count: anything else is treated as absent.
 */

import type { EndpointEntry, Registry } from "../model.ts";

export interface RoutingKeys {
  targetEndpointId?: string;
  correlationId?: string;
  sourceEndpointId?: string;
}

export type RouteDecision =
  | { kind: "endpoint"; entry: EndpointEntry; via: "target" | "correlation"; collisions: string[] }
  | { kind: "no_match" };

export function routingKeys(metadata: Record<string, unknown>): RoutingKeys {
  const str = (k: string) => (typeof metadata[k] === "string" ? (metadata[k] as string) : undefined);
  const keys: RoutingKeys = {};
  const t = str("target_endpoint_id");
  const c = str("correlation_id");
  const s = str("source_endpoint_id");
  if (t !== undefined) keys.targetEndpointId = t;
  if (c !== undefined) keys.correlationId = c;
  if (s !== undefined) keys.sourceEndpointId = s;
  return keys;
}

export function route(registry: Registry, keys: RoutingKeys): RouteDecision {
  if (keys.targetEndpointId !== undefined) {
    const entry = registry.get(keys.targetEndpointId);
    if (entry) return { kind: "endpoint", entry, via: "target", collisions: [] };
  }
  if (keys.correlationId !== undefined) {
    const skip =
      keys.sourceEndpointId !== undefined && registry.get(keys.sourceEndpointId)
        ? keys.sourceEndpointId
        : undefined;
    let first: EndpointEntry | undefined;
    const collisions: string[] = [];
    for (const e of registry.all()) {
      if (e.endpointId === skip) continue;
      if (!registry.ringHas(e.endpointId, keys.correlationId)) continue;
      if (!first) first = e;
      else collisions.push(e.endpointId);
    }
    if (first) return { kind: "endpoint", entry: first, via: "correlation", collisions };
  }
  return { kind: "no_match" };
}
