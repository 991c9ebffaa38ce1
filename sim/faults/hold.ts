/**
 * Hold and release: from time to time one live link stops delivering for a while (a stalled TCP
 * stream, a paused process, a slow disk) and then delivers everything it parked, in order, at once.
 * Nothing is lost; everything behind the stall is late.
 */

import type { Stream } from "../kernel/prng.ts";
import type { Link } from "../network/network.ts";
import type { FaultModule } from "./fault.ts";
import { linkClass } from "./hub.ts";
import { ALL_LINK_CLASSES } from "./delay.ts";
import { Switch, between, periodic } from "./util.ts";

export type HoldOptions = {
  /** Mean time between two holds. */
  meanIntervalMs: number;
  holdMinMs: number;
  holdMaxMs: number;
  /** Link classes a hold may pick from. */
  linkClasses: readonly string[];
};

export const hold: FaultModule<HoldOptions> & { name: "hold" } = {
  name: "hold",
  description: "Stalls one link at a time for a while, then releases everything it parked.",
  defaults: { meanIntervalMs: 15_000, holdMinMs: 100, holdMaxMs: 5_000, linkClasses: ALL_LINK_CLASSES },
  swarm(s: Stream): HoldOptions {
    const holdMinMs = s.range(10, 1_000);
    return {
      meanIntervalMs: s.range(2_000, 60_000),
      holdMinMs,
      holdMaxMs: holdMinMs + s.range(0, 15_000),
      linkClasses: ALL_LINK_CLASSES.filter(() => s.chance(0.7)),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    const classes = new Set(o.linkClasses);
    const mine = new Set<Link>();
    sw.onHeal(() => {
      for (const l of mine) l.release();
      mine.clear();
    });
    periodic(world, stream, o.meanIntervalMs, sw, () => {
      const candidates = [...world.network.all()].filter((l) => classes.has(linkClass(l)) && !l.holding);
      if (candidates.length === 0) return;
      const link = stream.pick(candidates);
      const forMs = between(stream, o.holdMinMs, o.holdMaxMs);
      link.hold();
      mine.add(link);
      world.faultHub.record("hold", linkClass(link), `${link.name} ${forMs}ms`);
      world.after(forMs, () => {
        if (!mine.delete(link)) return;
        link.release();
      });
    });
    return sw;
  },
};
