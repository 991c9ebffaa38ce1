/**
 * conflicting-replies: adapters reuse a reply key with other content (must get 409, no post, no
 * send, A7) or resend it unchanged (must get the same result), while replies race each other.
 */

import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

export const conflictingReplies: Scenario = {
  name: "conflicting-replies",
  description: "Reply keys reused with other content (409) or resent unchanged (same result).",
  exercises: ["reply conflict 409", "reply emitted", "assignment dispatched"],
  swarmFaults: [
    "delay",
    "api",
    "send-ack",
    "duplicate",
    "client-answers",
    "client-calls",
    "malformed-request",
    "platform-answers",
    "reconnect-replies",
    "connector-errors",
  ],
  build(ctx) {
    return standardSetup(ctx, {
      behaviour: { conflictingReplyProbability: 0.3, repeatReplyProbability: 0.3, workMs: [10, 300] },
      workload: { targetedFraction: 0.1, continuationFraction: 0 },
      dispatcher: { duplicateProbability: 0.1 },
    });
  },
};
