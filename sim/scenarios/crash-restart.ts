/**
 * crash-restart: the broker process dies at random moments and comes back from its persisted
 * cursor; plugins reconnect and re-register; the server redelivers everything above the cursor,
 * which route claims and the platform's routed record must deduplicate.
 */

import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

export const crashRestart: Scenario = {
  name: "crash-restart",
  description: "Random broker crashes and restarts with redelivery above the persisted cursor.",
  exercises: ["broker restarted", "redelivery after restart", "reply emitted", "push acked"],
  swarmFaults: [
    "delay",
    "duplicate",
    "api",
    "push-receipt",
    "clock-jump",
    "control-reentry",
    "client-calls",
    "malformed-request",
    "platform-answers",
    "reconnect-replies",
  ],
  build(ctx) {
    const rng = ctx.streams.get("scenario");
    return standardSetup(ctx, {
      faults: {
        "broker-crash": {
          meanIntervalMs: rng.range(8_000, 25_000),
          downMinMs: 0,
          downMaxMs: 5_000,
          crashAfterAckProbability: 0,
          crashDuringCursorWriteProbability: 0,
          writeErrorProbability: 0,
        },
      },
    });
  },
};
