/**
 * poison: some seqs keep failing (their inbox post is rejected transiently again and again), so the
 * broker releases them, the cursor sticks behind them and it keeps asking for gap fills — with
 * backoff, so request and replay traffic stays bounded (L2) — until they finally go through (L1).
 */

import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

export const poison: Scenario = {
  name: "poison",
  description: "Seqs that keep failing: releases, a stuck cursor and bounded gap-fill retries.",
  exercises: ["seq released", "poison seq", "gap fill retried", "gap fill suppressed"],
  swarmFaults: ["delay", "duplicate", "push-receipt"],
  build(ctx) {
    const rng = ctx.streams.get("scenario");
    return standardSetup(ctx, {
      messages: rng.range(60, 150),
      workload: { targetedFraction: 0, continuationFraction: 0, retiredTargetFraction: 0, meanGapMs: 400 },
      faults: {
        api: {
          transient5xxProbability: 0.5 + rng.float() * 0.3,
          transientOps: ["undispatched_changed"],
          lostRequestProbability: 0,
          lostResponseProbability: 0,
          terminal4xxProbability: 0,
          latencyProbability: 0,
        },
      },
      settleMs: 60_000,
    });
  },
};
