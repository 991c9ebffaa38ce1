/**
 * What a scenario is: a named recipe that, from a seed, builds the world (plugins, options, actor
 * settings) and schedules its workload. Scenarios draw their own choices from the `scenario` and
 * `workload` streams only, so adding a scenario knob never shifts the network or broker draws.
 */

import type { Streams } from "../kernel/prng.ts";
import type { World, WorldConfig } from "../kernel/world.ts";

export type WorldSetup = Omit<WorldConfig, "scenario" | "seed" | "checkers" | "recordTrace" | "brokerLog">;

export interface ScenarioSetup {
  world: WorldSetup;
  /** Virtual run length (ms since start). */
  durationMs: number;
  /** Schedule the workload (and, later, faults) on the freshly built world. */
  drive(world: World): void;
  /** The drawn settings, printed in reports (swarm mode prints the drawn fault options here). */
  drawn: Record<string, unknown>;
}

export interface BuildContext {
  seed: number;
  streams: Streams;
  swarm: boolean;
}

export interface Scenario {
  name: string;
  /** One sentence: what the scenario is for. */
  description: string;
  /** Events the scenario must make happen at least once across a sweep (issue 5 coverage). */
  exercises: string[];
  build(ctx: BuildContext): ScenarioSetup;
}
