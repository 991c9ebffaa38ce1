/** Shared helpers of the fault tests: bare worlds for hook-level rate checks, full scenario runs. */

import { ALL_CHECKERS } from "../../../sim/checkers/index.ts";
import type { FaultPlan } from "../../../sim/faults/index.ts";
import { withFaults } from "../../../sim/faults/with-faults.ts";
import { Streams } from "../../../sim/kernel/prng.ts";
import { World } from "../../../sim/kernel/world.ts";
import { happyPath } from "../../../sim/scenarios/happy-path.ts";

/** A world with no plugins and no workload, its faults installed (and the broker started). */
export function bareWorld(faults: FaultPlan, seed = 7): World {
  const w = new World({ scenario: "fault-test", seed, plugins: [], checkers: ALL_CHECKERS, faults });
  w.start();
  return w;
}

/** The happy path with `faults`, run to its end; the world is returned for inspection. */
export function runHappy(faults: FaultPlan | undefined, seed: number): World {
  const scenario = faults === undefined ? happyPath : withFaults(happyPath, faults);
  const setup = scenario.build({ seed, streams: new Streams(seed), swarm: false });
  const w = new World({ ...setup.world, scenario: scenario.name, seed, checkers: ALL_CHECKERS });
  setup.drive(w);
  w.runUntil(setup.durationMs);
  w.finish();
  return w;
}

/** Expect `count` of `n` trials to match probability `p` within 5 standard deviations. */
export function withinRate(count: number, n: number, p: number): boolean {
  const sd = Math.sqrt(n * p * (1 - p));
  return Math.abs(count - n * p) <= 5 * sd + 1;
}
