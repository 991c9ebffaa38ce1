/**
 * A control event delivered during its own handling: the platform's event stream hands the broker
 * an event it is still working on (its control ack not yet written), as an SSE stream does when it
 * replays from a Last-Event-ID the broker had not yet acknowledged. The copy is handed to the
 * broker directly, a few ms after the original, while the original's handling (route posts, the
 * push and its receipt) is under way. The broker must join the copy to the handling in flight:
 * one set of effects and one outcome for both (A9), each delivery acked.
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { Switch } from "./util.ts";

export type ControlReentryOptions = {
  /** Probability that a delivered control event is delivered again during its handling. */
  probability: number;
  /** The copy comes uniformly within this many ms after the original. */
  withinMs: number;
};

export const controlReentry: FaultModule<ControlReentryOptions> & { name: "control-reentry" } = {
  name: "control-reentry",
  description: "Delivers a control event again while the broker is still handling it.",
  defaults: { probability: 0.2, withinMs: 20 },
  swarm(s: Stream): ControlReentryOptions {
    return { probability: round3(s.float() * 0.5), withinMs: s.range(0, 60) };
  },
  install(world, o, stream) {
    const sw = new Switch();
    world.faultHub.addControl((key, again) => {
      if (sw.healed || !stream.chance(o.probability)) return;
      const incarnation = world.incarnation;
      world.after(stream.range(0, Math.max(0, o.withinMs)), () => {
        if (sw.healed || incarnation !== world.incarnation || !world.brokerAlive) return;
        // Only a copy that finds the original still in hand is this fault; later ones are `duplicate`'s.
        if (world.wiring.controlAcked(key)) {
          world.faultHub.record("control-reentry", "handled_already", key);
          return;
        }
        world.faultHub.record("control-reentry", "during_handling", key);
        again();
      });
    });
    return sw;
  },
};
