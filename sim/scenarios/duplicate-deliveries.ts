/**
 * duplicate-deliveries: connector frames and control events arrive twice; the broker must suppress
 * duplicate payload ids (S5) and absorb repeated dispatches (A9).
 */

import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

export const duplicateDeliveries: Scenario = {
  name: "duplicate-deliveries",
  description: "Frames and control events delivered twice: duplicates suppressed, dispatches idempotent.",
  exercises: ["duplicate suppressed", "dispatch event repeated", "push acked", "reply emitted"],
  swarmFaults: ["delay", "reorder", "drop", "push-receipt"],
  build(ctx) {
    const rng = ctx.streams.get("scenario");
    return standardSetup(ctx, {
      dispatcher: { duplicateProbability: 0.2 },
      faults: {
        duplicate: {
          connectorDownProbability: 0.1 + rng.float() * 0.3,
          controlEventsProbability: 0.1 + rng.float() * 0.2,
          afterMaxMs: rng.range(0, 2_000),
        },
      },
    });
  },
};
