/**
 * Every scenario passes a fixed seed range against the reference broker and makes each of its
 * declared coverage events happen. Split over two files so vitest runs them on two workers; this
 * file also checks the registry itself.
 */

import { describe, expect, it } from "vitest";
import { coverageEvent } from "../../sim/coverage/events.ts";
import { FAULT_NAMES } from "../../sim/faults/index.ts";
import { SCENARIOS, scenarioByName } from "../../sim/scenarios/index.ts";
import { sweepPasses } from "./support/scenario-sweep.ts";

const FIRST_HALF = [
  "happy-path",
  "ack-timeouts",
  "duplicate-deliveries",
  "capacity-reinsertion",
  "out-of-order",
  "crash-after-ack",
];

describe("the scenario registry", () => {
  it("gives every scenario a unique name, a description and known coverage events", () => {
    expect(new Set(SCENARIOS.map((s) => s.name)).size).toBe(SCENARIOS.length);
    for (const s of SCENARIOS) {
      expect(s.description.length).toBeGreaterThan(10);
      expect(s.exercises.length).toBeGreaterThan(0);
      for (const e of s.exercises) expect(coverageEvent(e), `${s.name}: "${e}"`).toBeDefined();
      for (const f of s.swarmFaults ?? []) expect(FAULT_NAMES).toContain(f);
    }
  });

  it("keeps the happy path first and fault-free in swarm mode", () => {
    expect(SCENARIOS[0]!.name).toBe("happy-path");
    expect(SCENARIOS[0]!.swarmFaults).toEqual([]);
  });
});

describe("scenario sweeps (part 1)", () => {
  it.each(FIRST_HALF)(
    "%s passes its seed range and covers its declared events",
    (name) => {
      sweepPasses(scenarioByName(name)!);
    },
    180_000,
  );
});
