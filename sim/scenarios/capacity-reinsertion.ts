/**
 * capacity-reinsertion: a tiny inbox, slow adapters and a short acceptance timeout, so restoring an
 * unaccepted assignment finds the inbox full and must retry (the capacity-full reinsertion loop,
 * PROTOCOL §5.5) without losing the row (A10).
 */

import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

export const capacityReinsertion: Scenario = {
  name: "capacity-reinsertion",
  description: "Tiny inbox and slow adapters: acceptance timeouts restore into a full inbox and retry.",
  exercises: ["inbox full", "acceptance timeout fired", "reinsertion at capacity", "assignment dispatched"],
  swarmFaults: ["delay", "api", "push-receipt", "push-lost", "client-calls"],
  build(ctx) {
    const rng = ctx.streams.get("scenario");
    return standardSetup(ctx, {
      brokerOptions: { inboxCapacity: rng.range(4, 8), acceptanceTimeoutMs: rng.range(1_000, 4_000) },
      // The turn adapter accepts long after the timeout, so its assignments are restored into an
      // inbox that new work keeps full. (An adapter_accepted still in flight when the timeout
      // fires races it; acceptance here is never that close.)
      perPlugin: { 102: { acceptDelayMs: [20_000, 40_000] } },
      // Retired targets need a closed-endpoint lookup before their row is added: the broker keeps
      // an inbox slot for them from arrival (L1, docs/deviations.md), or later seqs of every replay
      // burst would take the freed slots and starve the cursor.
      workload: {
        targetedFraction: 0.1,
        continuationFraction: 0,
        retiredTargetFraction: 0.05,
        meanGapMs: 80,
      },
      drawn: {},
    });
  },
};
