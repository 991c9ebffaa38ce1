/**
 * reply-outage: the connector keeps going away (closes, partitions, refused registrations) while
 * adapters reply, so replies meet an unavailable connector (503, retried with the same key, A4/A5)
 * or lose their SEND_ACK with the socket (outcome unknown).
 */

import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

export const replyOutage: Scenario = {
  name: "reply-outage",
  description: "Replies during connector outages: 503 and retry with the same key, outcome unknown.",
  exercises: ["reply during connector outage", "connector reconnect", "reply emitted"],
  swarmFaults: [
    "delay",
    "api",
    "register",
    "send-ack",
    "client-answers",
    "client-calls",
    "malformed-request",
    "platform-answers",
    "reconnect-replies",
    "connector-errors",
  ],
  build(ctx) {
    const rng = ctx.streams.get("scenario");
    return standardSetup(ctx, {
      behaviour: { workMs: [10, 500] },
      workload: { targetedFraction: 0.1, continuationFraction: 0 },
      faults: {
        disconnect: { meanIntervalMs: rng.range(2_000, 6_000), cleanWeight: 1, abruptWeight: 1 },
        partition: {
          meanIntervalMs: rng.range(10_000, 30_000),
          durationMinMs: 500,
          durationMaxMs: 8_000,
          connectorWeight: 1,
          apiWeight: 0,
          controlWeight: 0,
        },
      },
    });
  },
};
