/**
 * Simulator speed (DESIGN §4): simulated events per second with every checker on, ms per
 * "standard seed", virtual-time compression, and checker overhead (the share of run time spent in
 * checkers: 1 − t(no checkers) / t(all checkers)). Folds in the former bench/sim-throughput.ts.
 *
 * An "event" is what the checkers see: a core input, a core output, a step boundary, a fact.
 * The standard seed is the `crash-restart` scenario in swarm mode (swarm faults, the standard
 * cast of four endpoints, one or more broker crash-restarts) when it exists, else happy-path
 * in swarm mode; the report names the one used and what its seeds drew.
 */

import { runScenario } from "../sim/run.ts";
import { SCENARIOS } from "../sim/scenarios/index.ts";
import type { Scenario } from "../sim/scenarios/scenario.ts";

export interface SimRow {
  scenario: string;
  swarm: boolean;
  runs: number;
  failures: number;
  events: number;
  virtualMs: number;
  /** With all checkers. */
  ms: number;
  /** Same seeds, no checkers. */
  msNoCheckers: number;
  eventsPerSec: number;
  msPerRun: number;
  compression: number;
  checkerOverhead: number;
}

function timeRuns(s: Scenario, seeds: number[], swarm: boolean, checkers: boolean) {
  const opts = checkers ? { swarm } : { swarm, checkers: [] };
  let events = 0;
  let virtualMs = 0;
  let failures = 0;
  const t0 = performance.now();
  for (const seed of seeds) {
    const r = runScenario(s, seed, opts);
    events += r.events;
    virtualMs += r.virtualMs;
    if (!r.ok) failures++;
  }
  return { ms: performance.now() - t0, events, virtualMs, failures };
}

export function simRow(s: Scenario, seeds: number[], swarm: boolean): SimRow {
  // Warm-up on other seeds so the JIT has seen the scenario before the clock runs.
  timeRuns(s, [90_001, 90_002], swarm, true);
  timeRuns(s, [90_001], swarm, false);
  const on = timeRuns(s, seeds, swarm, true);
  const off = timeRuns(s, seeds, swarm, false);
  return {
    scenario: s.name,
    swarm,
    runs: seeds.length,
    failures: on.failures,
    events: on.events,
    virtualMs: on.virtualMs,
    ms: on.ms,
    msNoCheckers: off.ms,
    eventsPerSec: (on.events / on.ms) * 1000,
    msPerRun: on.ms / seeds.length,
    compression: on.virtualMs / on.ms,
    checkerOverhead: 1 - off.ms / on.ms,
  };
}

export function standardScenario(): Scenario {
  return SCENARIOS.find((s) => s.name === "crash-restart") ?? SCENARIOS[0]!;
}

/** What the standard seed's runs drew (messages, faults…), from its first seed. */
export function standardDrawn(seed: number): Record<string, unknown> {
  const r = runScenario(standardScenario(), seed, { swarm: true });
  return { ...r.drawn, stats: r.stats };
}

export function simBench(seedsPerScenario: number, all: boolean): SimRow[] {
  const seeds = Array.from({ length: seedsPerScenario }, (_, i) => i + 1);
  const rows: SimRow[] = [simRow(standardScenario(), seeds, true)];
  const others = all ? SCENARIOS.filter((s) => s !== standardScenario()) : SCENARIOS.slice(0, 1);
  for (const s of others) rows.push(simRow(s, seeds, true));
  return rows;
}
