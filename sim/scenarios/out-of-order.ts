/**
 * out-of-order: connector frames are reordered and some are lost, so the broker sees seqs above
 * holes, asks for gap fills (S8: always from its committed cursor) and holds its ack back until the
 * holes are filled (S1).
 */

import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

export const outOfOrder: Scenario = {
  name: "out-of-order",
  description: "Reordered and lost connector frames: holes, gap fills and head-of-line acks.",
  exercises: ["out-of-order seq", "gap fill requested", "gap fill retried", "duplicate suppressed"],
  swarmFaults: ["delay", "duplicate", "hold", "push-receipt"],
  build(ctx) {
    const rng = ctx.streams.get("scenario");
    return standardSetup(ctx, {
      faults: {
        reorder: { connectorDownProbability: 0.05 + rng.float() * 0.2, windowMs: rng.range(50, 1_000) },
        drop: { connectorDownProbability: 0.02 + rng.float() * 0.05, connectorUpProbability: 0.02 },
      },
    });
  },
};
