/**
 * What a scenario is: a named recipe that, from a seed, builds the world (plugins, options, actor
 * settings, faults) and schedules its workload. Scenarios draw their own choices from the
 * `scenario` and `workload` streams only, so adding a scenario knob never shifts the network or
 * broker draws.
 *
 * Faults: `setup.world.faults` is the scenario's own plan, on in every mode. In swarm mode the run
 * adds a plan drawn per seed from `swarmFaults` (sim/run.ts); the scenario's entries win where both
 * name the same fault, so a scenario keeps what it is about.
 */

import type { FaultName } from "../faults/index.ts";
import type { Streams } from "../kernel/prng.ts";
import type { World, WorldConfig } from "../kernel/world.ts";

export type WorldSetup = Omit<
  WorldConfig,
  "scenario" | "seed" | "checkers" | "recordTrace" | "brokerLog" | "decisions"
>;

export interface ScenarioSetup {
  world: WorldSetup;
  /** Virtual length of the safety phase (ms since start); the liveness phase follows. */
  durationMs: number;
  /** Schedule the workload on the freshly built world (faults are installed by `world.start()`). */
  drive(world: World): void;
  /** The drawn settings, printed in reports (the run adds the fault plan as `faults`). */
  drawn: Record<string, unknown>;
}

export interface BuildContext {
  seed: number;
  streams: Streams;
  swarm: boolean;
}

/** Virtual time the liveness phase gives the world to converge, unless a scenario says otherwise. */
export const DEFAULT_LIVENESS_BUDGET_MS = 600_000;

export interface Scenario {
  name: string;
  /** One sentence: what the scenario is for. */
  description: string;
  /**
   * Coverage events (sim/coverage/events.ts names) the scenario must make happen at least once
   * across a sweep; a sweep that misses one fails.
   */
  exercises: string[];
  /** Faults swarm mode may add to this scenario (default: every fault module). */
  swarmFaults?: readonly FaultName[];
  /** Liveness-phase budget (default `DEFAULT_LIVENESS_BUDGET_MS`, at least graceMs + 2 s). */
  livenessBudgetMs?: number;
  build(ctx: BuildContext): ScenarioSetup;
}
