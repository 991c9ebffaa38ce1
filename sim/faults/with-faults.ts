/**
 * Run an existing scenario with a fault plan on top (sweeps, fault tests): the scenario builds its
 * world as usual, then the plan — a fixed one, or one drawn per seed in swarm mode — is added to
 * the world config and to the report's `drawn.faults`.
 */

import type { Scenario } from "../scenarios/scenario.ts";
import { type FaultName, type FaultPlan, drawSwarmPlan } from "./index.ts";

export type PlanSource = FaultPlan | { swarm: true; only?: readonly FaultName[] };

export function withFaults(base: Scenario, source: PlanSource, name = base.name): Scenario {
  return {
    ...base,
    name,
    build(ctx) {
      const setup = base.build(ctx);
      const plan: FaultPlan =
        "swarm" in source && source.swarm === true
          ? drawSwarmPlan(ctx.streams, source.only)
          : (source as FaultPlan);
      // Mutate rather than spread: a setup may define `durationMs` as a getter.
      setup.world = { ...setup.world, faults: plan };
      setup.drawn = { ...setup.drawn, faults: plan };
      return setup;
    },
  };
}
