/**
 * Two delivery-path liveness fixes, checked on seeds that failed before them (docs/deviations.md).
 *
 * L1: capacity-reinsertion with retired targets (closed-endpoint lookups under inbox pressure); seed
 * 1 left the cursor stuck at 3 before inbox slots were reserved in arrival order.
 *
 * L5 with the faults that strand buffers: endpoints removed while reconnecting (`plugin`) and
 * broker restarts that orphan buffer files (`broker-crash`). Each seed below left acked messages in
 * a deleted or orphaned buffer before the broker surfaced them into its inbox (docs/deviations.md,
 * "L5 — …"); all checkers, the strict L5 among them, must pass.
 */

import { describe, expect, it } from "vitest";
import type { FaultPlan } from "../../sim/faults/index.ts";
import { Streams } from "../../sim/kernel/prng.ts";
import { runScenario } from "../../sim/run.ts";
import { capacityReinsertion } from "../../sim/scenarios/capacity-reinsertion.ts";
import { crashRestart } from "../../sim/scenarios/crash-restart.ts";
import { grace } from "../../sim/scenarios/grace.ts";
import type { Scenario } from "../../sim/scenarios/scenario.ts";

const EXTRA: FaultPlan = { plugin: true, "broker-crash": true };

/** The scenario's own fault plan wins; the extra faults fill in what it leaves off. */
function run(scenario: Scenario, seed: number) {
  const own = scenario.build({ seed, streams: new Streams(seed), swarm: false }).world.faults ?? {};
  return runScenario(scenario, seed, { faults: { ...EXTRA, ...own } });
}

describe("no buffered message is stranded by endpoint removal or a broker restart (L5)", () => {
  it.each([
    { scenario: grace, seed: 1 },
    { scenario: grace, seed: 3 },
    { scenario: crashRestart, seed: 2 },
    { scenario: crashRestart, seed: 3 },
  ])("$scenario.name seed $seed converges with every checker passing", ({ scenario, seed }) => {
    const r = run(scenario, seed);
    expect(r.violation?.message).toBeUndefined();
    expect(r.ok).toBe(true);
  });
});

describe("a seq waiting for its closed-endpoint lookup is not starved of inbox slots (L1)", () => {
  it("capacity-reinsertion seed 1 acks everything the platform sent", () => {
    const r = runScenario(capacityReinsertion, 1);
    expect(r.violation?.message).toBeUndefined();
    expect(r.ok).toBe(true);
  });
});
