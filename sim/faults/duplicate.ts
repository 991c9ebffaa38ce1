/**
 * Duplicate delivery: a message arrives twice, the copy up to `afterMaxMs` later (and, on an
 * ordered link, possibly after messages sent behind it), as platform replays and SSE redelivery do.
 * The broker must absorb both (S5 duplicate suppression, A9 dispatch idempotency).
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { isLifecycle, linkClass } from "./hub.ts";
import { Switch } from "./util.ts";

export type DuplicateOptions = {
  /** Platform → broker connector frames (deliveries, SEND_ACK, cursor). */
  connectorDownProbability: number;
  /** Platform → broker control events. */
  controlEventsProbability: number;
  /** The copy arrives uniformly within this many ms after the original. */
  afterMaxMs: number;
};

const CLASS_OPTION: Record<string, "connectorDownProbability" | "controlEventsProbability"> = {
  "conn-down": "connectorDownProbability",
  "control-events": "controlEventsProbability",
};

export const duplicate: FaultModule<DuplicateOptions> & { name: "duplicate" } = {
  name: "duplicate",
  description: "Delivers some connector frames and control events twice.",
  defaults: { connectorDownProbability: 0.05, controlEventsProbability: 0.05, afterMaxMs: 500 },
  swarm(s: Stream): DuplicateOptions {
    return {
      connectorDownProbability: round3(s.float() * 0.2),
      controlEventsProbability: round3(s.float() * 0.2),
      afterMaxMs: s.range(0, 3_000),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    world.faultHub.addNet((link, label) => {
      if (sw.healed || isLifecycle(label) || label === "REGISTER_ACK") return undefined;
      const cls = linkClass(link);
      const key = CLASS_OPTION[cls];
      if (key === undefined || !stream.chance(o[key])) return undefined;
      const duplicateAfterMs = stream.range(0, Math.max(0, o.afterMaxMs));
      world.faultHub.record("duplicate", cls, label);
      return { duplicateAfterMs };
    });
    return sw;
  },
};
