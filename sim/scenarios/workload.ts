/**
 * Inbound traffic for the broker's stream: a mix of targeted messages, unaddressed ones (which go
 * to the inbox and are dispatched as assignments), continuations of conversations the plugins
 * started with `/v1/send`, messages for retired endpoints, and a few the runtime mailbox dismisses
 * (DELIVERY_SKIP). Every choice is drawn from the `workload` stream when the message arrives, against
 * the platform's ground truth at that moment (which endpoints exist, which correlation ids were sent).
 */

import type { InboundSpec } from "../actors/connector-server.ts";
import type { Stream } from "../kernel/prng.ts";
import type { World } from "../kernel/world.ts";

export interface WorkloadOptions {
  messages: number;
  startAtMs: number;
  /** Mean time between arrivals (exponential). */
  meanGapMs: number;
  targetedFraction: number;
  continuationFraction: number;
  retiredTargetFraction: number;
  skipFraction: number;
  senders: number;
}

export const DEFAULT_WORKLOAD: WorkloadOptions = {
  messages: 300,
  startAtMs: 2_000,
  meanGapMs: 150,
  targetedFraction: 0.4,
  continuationFraction: 0.1,
  retiredTargetFraction: 0.05,
  skipFraction: 0.02,
  senders: 5,
};

/** Schedule the arrivals; returns the virtual time of the last one. */
export function scheduleWorkload(world: World, rng: Stream, opts: WorkloadOptions): number {
  let t = opts.startAtMs;
  for (let n = 1; n <= opts.messages; n++) {
    const at = Math.round(t);
    world.at(at, () => {
      // A dropped item draws nothing (the shrinker removes its draws from the log with it).
      if (world.config.workloadDrop?.includes(n)) return;
      // Everything this arrival sets in motion serves item n (decision-log bookkeeping only).
      world.queue.cause = n;
      // Drawn even when omitted, so a left-out item moves no later draw.
      const m = nextMessage(world, rng, opts, n);
      if (world.config.workloadOmit?.includes(n)) return;
      world.server.append(m, world.nowMs);
      world.wiring.flushServer();
    });
    t += rng.exponential(opts.meanGapMs);
  }
  return Math.round(t);
}

function nextMessage(world: World, rng: Stream, opts: WorkloadOptions, n: number): InboundSpec {
  const metadata: Record<string, unknown> = { message_id: `wire-${n}` };
  if (rng.chance(0.8)) metadata.traceparent = `00-${rng.hex(16)}-${rng.hex(8)}-01`;
  const r = rng.float();
  const continuationEdge = opts.targetedFraction + opts.continuationFraction;
  const retiredEdge = continuationEdge + opts.retiredTargetFraction;
  if (r < opts.targetedFraction) {
    const live = world.api.liveEndpoints(world.nowMs);
    if (live.length > 0) metadata.target_endpoint_id = rng.pick(live).endpointId;
  } else if (r < continuationEdge) {
    const sent = world.server.outbound.filter((o) => typeof o.metadata?.correlation_id === "string");
    if (sent.length > 0) metadata.correlation_id = rng.pick(sent).metadata!.correlation_id;
  } else if (r < retiredEdge) {
    const retired = [...world.api.endpoints.values()].filter((e) => e.retired);
    metadata.target_endpoint_id = retired.length > 0 ? rng.pick(retired).endpointId : `ep-gone-${n}`;
  }
  return {
    from: `agent://peer-${rng.int(opts.senders)}`,
    content: `message ${n}`,
    contentType: "text",
    metadata,
    skip: rng.chance(opts.skipFraction),
  };
}
