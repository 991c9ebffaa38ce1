/**
 * ack-timeouts: the platform withholds some SEND_ACKs and sends others late, so assignment replies
 * end outcome-unknown (the broker must never send them twice, A4) and late acks must be ignored.
 */

import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

export const ackTimeouts: Scenario = {
  name: "ack-timeouts",
  description:
    "SEND_ACKs withheld or late: replies end outcome-unknown, late acks are ignored, nothing is sent twice.",
  exercises: ["ack timeout fired", "late SEND_ACK ignored", "reply outcome unknown", "reply emitted"],
  swarmFaults: ["delay", "api", "push-receipt", "clock-jump", "push-lost", "malformed-request"],
  build(ctx) {
    const rng = ctx.streams.get("scenario");
    return standardSetup(ctx, {
      brokerOptions: { sendAckTimeoutMs: rng.range(2_000, 6_000) },
      faults: {
        "send-ack": {
          withholdProbability: 0.1 + rng.float() * 0.2,
          lateProbability: 0.1 + rng.float() * 0.2,
          lateMinMs: 1_000,
          lateMaxMs: 12_000,
        },
      },
    });
  },
};
