import { describe, expect, it } from "vitest";
import { FAULT_NAMES, type FaultPlan } from "../../../sim/faults/index.ts";
import { runHappy } from "./support.ts";

const SEED = 11;

/** Rare faults run denser here so that one happy-path run surely sees them. */
const DENSER: Record<string, Record<string, number>> = {
  disconnect: { meanIntervalMs: 5_000 },
  register: { alreadyConnectedProbability: 0.5, noAckProbability: 0.2, closeDuringRegisterProbability: 0.2 },
  "route-skip": { skipProbability: 0.3 },
  "clock-jump": { meanIntervalMs: 10_000 },
};
/** Modules that act on what another one causes run with it (resends need stream closes). */
const COMPANIONS: Record<string, FaultPlan> = {
  "reconnect-replies": { plugin: { meanIntervalMs: 3_000, channelCloseWeight: 1, crashWeight: 0 } },
};
const baseline = runHappy(undefined, SEED).trace.hash;

describe("a run with one fault module on is deterministic and stays consistent", () => {
  it.each(FAULT_NAMES)("%s: the same seed twice gives the same trace, the fault fired, no X1", (name) => {
    const plan = { ...COMPANIONS[name], [name]: DENSER[name] ?? true } as FaultPlan;
    const a = runHappy(plan, SEED);
    const b = runHappy(plan, SEED);
    expect(a.trace.hash).toBe(b.trace.hash);
    expect(a.faultHub.firedRecord()).toEqual(b.faultHub.firedRecord());
    expect(a.faultHub.count(name)).toBeGreaterThan(0);
    expect(a.trace.hash).not.toBe(baseline);
    if (COMPANIONS[name] !== undefined) {
      expect(a.trace.hash).not.toBe(runHappy(COMPANIONS[name], SEED).trace.hash);
    }
    expect(a.violation?.invariant).not.toBe("X1");
    expect(a.violation?.message ?? "").not.toMatch(/internal error|threw/);
  });

  it("a swarm plan with every fault on is deterministic too", () => {
    const plan = Object.fromEntries(FAULT_NAMES.map((n) => [n, true])) as FaultPlan;
    const a = runHappy(plan, SEED);
    const b = runHappy(plan, SEED);
    expect(a.trace.hash).toBe(b.trace.hash);
    expect(a.violation?.invariant).not.toBe("X1");
  });
});
