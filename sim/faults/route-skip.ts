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
    // A platform that said `skip` for a message keeps saying so (someone else has it), even after
    // healing: forgetting would make a later claim of the same message answer `route`.
    const skipped = new Set<string>();
    world.faultHub.addApi((op, args) => {
      if (op !== "inbound_route_claim") return undefined;
      const id = (args as { source_message_id?: string }).source_message_id ?? "";
      if (skipped.has(id)) return { ok: true, action: "skip" };
      // Only a message the platform has not already given this broker can be someone else's.
      if (sw.healed || world.api.claims.has(id) || !stream.chance(o.skipProbability)) return undefined;
      skipped.add(id);
      world.faultHub.record("route-skip", "skip", id);
      return { ok: true, action: "skip" };
    });
    return sw;
  },
};
