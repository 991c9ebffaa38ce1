import { describe, expect, it } from "vitest";
import type { Stream } from "../../sim/kernel/prng.ts";
import { DRAW_CHANCE, DRAW_INT, Decisions } from "../../sim/shrink/decision-log.ts";
import { faultsOn, withoutFirings } from "../../sim/shrink/fault-passes.ts";
import { type ReproRun, runRepro } from "../../sim/shrink/repro.ts";
import { shrinkRun } from "../../sim/shrink/shrink.ts";

const NO = 0xffff_ffff;
/** This process's CPU time, ms (a shrink budget's clock that a loaded machine does not shorten). */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
/** The safety phase alone: these tests look at the fault plan and its firings. */
const SAFETY = { safetyOnly: true };

describe("the decision log's yes decisions", () => {
  it("notes the first draw of every chance that came out yes, and no other", () => {
    const d = new Decisions({ s: [0, 0, NO, NO, 7, 0, 0] });
    const s: Stream = d.open("s", 1);
    expect(s.chance(0.5)).toBe(true);
    expect(s.chance(0.5)).toBe(false);
    s.int(10);
    expect(s.chance(0.5)).toBe(true);
    expect(d.yes()).toEqual({ s: [0, 5] });
  });
});

describe("removing a fault firing", () => {
  const run = {
    // A firing at 0 that drew a latency (2), a "no" at 3, a firing at 5 with two draws after it.
    log: { "faults.delay": [1, 2, 40, NO, NO, 3, 4, 50, 60, NO, NO], other: [9] },
    kinds: {
      "faults.delay": [
        DRAW_CHANCE,
        DRAW_CHANCE,
        DRAW_INT,
        DRAW_CHANCE,
        DRAW_CHANCE,
        DRAW_CHANCE,
        DRAW_CHANCE,
        DRAW_INT,
        DRAW_INT,
        DRAW_CHANCE,
        DRAW_CHANCE,
      ],
      other: [DRAW_INT],
    },
    yes: { "faults.delay": [0, 5] },
  } as unknown as ReproRun;

  it("turns the decision to no and deletes the draws that served it, leaving later decisions in place", () => {
    expect(withoutFirings(run, "faults.delay", [5])["faults.delay"]).toEqual([
      1,
      2,
      40,
      NO,
      NO,
      NO,
      NO,
      NO,
      NO,
    ]);
    expect(withoutFirings(run, "faults.delay", [0, 5])["faults.delay"]).toEqual([
      NO,
      NO,
      NO,
      NO,
      NO,
      NO,
      NO,
      NO,
    ]);
  });

  it("leaves the other streams alone", () => {
    expect(withoutFirings(run, "faults.delay", [0]).other).toEqual([9]);
  });
});

describe("leaving a fault module out", () => {
  it("removes a scenario's own fault from the plan, so it never fires", () => {
    const short = { durationMs: 20_000 };
    const spec = { scenario: "crash-restart", seed: 1, swarm: false, planted: [], edits: short };
    const withCrash = runRepro(spec, undefined, undefined, SAFETY);
    expect(faultsOn(withCrash)).toContain("broker-crash");
    expect(Object.keys(withCrash.report.faultsFired).some((k) => k.startsWith("broker-crash:"))).toBe(true);
    const without = runRepro(
      { ...spec, edits: { ...short, dropFaults: ["broker-crash"] } },
      undefined,
      undefined,
      SAFETY,
    );
    expect(faultsOn(without)).not.toContain("broker-crash");
    expect(Object.keys(without.report.faultsFired).some((k) => k.startsWith("broker-crash:"))).toBe(false);
  });

  it("keeps a swarm module out of the draw without moving the other modules' draws", () => {
    const short = { durationMs: 1_000 };
    const spec = { scenario: "capacity-reinsertion", seed: 3, swarm: true, planted: [], edits: short };
    const full = runRepro(spec, undefined, undefined, SAFETY);
    const on = faultsOn(full);
    expect(on.length).toBeGreaterThan(1);
    const gone = on[0]!;
    const less = runRepro({ ...spec, edits: { ...short, dropFaults: [gone] } }, undefined, undefined, SAFETY);
    const plan = (r: ReproRun) => r.report.drawn.faults as Record<string, unknown>;
    expect(faultsOn(less)).toEqual(on.filter((f) => f !== gone));
    for (const f of faultsOn(less)) expect(plan(less)[f]).toEqual(plan(full)[f]);
  });
});

describe("the shrinker's profile", () => {
  it("accounts for every candidate it ran, pass by pass", () => {
    const r = shrinkRun(
      { scenario: "happy-path", seed: 1, swarm: false, planted: ["ackBeforeHandoff"], edits: {} },
      { timeBudgetMs: 60_000, now: cpuMs },
    );
    const passes = Object.values(r.profile);
    const tried = passes.reduce((n, p) => n + p.tried, 0);
    // Besides the passes' candidates: the original run and its cut at the (safety) violation.
    expect(tried).toBe(r.runs - 2);
    expect(passes.reduce((n, p) => n + p.accepted, 0)).toBeGreaterThan(0);
    expect(passes.reduce((n, p) => n + p.removedLines, 0)).toBe(
      r.original.size.traceLines - r.shrunk.size.traceLines,
    );
  });
});
