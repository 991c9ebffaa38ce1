/**
 * grace: plugins drop their streams and come back, some within the endpoint grace (reattach and
 * drain the buffer) and some after it (the endpoint is closed by its grace timeout, the plugin
 * registers afresh). Messages for a reconnecting endpoint are buffered meanwhile.
 */

import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

export const grace: Scenario = {
  name: "grace",
  description: "Reconnecting endpoints that come back within grace and past it.",
  exercises: [
    "buffered for reconnecting endpoint",
    "endpoint reattached",
    "grace expired",
    "dispatch to reconnecting endpoint",
  ],
  swarmFaults: [
    "delay",
    "api",
    "push-receipt",
    "duplicate",
    "client-answers",
    "client-calls",
    "malformed-request",
    "platform-answers",
    "reconnect-replies",
  ],
  build(ctx) {
    const rng = ctx.streams.get("scenario");
    const graceMs = rng.range(4_000, 10_000);
    const within = () => ({
      atMs: rng.range(5_000, 25_000),
      downMs: rng.range(100, graceMs / 2),
      mode: "reattach" as const,
    });
    const past = () => ({
      atMs: rng.range(5_000, 25_000),
      downMs: graceMs + rng.range(1_000, 5_000),
      mode: "reattach" as const,
    });
    const first = rng.chance(0.5);
    return standardSetup(ctx, {
      brokerOptions: { graceMs },
      workload: { targetedFraction: 0.6, meanGapMs: 100 },
      perPlugin: {
        101: { reconnect: first ? within() : past() },
        102: { reconnect: first ? past() : within() },
        103: { reconnect: within() },
      },
      faults: {
        plugin: {
          meanIntervalMs: rng.range(10_000, 30_000),
          channelCloseWeight: 1,
          crashWeight: 0,
          reconnectMinMs: 100,
          reconnectMaxMs: graceMs * 2,
          reattachProbability: 1,
        },
      },
      drawn: { graceMs },
    });
  },
};
