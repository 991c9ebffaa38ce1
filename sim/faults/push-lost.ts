/**
 * Push lost on an open channel: the broker writes a push to a plugin's stream, the channel stays
 * open, and the plugin never acts on it (the frame is lost between the socket and the adapter's
 * handler). Only channels that negotiated push receipts lose pushes: there the missing receipt
 * is the broker's signal to treat the push as not handed off (PROTOCOL §3.3) and to route the
 * message again, while on a receipt-less channel a lost push is invisible to any broker.
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { linkClass } from "./hub.ts";
import { Switch } from "./util.ts";

export type PushLostOptions = {
  /** Probability that a push on a receipt-capable channel is lost. */
  lostProbability: number;
};

export const pushLost: FaultModule<PushLostOptions> & { name: "push-lost" } = {
  name: "push-lost",
  description: "Loses pushes on open receipt-capable plugin channels (the channel stays open).",
  defaults: { lostProbability: 0.05 },
  swarm(s: Stream): PushLostOptions {
    return { lostProbability: round3(s.float() * 0.15) };
  },
  install(world, o, stream) {
    const sw = new Switch();
    world.faultHub.addNet((link, label) => {
      if (sw.healed || label !== "message_received" || linkClass(link) !== "ipc-down") return undefined;
      const pid = Number(link.name.slice(link.name.indexOf(":") + 1));
      const p = world.plugins.get(pid);
      if (p === undefined || !p.serverReceipts || !p.spec.behaviour.receiptCapable) return undefined;
      if (!stream.chance(o.lostProbability)) return undefined;
      world.faultHub.record("push-lost", "lost", link.name);
      return { drop: true };
    });
    return sw;
  },
};
