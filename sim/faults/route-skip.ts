/**
 * Route claim `skip`: the platform answers an inbound route claim with `skip` (another broker, or an
 * earlier attempt, already routed the message). The broker must not push the message and must
 * still let its seq count as handled.
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { Switch } from "./util.ts";

export type RouteSkipOptions = {
  skipProbability: number;
};

export const routeSkip: FaultModule<RouteSkipOptions> & { name: "route-skip" } = {
  name: "route-skip",
  description: "Answers some inbound route claims with 'skip'.",
  defaults: { skipProbability: 0.05 },
  swarm(s: Stream): RouteSkipOptions {
    return { skipProbability: round3(s.float() * 0.3) };
  },
  install(world, o, stream) {
    const sw = new Switch();
    world.faultHub.addApi((op, args) => {
      if (sw.healed || op !== "inbound_route_claim" || !stream.chance(o.skipProbability)) return undefined;
      const a = args as { source_message_id?: string };
      world.faultHub.record("route-skip", "skip", a.source_message_id);
      return { ok: true, action: "skip" };
    });
    return sw;
  },
};
