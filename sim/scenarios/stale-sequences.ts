/**
 * stale-sequences: adapters sometimes report `processing_started` with a stale `state_sequence`
 * (one they already used), and the platform records whatever arrives instead of answering 409. The
 * broker's sequence guard alone keeps the sequences the platform accepted strictly increasing
 * (A1); with the planted fault `noSequenceGuard` the stale value goes through and A1 breaks.
 */

import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

export const staleSequences: Scenario = {
  name: "stale-sequences",
  description: "Adapters report stale state sequences to a platform that does not reject them (A1).",
  exercises: ["adapter sequence raised", "assignment dispatched", "reply emitted"],
  swarmFaults: ["delay", "api", "duplicate", "push-receipt", "client-calls", "platform-answers"],
  build(ctx) {
    const rng = ctx.streams.get("scenario");
    return standardSetup(ctx, {
      behaviour: { staleSequenceProbability: 0.2 + rng.float() * 0.3 },
      platform: { sequenceCheck: "accept" },
      dispatcher: { duplicateProbability: 0.1 },
    });
  },
};
