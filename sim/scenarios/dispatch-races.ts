/**
 * dispatch-races: the platform re-dispatches rows (after failed acks or lost targets), repeats
 * dispatch events, and dispatches to endpoints that are closing or already gone, while adapters
 * accept late. One message must never end up bound twice (A9, A10, A11).
 */

import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

export const dispatchRaces: Scenario = {
  name: "dispatch-races",
  description: "Re-dispatch, repeated dispatch events and dispatch to closing endpoints.",
  exercises: [
    "re-dispatch",
    "dispatch event repeated",
    "dispatch to reconnecting endpoint",
    "acceptance timeout fired",
  ],
  swarmFaults: [
    "delay",
    "api",
    "duplicate",
    "push-receipt",
    "control-reentry",
    "push-lost",
    "client-answers",
    "client-calls",
    "malformed-request",
    "platform-answers",
    "reconnect-replies",
  ],
  build(ctx) {
    const rng = ctx.streams.get("scenario");
    return standardSetup(ctx, {
      brokerOptions: { acceptanceTimeoutMs: rng.range(1_500, 5_000), graceMs: rng.range(3_000, 8_000) },
      behaviour: { acceptDelayMs: [5, 6_000] },
      workload: { targetedFraction: 0.1, continuationFraction: 0 },
      dispatcher: { duplicateProbability: 0.3, retryDelayMs: 300 },
      faults: {
        plugin: {
          meanIntervalMs: rng.range(4_000, 12_000),
          channelCloseWeight: 3,
          crashWeight: 1,
          reconnectMinMs: 50,
          reconnectMaxMs: 10_000,
          reattachProbability: 0.5,
          restartMinMs: 500,
          restartMaxMs: 5_000,
        },
      },
    });
  },
};
