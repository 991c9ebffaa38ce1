/**
 * Simulator speed (a project performance target): simulated events per second with every checker on, ms per
 * "standard seed", virtual-time compression, and checker overhead (the share of run time spent in
 * checkers: 1 − t(no checkers) / t(all checkers)). Folds in the former bench/sim-throughput.ts.
 *
 * An "event" is what the checkers see: a core input, a core output, a step boundary, a fact.
 * The standard seed is the `crash-restart` scenario in swarm mode (swarm faults, the standard
 * cast of four endpoints, one or more broker crash-restarts) when it exists, else happy-path
 * in swarm mode; the report names the one used and what its seeds drew.
 *
 * Two kinds of figure. The wall-clock ones (events/s, ms per run, compression, checker share) time
 * the seeds once, right after a short warm-up, as a one-off sweep in a fresh process pays for them:
 * much of that is the JIT still compiling (a block of 5 standard seeds costs about 3× as much CPU
 * right after start-up as once the JIT has settled), and all of it stretches with the machine's
 * load. The CPU ones (`process.cpuUsage`, every thread of the process) time the same seeds again
 * once warm, with and without checkers alternating, and keep each side's cheapest block: the
 * simulator's own cost per event, and far less sensitive to other processes on the machine.
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
  /** Inbound messages of the runs (the platform's head), for events per message. */
  inbound?: number;
  /** Process CPU ms of the timed runs (all checkers), cold as `ms`. */
  cpuMs?: number;
  /** Warm: the cheapest of `WARM_BLOCKS` CPU timings of the same seeds, all checkers / none. */
  warmCpuMs?: number;
  warmCpuMsNoCheckers?: number;
}

/** Timed blocks per side (checkers on, off) for the warm CPU figures, after `WARM_UP_BLOCKS`. */
const WARM_BLOCKS = 3;
const WARM_UP_BLOCKS = 2;

function timeRuns(s: Scenario, seeds: number[], swarm: boolean, checkers: boolean) {
  const opts = checkers ? { swarm } : { swarm, checkers: [] };
  let events = 0;
  let virtualMs = 0;
  let failures = 0;
  let inbound = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const seed of seeds) {
    const r = runScenario(s, seed, opts);
    events += r.events;
    virtualMs += r.virtualMs;
    inbound += r.stats.inbound ?? 0;
    if (!r.ok) failures++;
  }
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, events, virtualMs, failures, inbound };
}

/** Warm CPU ms of `seeds` with and without checkers: alternating blocks, the cheapest of each. */
function warmCpu(s: Scenario, seeds: number[], swarm: boolean): { on: number; off: number } {
  for (let i = 0; i < WARM_UP_BLOCKS; i++) {
    timeRuns(s, seeds, swarm, true);
    timeRuns(s, seeds, swarm, false);
  }
  let on = Number.POSITIVE_INFINITY;
  let off = Number.POSITIVE_INFINITY;
  for (let i = 0; i < WARM_BLOCKS; i++) {
    on = Math.min(on, timeRuns(s, seeds, swarm, true).cpuMs);
    off = Math.min(off, timeRuns(s, seeds, swarm, false).cpuMs);
  }
  return { on, off };
}

export function simRow(s: Scenario, seeds: number[], swarm: boolean, warm = false): SimRow {
  // Warm-up on other seeds so the JIT has seen the scenario before the clock runs.
  timeRuns(s, [90_001, 90_002], swarm, true);
  timeRuns(s, [90_001], swarm, false);
  const on = timeRuns(s, seeds, swarm, true);
  const off = timeRuns(s, seeds, swarm, false);
  const w = warm ? warmCpu(s, seeds, swarm) : undefined;
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
    inbound: on.inbound,
    cpuMs: on.cpuMs,
    ...(w ? { warmCpuMs: w.on, warmCpuMsNoCheckers: w.off } : {}),
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
  const rows: SimRow[] = [simRow(standardScenario(), seeds, true, true)];
  const others = all ? SCENARIOS.filter((s) => s !== standardScenario()) : SCENARIOS.slice(0, 1);
  for (const s of others) rows.push(simRow(s, seeds, true));
  return rows;
}

/** The project's simulator targets (README, Benchmarks). */
export const SIM_TARGETS = {
  eventsPerSec: 1_000_000,
  standardSeedMs: 10,
  compression: 60_000,
  checkerShare: 0.3,
} as const;

export interface SimFigure {
  what: string;
  target: string;
  now: string;
  previous: string;
  met: string;
}

/**
 * The standard seed's figures beside the project's performance targets, and beside `previous` (the standard-seed
 * row of the last bench run's JSON, when there is one) so a change shows its before and after.
 */
export function simFigures(row: SimRow, previous: SimRow | undefined): SimFigure[] {
  const n = (x: number, digits = 0) =>
    x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  const fig = (what: string, target: string, get: (r: SimRow) => string, ok: (r: SimRow) => boolean) => ({
    what,
    target,
    now: get(row),
    previous: previous ? get(previous) : "—",
    met: ok(row) ? "met" : "not met",
  });
  return [
    fig(
      "events/s per core (all checkers)",
      `≥ ${n(SIM_TARGETS.eventsPerSec)}`,
      (r) => n(r.eventsPerSec),
      (r) => r.eventsPerSec >= SIM_TARGETS.eventsPerSec,
    ),
    fig(
      "standard seed, ms per run",
      `≤ ${SIM_TARGETS.standardSeedMs}`,
      (r) => n(r.msPerRun, 1),
      (r) => r.msPerRun <= SIM_TARGETS.standardSeedMs,
    ),
    fig(
      "virtual-time compression",
      `≥ ${n(SIM_TARGETS.compression)}×`,
      (r) => `${n(r.compression)}×`,
      (r) => r.compression >= SIM_TARGETS.compression,
    ),
    fig(
      "checker share of run time",
      `≤ ${pct(SIM_TARGETS.checkerShare)}`,
      (r) => pct(r.checkerOverhead),
      (r) => r.checkerOverhead <= SIM_TARGETS.checkerShare,
    ),
    fig(
      "standard seed, CPU ms per run (warm)",
      `≤ ${SIM_TARGETS.standardSeedMs}`,
      (r) => (r.warmCpuMs === undefined ? "—" : n(r.warmCpuMs / r.runs, 1)),
      (r) => r.warmCpuMs !== undefined && r.warmCpuMs / r.runs <= SIM_TARGETS.standardSeedMs,
    ),
    fig(
      "CPU µs per event (warm, all checkers)",
      `≤ ${n(1e6 / SIM_TARGETS.eventsPerSec, 1)}`,
      (r) => (r.warmCpuMs === undefined ? "—" : n((r.warmCpuMs * 1000) / r.events, 2)),
      (r) => r.warmCpuMs !== undefined && (r.warmCpuMs * 1000) / r.events <= 1e6 / SIM_TARGETS.eventsPerSec,
    ),
    fig(
      "checker share of CPU (warm)",
      `≤ ${pct(SIM_TARGETS.checkerShare)}`,
      (r) => (r.warmCpuMs === undefined || r.warmCpuMsNoCheckers === undefined ? "—" : pct(warmShare(r))),
      (r) => r.warmCpuMs !== undefined && warmShare(r) <= SIM_TARGETS.checkerShare,
    ),
    fig(
      "CPU µs per event (cold, as timed above)",
      "—",
      (r) => (r.cpuMs === undefined ? "—" : n((r.cpuMs * 1000) / r.events, 1)),
      () => true,
    ),
    fig(
      "events per inbound message",
      "—",
      (r) => (r.inbound ? n(r.events / r.inbound) : "—"),
      () => true,
    ),
    fig(
      "events per virtual second",
      "—",
      (r) => n((r.events / r.virtualMs) * 1000),
      () => true,
    ),
    fig(
      "wall µs per event (all checkers)",
      `≤ ${n(1e6 / SIM_TARGETS.eventsPerSec, 1)}`,
      (r) => n((r.ms * 1000) / r.events, 1),
      (r) => (r.ms * 1000) / r.events <= 1e6 / SIM_TARGETS.eventsPerSec,
    ),
  ].map((f) => (f.target === "—" ? { ...f, met: "" } : f));
}

/** Share of the warm CPU time that the checkers cost: 1 − CPU(no checkers) / CPU(all). */
function warmShare(r: SimRow): number {
  return 1 - (r.warmCpuMsNoCheckers ?? 0) / (r.warmCpuMs ?? 1);
}
