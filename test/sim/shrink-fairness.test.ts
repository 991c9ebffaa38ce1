import { describe, expect, it } from "vitest";
import { resolveOptions } from "../../src/broker/options.ts";
import {
  LIVENESS_FLOORS,
  ORACLE_LIVENESS_FLOORS,
  optionFloor,
  SAFETY_FLOORS,
} from "../../sim/shrink/floors.ts";
import type { ReproSpec } from "../../sim/shrink/repro.ts";
import { shrinkRun } from "../../sim/shrink/shrink.ts";

const start: ReproSpec = {
  scenario: "happy-path",
  seed: 1,
  swarm: false,
  planted: ["ackBeforeHandoff"],
  edits: {},
};

describe("the fairness oracle", () => {
  it("keeps every candidate it rejects out of the repro, however small", { timeout: 60_000 }, () => {
    const r = shrinkRun(start, { timeBudgetMs: 5_000, fair: () => false });
    expect(r.unfair).toBeGreaterThan(0);
    expect(r.shrunk.size.events).toBe(r.original.size.events);
  });

  it("is asked about each smaller failing candidate with its invariant checked alone", () => {
    const asked: ReproSpec[] = [];
    const r = shrinkRun(start, {
      timeBudgetMs: 60_000,
      fair: (spec) => {
        asked.push(spec);
        return true;
      },
    });
    expect(asked.length).toBeGreaterThan(0);
    for (const spec of asked) expect(spec.checkers).toEqual([r.invariant]);
    expect(r.unfair).toBe(0);
    expect(r.shrunk.size.events).toBeLessThan(r.original.size.events);
  });

  it("defaults, for a planted fault, to the same run without the plant", () => {
    const r = shrinkRun(start, { timeBudgetMs: 60_000 });
    expect(r.shrunk.size.events).toBeLessThanOrEqual(25);
    expect(r.unfair).toBe(0);
  });
});

describe("the inbox capacity floor", () => {
  it("never lets a liveness repro's inbox hold fewer messages than the run sends", () => {
    const o = resolveOptions({});
    expect(optionFloor("inboxCapacity", o, 5)).toBe(5);
    expect(LIVENESS_FLOORS.option("inboxCapacity", o, 0)).toBe(1);
    expect(LIVENESS_FLOORS.option("inboxCapacity", o, 12)).toBe(12);
    // A safety invariant holds at every capacity, however small.
    expect(SAFETY_FLOORS.option("inboxCapacity", o, 12)).toBe(1);
  });

  it("gives way to the fairness oracle, while the timing floors stay", () => {
    const o = resolveOptions({});
    expect(ORACLE_LIVENESS_FLOORS.option("inboxCapacity", o, 12)).toBe(1);
    for (const k of ["graceMs", "acceptanceTimeoutMs"] as const)
      expect(ORACLE_LIVENESS_FLOORS.option(k, o, 12)).toBe(LIVENESS_FLOORS.option(k, o, 12));
    expect(ORACLE_LIVENESS_FLOORS.livenessBudgetMs(o)).toBe(LIVENESS_FLOORS.livenessBudgetMs(o));
  });
});
