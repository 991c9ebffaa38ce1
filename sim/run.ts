/**
 * Run one scenario with one seed, from world construction to the end-of-run checks, and report.
 * Pure with respect to the outside world: the same (scenario, seed, options) always gives the same
 * report, trace hash included. Wall-clock timing is the caller's business (the runner's).
 */

import { ALL_CHECKERS } from "./checkers/index.ts";
import type { CheckerDef, Violation } from "./checkers/checker.ts";
import { Streams } from "./kernel/prng.ts";
import { World } from "./kernel/world.ts";
import type { Scenario } from "./scenarios/scenario.ts";
import type { LogSink } from "../src/broker/types.ts";

export interface RunOptions {
  swarm?: boolean;
  /** Keep every trace line in the result (`--trace`). */
  recordTrace?: boolean;
  checkers?: CheckerDef[];
  brokerLog?: LogSink;
}

export interface RunReport {
  scenario: string;
  seed: number;
  ok: boolean;
  /** Events shown to the checkers (core inputs and outputs, facts, lifecycle). */
  events: number;
  /** Virtual time covered, ms. */
  virtualMs: number;
  traceHash: string;
  traceLines: number;
  drawn: Record<string, unknown>;
  stats: Record<string, number>;
  violation?: Violation;
  /** Only with `recordTrace`. */
  trace?: string[];
}

export function runScenario(scenario: Scenario, seed: number, opts: RunOptions = {}): RunReport {
  // Scenario choices use their own streams of a Streams instance shared with the world, so the
  // world is built from the same seed derivation.
  const buildStreams = new Streams(seed);
  const setup = scenario.build({ seed, streams: buildStreams, swarm: opts.swarm === true });
  const world = new World({
    ...setup.world,
    scenario: scenario.name,
    seed,
    checkers: opts.checkers ?? ALL_CHECKERS,
    recordTrace: opts.recordTrace === true,
    brokerLog: opts.brokerLog,
  });
  setup.drive(world);
  world.runUntil(setup.durationMs);
  world.finish();
  const report: RunReport = {
    scenario: scenario.name,
    seed,
    ok: world.violation === undefined,
    events: world.events,
    virtualMs: world.elapsedMs,
    traceHash: world.trace.hash,
    traceLines: world.trace.count,
    drawn: setup.drawn,
    stats: {
      inbound: world.server.head,
      serverAcked: world.server.ackedSeq,
      gapFillRequests: world.server.gapFillRequests,
      outbound: world.server.outbound.length,
      dispatched: world.dispatcher.dispatched,
      controlApplied: world.dispatcher.acks.applied,
      controlFailed: world.dispatcher.acks.failed,
      replies: sum(world, "replies"),
      pushes: sum(world, "pushes"),
      brokerRestarts: world.incarnation - 1,
    },
  };
  if (world.violation) report.violation = world.violation;
  if (opts.recordTrace) report.trace = world.trace.lines;
  return report;
}

function sum(world: World, key: "replies" | "pushes"): number {
  let n = 0;
  for (const p of world.plugins.values()) n += p.stats[key];
  return n;
}
