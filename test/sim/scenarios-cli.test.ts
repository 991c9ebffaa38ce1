/**
 * The runner's sweep machinery around scenarios: the two phases, swarm plans, the drawn line,
 * the summary table and coverage matrix, and the exit codes for liveness failures and coverage gaps.
 */

import { afterEach, describe, expect, it } from "vitest";
import { SweepSummary } from "../../sim/coverage/sweep.ts";
import { runScenario } from "../../sim/run.ts";
import { EXIT_COVERAGE, EXIT_LIVENESS, EXIT_PASS, main } from "../../sim/runner.ts";
import { standardSetup } from "../../sim/scenarios/base.ts";
import { happyPath } from "../../sim/scenarios/happy-path.ts";
import { SCENARIOS, scenarioByName } from "../../sim/scenarios/index.ts";
import type { Scenario } from "../../sim/scenarios/scenario.ts";

function runMain(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), progress: false });
  return { code, out, err };
}

/** A broker whose inbox holds nothing: unaddressed messages can never be accepted. */
const wedged: Scenario = {
  name: "test-wedged-inbox",
  description: "An inbox of capacity 0, so the cursor can never pass the first unaddressed message.",
  exercises: ["inbox full"],
  swarmFaults: [],
  livenessBudgetMs: 60_000,
  build: (ctx) =>
    standardSetup(ctx, {
      messages: 20,
      brokerOptions: { inboxCapacity: 0, graceMs: 5_000 },
      workload: { targetedFraction: 0, continuationFraction: 0, retiredTargetFraction: 0 },
    }),
};

/** Declares an event its workload never produces. */
const uncovered: Scenario = {
  ...happyPath,
  name: "test-uncovered",
  exercises: ["broker restarted"],
};

afterEach(() => {
  for (const s of [wedged, uncovered]) {
    const i = SCENARIOS.indexOf(s);
    if (i >= 0) SCENARIOS.splice(i, 1);
  }
});

describe("two phases per run", () => {
  it("heals, runs the liveness budget and reports both phases", () => {
    const r = runScenario(happyPath, 7);
    expect(r.ok).toBe(true);
    expect(r.phases.liveness).toBe(true);
    expect(r.phases.livenessBudgetMs).toBeGreaterThanOrEqual(600_000);
    expect(r.virtualMs).toBeGreaterThanOrEqual(r.phases.safetyMs + r.phases.livenessBudgetMs);
    expect(r.checkers).toBe(61);
  });

  it("fails L1 and exits 3 naming what did not converge when the cursor is wedged", () => {
    const r = runScenario(wedged, 1);
    expect(r.violation?.invariant).toBe("L1");
    expect(r.violation?.kind).toBe("liveness");
    SCENARIOS.push(wedged);
    const cli = runMain(["--scenario", wedged.name, "--seed", "1"]);
    expect(cli.code).toBe(EXIT_LIVENESS);
    expect(cli.out.join("\n")).toMatch(
      /FAIL test-wedged-inbox seed 1: L1 \(liveness\).*committed cursor is stuck at 0/,
    );
  });
});

describe("swarm mode", () => {
  it("draws a fault plan per seed, within the scenario's swarm faults, and reports it", () => {
    const plans = [1, 2, 3, 4].map((seed) =>
      runScenario(scenarioByName("ack-timeouts")!, seed, { swarm: true }),
    );
    const allowed = new Set(["send-ack", ...(scenarioByName("ack-timeouts")!.swarmFaults ?? [])]);
    for (const r of plans) {
      const faults = r.drawn.faults as Record<string, unknown>;
      expect(faults["send-ack"]).toBeDefined();
      for (const k of Object.keys(faults)) expect(allowed.has(k)).toBe(true);
    }
    expect(new Set(plans.map((r) => JSON.stringify(r.drawn.faults))).size).toBeGreaterThan(1);
  });

  it("prints the drawn options on one line before a single run's other output", () => {
    const r = runMain(["--scenario", "duplicate-deliveries", "--seed", "2", "--swarm"]);
    expect(r.code).toBe(EXIT_PASS);
    expect(r.out[0]).toMatch(/^run duplicate-deliveries seed 2 drawn: \{.*"faults":\{.*"duplicate":\{/);
  });

  it("puts the drawn plan in the JSON report", () => {
    const r = runMain(["--scenario", "poison", "--seed", "3", "--swarm", "--json"]);
    const line = JSON.parse(r.out[0]!) as { drawn: { faults: Record<string, unknown> } };
    expect(line.drawn.faults.api).toBeDefined();
  });
});

describe("sweep summary and coverage", () => {
  it("prints the summary table and the coverage matrix for a sweep", () => {
    const r = runMain(["--scenario", "happy-path", "--seeds", "1..2"]);
    expect(r.code).toBe(EXIT_PASS);
    const text = r.out.join("\n");
    expect(text).toMatch(/scenario\s+seeds\s+events\s+faults injected\s+invariants\s+violations\s+coverage/);
    expect(text).toMatch(/happy-path\s+2\s+\d+\s+0\s+61\s+0\s+5\/5/);
    expect(text).toMatch(/coverage: \d+\/\d+ events seen in 2 runs/);
    expect(text).toMatch(/ {2}reply emitted\s+2\s+s1 {2}happy-path seed 1/);
  });

  it("fails a sweep with exit 5 when a declared event never happened", () => {
    SCENARIOS.push(uncovered);
    const r = runMain(["--scenario", uncovered.name, "--seeds", "1..2"]);
    expect(r.code).toBe(EXIT_COVERAGE);
    expect(r.out.join("\n")).toMatch(
      /COVERAGE test-uncovered never made "broker restarted" happen in 2 seeds/,
    );
    expect(runMain(["--scenario", uncovered.name, "--seeds", "1..2", "--no-coverage"]).code).toBe(EXIT_PASS);
  });

  it("names an undeclared coverage event as unknown", () => {
    const sweep = new SweepSummary();
    sweep.add(runScenario(happyPath, 1));
    const gaps = sweep.gaps([{ ...happyPath, exercises: ["no such event"] }]);
    expect(gaps).toEqual([{ scenario: "happy-path", event: "no such event", unknown: true, seeds: 1 }]);
  });
});
