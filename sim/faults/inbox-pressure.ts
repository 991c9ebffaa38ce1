/**
 * Inbox pressure: the broker runs with small capacities (undispatched inbox, retry-emitter queues),
 * so capacity-full reinsertion, overflow and back-pressure paths run. A capacity is a setting, not
 * an outage: heal leaves it as it is. A value of 0 leaves that option at its configured value.
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { Switch } from "./util.ts";

export type InboxPressureOptions = {
  inboxCapacity: number;
  emitterQueueMax: number;
  transitionQueueMax: number;
};

export const inboxPressure: FaultModule<InboxPressureOptions> & { name: "inbox-pressure" } = {
  name: "inbox-pressure",
  description: "Shrinks the inbox and queue capacities of the broker.",
  defaults: { inboxCapacity: 4, emitterQueueMax: 0, transitionQueueMax: 0 },
  swarm(s: Stream): InboxPressureOptions {
    return {
      inboxCapacity: s.range(1, 32),
      emitterQueueMax: s.chance(0.3) ? s.range(1, 64) : 0,
      transitionQueueMax: s.chance(0.3) ? s.range(1, 64) : 0,
    };
  },
  install(world, o) {
    const opts = world.options as { -readonly [K in keyof typeof world.options]: (typeof world.options)[K] };
    if (world.brokerAlive) throw new Error("inbox-pressure must be installed before the broker starts");
    if (o.inboxCapacity > 0) opts.inboxCapacity = o.inboxCapacity;
    if (o.emitterQueueMax > 0) opts.emitterQueueMax = o.emitterQueueMax;
    if (o.transitionQueueMax > 0) opts.transitionQueueMax = o.transitionQueueMax;
    world.faultHub.record("inbox-pressure", "capacity", `inbox ${opts.inboxCapacity}`);
    return new Switch();
  },
};
