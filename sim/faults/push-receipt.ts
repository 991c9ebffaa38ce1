/**
 * Push receipt faults: a plugin's `push_ack` for a push is lost on its way back, or arrives late
 * (around the broker's `pushReceiptTimeoutMs`). The broker must treat a missing receipt as "not
 * handed off" and must ignore a receipt for a push it already gave up on.
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { linkClass } from "./hub.ts";
import { Switch, between } from "./util.ts";

export type PushReceiptOptions = {
  lostProbability: number;
  lateProbability: number;
  lateMinMs: number;
  lateMaxMs: number;
};

export const pushReceipt: FaultModule<PushReceiptOptions> & { name: "push-receipt" } = {
  name: "push-receipt",
  description: "Loses or delays plugins' push receipts (push_ack).",
  defaults: { lostProbability: 0.05, lateProbability: 0.05, lateMinMs: 500, lateMaxMs: 5_000 },
  swarm(s: Stream): PushReceiptOptions {
    const lateMinMs = s.range(0, 3_000);
    return {
      lostProbability: round3(s.float() * 0.2),
      lateProbability: round3(s.float() * 0.2),
      lateMinMs,
      lateMaxMs: lateMinMs + s.range(0, 6_000),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    world.faultHub.addNet((link, label) => {
      // Plugins write only push acks on their stream ("message"); open/close are lifecycle.
      if (sw.healed || label !== "message" || linkClass(link) !== "ipc-up") return undefined;
      const r = stream.float();
      if (r < o.lostProbability) {
        world.faultHub.record("push-receipt", "lost", link.name);
        return { drop: true };
      }
      if (r < o.lostProbability + o.lateProbability) {
        const extraDelayMs = between(stream, o.lateMinMs, o.lateMaxMs);
        world.faultHub.record("push-receipt", "late", `${link.name} +${extraDelayMs}ms`);
        return { extraDelayMs };
      }
      return undefined;
    });
    return sw;
  },
};
