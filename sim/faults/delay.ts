/**
 * Delay: some messages take an exponentially distributed extra time on their link. On unordered
 * links (platform API requests and responses, plugin HTTP) that reorders them; on ordered links
 * (connector socket, IPC stream, control events, disk) it stalls everything behind them, as a slow
 * TCP stream does.
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { linkClass } from "./hub.ts";
import { Switch } from "./util.ts";

export type DelayOptions = {
  /** Chance that one message is delayed. */
  probability: number;
  /** Mean of the exponential extra delay. */
  meanMs: number;
  /** Cap on one extra delay. */
  maxMs: number;
  /** Link classes affected (`conn-down`, `api-res`, `ipc-down`, …). */
  linkClasses: readonly string[];
};

export const ALL_LINK_CLASSES: readonly string[] = [
  "conn-down",
  "conn-up",
  "api-req",
  "api-res",
  "control-events",
  "control-ack",
  "disk",
  "ipc-down",
  "ipc-up",
  "http-down",
  "http-up",
];

export const delay: FaultModule<DelayOptions> & { name: "delay" } = {
  name: "delay",
  description: "Adds exponential extra latency to some messages; reorders unordered links.",
  defaults: { probability: 0.1, meanMs: 300, maxMs: 10_000, linkClasses: ALL_LINK_CLASSES },
  swarm(s: Stream): DelayOptions {
    return {
      probability: round3(0.01 + s.float() * 0.3),
      meanMs: s.range(20, 2_000),
      maxMs: s.range(2_000, 20_000),
      linkClasses: ALL_LINK_CLASSES.filter(() => s.chance(0.7)),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    const classes = new Set(o.linkClasses);
    world.faultHub.addNet((link, label) => {
      if (sw.healed) return undefined;
      const cls = linkClass(link);
      if (!classes.has(cls) || !stream.chance(o.probability)) return undefined;
      const extraDelayMs = Math.min(o.maxMs, Math.round(stream.exponential(o.meanMs)));
      world.faultHub.record("delay", cls, `${label}+${extraDelayMs}`);
      return { extraDelayMs };
    });
    return sw;
  },
};
