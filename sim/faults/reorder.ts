/**
 * Reorder: on an ordered link, a message ignores the link's ordering and lands up to
 * `windowMs` late, so it may overtake earlier messages or be overtaken by later ones (out-of-order
 * seqs on the connector, out-of-order dispatches on the control stream).
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { isLifecycle, linkClass } from "./hub.ts";
import { Switch } from "./util.ts";

export type ReorderOptions = {
  connectorDownProbability: number;
  connectorUpProbability: number;
  controlEventsProbability: number;
  /** Extra lateness of a reordered message, uniform in [0, windowMs]. */
  windowMs: number;
};

const CLASS_OPTION: Record<
  string,
  "connectorDownProbability" | "connectorUpProbability" | "controlEventsProbability"
> = {
  "conn-down": "connectorDownProbability",
  "conn-up": "connectorUpProbability",
  "control-events": "controlEventsProbability",
};

export const reorder: FaultModule<ReorderOptions> & { name: "reorder" } = {
  name: "reorder",
  description: "Lets some messages on ordered links overtake or be overtaken.",
  defaults: {
    connectorDownProbability: 0.05,
    connectorUpProbability: 0.02,
    controlEventsProbability: 0.05,
    windowMs: 200,
  },
  swarm(s: Stream): ReorderOptions {
    return {
      connectorDownProbability: round3(s.float() * 0.2),
      connectorUpProbability: round3(s.float() * 0.1),
      controlEventsProbability: round3(s.float() * 0.2),
      windowMs: s.range(10, 1_000),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    world.faultHub.addNet((link, label) => {
      if (sw.healed || isLifecycle(label) || label === "REGISTER_ACK" || label === "REGISTER")
        return undefined;
      const cls = linkClass(link);
      const key = CLASS_OPTION[cls];
      if (key === undefined || !stream.chance(o[key])) return undefined;
      const extraDelayMs = stream.range(0, Math.max(0, o.windowMs));
      world.faultHub.record("reorder", cls, label);
      return { reorder: true, extraDelayMs };
    });
    return sw;
  },
};
