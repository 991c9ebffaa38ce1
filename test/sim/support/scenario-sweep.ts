/** Shared body of the scenario sweep tests: run a scenario's fixed seed range and judge it. */

import { expect } from "vitest";
import { SweepSummary } from "../../../sim/coverage/sweep.ts";
import { runScenario } from "../../../sim/run.ts";
import { rerunLine } from "../../../sim/runner.ts";
import type { Scenario } from "../../../sim/scenarios/scenario.ts";

/** Seeds every scenario runs in `npm test` (non-swarm, so the runs are the scenarios' own). */
export const TEST_SEEDS = Array.from({ length: 12 }, (_, i) => i + 1);

/** Run `seeds` of `scenario`; every run must pass and every declared event must happen. */
export function sweepPasses(scenario: Scenario, seeds: readonly number[] = TEST_SEEDS, swarm = false): void {
  const sweep = new SweepSummary();
  const failures: string[] = [];
  for (const seed of seeds) {
    const r = runScenario(scenario, seed, { swarm });
    sweep.add(r);
    if (r.violation) {
      const v = r.violation;
      failures.push(`${v.invariant} (${v.kind}) seed ${seed}: ${v.message}\n  ${rerunLine(r, swarm)}`);
    }
  }
  expect(failures).toEqual([]);
  expect(sweep.gaps([scenario]).map((g) => g.event)).toEqual([]);
}
