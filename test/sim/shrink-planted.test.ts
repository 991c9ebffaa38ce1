/**
 * Issue 6's bar, per planted fault: the run `--plant NAME --shrink` shrinks (the first failing seed
 * of the planted-faults sweep, seed 1) becomes a repro of at most 25 events that replays with the
 * same invariant, and keeps that invariant once the bug is removed (the same repro without the
 * plant, on the reference core, that invariant checked alone): the shrinker never makes the world so unfair that a correct broker fails too.
 * Wall time is not asserted (benchmarks measure speed); the budget counts this process's CPU time
 * (each test file runs in a process of its own), so a loaded CI machine does not cut the search
 * short, and `outOfTime` says whether it did.
 */

import { describe, expect, it } from "vitest";
import { runRepro } from "../../sim/shrink/repro.ts";
import type { PlantedFaultName } from "../../sim/shrink/setup.ts";
import { shrinkRun } from "../../sim/shrink/shrink.ts";

/** This process's CPU time, ms: the shrink budget's clock. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const CASES: Array<{ fault: PlantedFaultName; scenario: string; invariant: string }> = [
  { fault: "ackBeforeHandoff", scenario: "happy-path", invariant: "S1" },
  { fault: "persistBeforeAck", scenario: "happy-path", invariant: "S3" },
  { fault: "forgetReplyRecords", scenario: "conflicting-replies", invariant: "A3" },
  { fault: "noDuplicateSuppression", scenario: "duplicate-deliveries", invariant: "S5" },
  { fault: "silentInboxLoss", scenario: "capacity-reinsertion", invariant: "A10" },
  { fault: "noSequenceGuard", scenario: "stale-sequences", invariant: "A1" },
];

describe("shrinking each planted fault's failing run", () => {
  it.each(CASES)(
    "$fault ($scenario seed 1) shrinks to at most 25 events that still break $invariant and pass without the bug",
    ({ fault, scenario, invariant }) => {
      const r = shrinkRun(
        { scenario, seed: 1, swarm: false, planted: [fault], edits: {} },
        { timeBudgetMs: 60_000, now: cpuMs },
      );
      expect(r.invariant).toBe(invariant);
      expect(r.outOfTime).toBe(false);
      expect(r.shrunk.size.events).toBeLessThanOrEqual(25);
      const again = runRepro(r.spec);
      expect(again.report.violation?.invariant).toBe(invariant);
      expect(again.report.traceHash).toBe(r.shrunk.report.traceHash);
      const fixed = runRepro({ ...r.spec, planted: [], checkers: [invariant] });
      expect(fixed.report.violation).toBeUndefined();
    },
    120_000,
  );
});
