/**
 * soak: a long day with every fault module on (defaults, or drawn per seed in swarm mode) and a
 * larger workload. It is here to find what the focused scenarios did not think of.
 *
 * `inbox-pressure` with `broker-crash` once wedged the cursor (L1): a seq handled before a crash but
 * not yet acked is redelivered after the restart and re-added to the broker's inbox, where it
 * waited forever for a dispatch the platform (whose row was done) would never send. The platform
 * now answers such an add `undispatched_row_settled` and the broker drops the row (PROTOCOL §1.8
 * deviation, docs/deviations.md), so every fault module runs here.
 *
 * Liveness budget: graceMs + 600 s instead of the default 600 s. Plugins that re-register after a
 * channel loss leave their old endpoints `reconnecting`, and they stay so for graceMs (600 s) after
 * the heal. The platform keeps dispatching to them (they still heartbeat); each such dispatch holds
 * its row for the acceptance timeout, so with a 4–13-slot inbox the cursor crawls until the last
 * orphan closes and only then drains the backlog (runs used to end mid-crawl and fail L1). That is
 * the protocol working as specified, so the world gets the time it needs rather than a weaker L1.
 */

import { FAULT_NAMES, SWARM_ONLY_FAULTS, type FaultPlan } from "../faults/index.ts";
import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

/** Outside swarm mode: every module of the original set (the newer client and channel modules are swarm-drawn only). */
const SOAK_FAULTS = FAULT_NAMES.filter((n) => !SWARM_ONLY_FAULTS.includes(n));

export const soak: Scenario = {
  name: "soak",
  description: "A long run with every fault on.",
  livenessBudgetMs: 1_200_000, // graceMs + 600 s: see the module comment
  exercises: [
    "broker restarted",
    "connector reconnect",
    "duplicate suppressed",
    "gap fill requested",
    "reply emitted",
  ],
  build(ctx) {
    const rng = ctx.streams.get("scenario");
    // Outside swarm mode every fault runs at its defaults; swarm mode draws the plan instead.
    const faults: FaultPlan = ctx.swarm ? {} : Object.fromEntries(SOAK_FAULTS.map((n) => [n, true]));
    return standardSetup(ctx, {
      messages: rng.range(600, 1_000),
      dispatcher: { duplicateProbability: 0.05 },
      behaviour: { conflictingReplyProbability: 0.05, repeatReplyProbability: 0.05 },
      faults,
    });
  },
};
