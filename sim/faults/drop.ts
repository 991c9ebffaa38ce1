/**
 * Packet drop: a message on a link is lost without the connection noticing. On the connector this
 * models frames the platform never sent or the broker never read (the cursor must stall, not skip,
 * and gap fill must recover); on the control links it models lost SSE events and lost acks.
 * Connection lifecycle (connect, open, close) is never dropped here — see `disconnect`.
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { isLifecycle, linkClass } from "./hub.ts";
import { Switch } from "./util.ts";

export type DropOptions = {
  /** Platform → broker connector frames. */
  connectorDownProbability: number;
  /** Broker → platform connector frames. */
  connectorUpProbability: number;
  /** Platform → broker control events (dispatches). */
  controlEventsProbability: number;
  /** Broker → platform control acks. */
  controlAcksProbability: number;
};

const CLASS_OPTION: Record<string, keyof DropOptions> = {
  "conn-down": "connectorDownProbability",
  "conn-up": "connectorUpProbability",
  "control-events": "controlEventsProbability",
  "control-ack": "controlAcksProbability",
};

export const drop: FaultModule<DropOptions> & { name: "drop" } = {
  name: "drop",
  description: "Loses single messages on the connector and control links without closing anything.",
  defaults: {
    connectorDownProbability: 0.02,
    connectorUpProbability: 0.01,
    controlEventsProbability: 0,
    controlAcksProbability: 0,
  },
  swarm(s: Stream): DropOptions {
    return {
      connectorDownProbability: round3(s.float() * 0.1),
      connectorUpProbability: round3(s.float() * 0.05),
      controlEventsProbability: round3(s.chance(0.3) ? s.float() * 0.05 : 0),
      controlAcksProbability: round3(s.chance(0.3) ? s.float() * 0.05 : 0),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    world.faultHub.addNet((link, label) => {
      if (sw.healed || isLifecycle(label)) return undefined;
      const key = CLASS_OPTION[linkClass(link)];
      if (key === undefined) return undefined;
      const p = o[key];
      if (!(p > 0) || !stream.chance(p)) return undefined;
      world.faultHub.record("drop", linkClass(link), label);
      return { drop: true };
    });
    return sw;
  },
};
