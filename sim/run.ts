/**
 * Run one scenario with one seed, from world construction to the end-of-run checks, and report.
 * Pure with respect to the outside world: the same (scenario, seed, options) always gives the same
 * report, trace hash included. Wall-clock timing is the caller's business (the runner's).
 *
 * Theory of operation:
 * 1. The fault plan is the scenario's own plan, plus (swarm mode) a plan drawn from the seed over
 *    the scenario's `swarmFaults`; the scenario's entries win. The plan is part of `drawn`.
 * 2. Safety phase: the world runs with its faults for the scenario's `durationMs`; every checker
 *    watches online.
 * 3. Liveness phase: a `liveness_begin` fact, then every fault is healed (`healAll`; a broker left
 *    down is restarted; the server announces its head with DELIVERY_CURSOR) and the world runs
 *    for the liveness budget with no new faults. A
 *    `liveness_end` fact carrying the platform's head and the final `quiescent` event let the
 *    liveness checkers (L1–L6) judge whether it converged.
 * 3a. The phase extends while the world still makes progress: if the committed cursor or the
 *    platform's finished rows moved during the budget's last progress window, it runs on one
 *    window at a time until a window passes with no movement, up to a hard cap of
 *    `LIVENESS_CAP_FACTOR` times the budget in all. A draining world (a small inbox feeding its
 *    reinsertion queue through one slot, each row waiting out the platform's re-dispatch backoff)
 *    converges; a stalled one fails one window after the budget, as before; a slow creep is judged
 *    at the cap. The window is two of a draining row's slowest cycles (an acceptance timeout plus
 *    the platform's re-dispatch backoff ceiling). A budget shorter than two windows (a shrunk
 *    repro's) is not extended.
 * 4. A coverage probe rides along (sim/coverage/probe.ts) and the report carries the catalogued
 *    events that happened, for the runner's coverage matrix.
 */

import type { PlantedFaults } from "../src/broker/options.ts";
import type { LogSink } from "../src/broker/types.ts";
import type { CheckerDef, Violation } from "./checkers/checker.ts";
import { ALL_CHECKERS } from "./checkers/index.ts";
import { GRACE_SLACK_MS } from "./checkers/liveness/l4-grace-closure.ts";
import { countEvents } from "./coverage/events.ts";
import { CoverageProbe } from "./coverage/probe.ts";
import { drawSwarmPlan, type FaultPlan, healAll } from "./faults/index.ts";
import { type StreamFactory, Streams } from "./kernel/prng.ts";
import { World } from "./kernel/world.ts";
import { type ForkPoint, ForkStreams } from "./explore/fork.ts";
import { DEFAULT_LIVENESS_BUDGET_MS, type Scenario } from "./scenarios/scenario.ts";
import { applicableCheckers, DEFAULT_TARGET } from "./targets/index.ts";
import type { TargetKind } from "./targets/target.ts";

export interface RunOptions {
  swarm?: boolean;
  /** Keep every trace line in the result (`--trace`). */
  recordTrace?: boolean;
  checkers?: CheckerDef[];
  brokerLog?: LogSink;
  /**
   * Where the draws come from: a `Decisions` of `sim/shrink/decision-log.ts` records every
   * draw, or replays them from a log instead of the seeded generators. Absent = plain seeded run.
   */
  decisions?: StreamFactory;
  /** Test-only broker bugs to plant (`--plant`), merged over the scenario's own. */
  plantedFaults?: Partial<PlantedFaults>;
  /** Replace the run's fault plan (scenario + swarm) with this one. */
  faults?: FaultPlan;
  /** The broker under test (default: the reference core). */
  target?: TargetKind;
  /** Fork this run from the seed's run at a fork point (sim/explore/fork.ts); not with `decisions`. */
  fork?: ForkPoint;
  /** Swarm mode: draw the fault plan from this seed's swarm streams instead of the run's own. */
  swarmFrom?: number;
  /** Report, per coverage event, the event count when it first happened (`coverageFirstAt`). */
  coverageFirstAt?: boolean;
  /** Called with the drawn settings (fault plan included) before the world starts. */
  onDrawn?: (drawn: Record<string, unknown>) => void;
  /**
   * End the run with its safety phase: no heal, no liveness phase, no end-of-run judgement.
   * For a question about the safety phase alone (the shrinker's fairness check of a safety
   * violation that happened there).
   */
  safetyOnly?: boolean;
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
  /** The scenario's drawn settings plus `faults`, the fault plan of the run. */
  drawn: Record<string, unknown>;
  /** Planted broker faults of the run, by name (sorted). */
  planted: string[];
  /**
   * Virtual ms of the safety phase, the liveness budget that followed it, and how far the liveness
   * phase ran past that budget because the world was still making progress (theory, point 3a).
   */
  phases: { safetyMs: number; livenessBudgetMs: number; livenessExtendedMs: number; liveness: boolean };
  /** Invariants checked (checkers run on every event). */
  checkers: number;
  /** The target's name, and the checkers left out because it cannot expose what they need. */
  target: string;
  notApplicable: string[];
  /** Fault firings by `fault:what`. */
  faultsFired: Record<string, number>;
  /** Catalogued coverage events that happened (count > 0). */
  coverage: Record<string, number>;
  /** With `coverageFirstAt`: per coverage event seen as it happened, the event count at its first time. */
  coverageFirstAt?: Record<string, number>;
  /** Set for a forked run: where it forked from the seed's run. */
  fork?: ForkPoint;
  /** Set when the fault plan was drawn from another seed (`swarmFrom`). */
  swarmFrom?: number;
  stats: Record<string, number>;
  violation?: Violation;
  /** Only with `recordTrace`. */
  trace?: string[];
}

export function runScenario(scenario: Scenario, seed: number, opts: RunOptions = {}): RunReport {
  // Scenario choices use their own streams of a Streams instance shared with the world, so the
  // world is built from the same seed derivation.
  if (opts.fork !== undefined && opts.decisions !== undefined)
    throw new Error("a run is forked or replays a decision log, not both");
  if (opts.swarmFrom !== undefined && opts.swarm !== true)
    throw new Error("swarmFrom draws a swarm fault plan: it needs swarm mode");
  const fork = opts.fork === undefined ? undefined : new ForkStreams(opts.fork);
  const factory = opts.decisions ?? fork;
  const buildStreams = new Streams(seed, factory);
  const swarm = opts.swarm === true;
  const setup = scenario.build({ seed, streams: buildStreams, swarm });
  const planStreams = opts.swarmFrom === undefined ? buildStreams : new Streams(opts.swarmFrom, factory);
  const plan = opts.faults ?? planFor(scenario, setup.world.faults, planStreams, swarm);
  const planted = { ...setup.world.plantedFaults, ...opts.plantedFaults };
  const target = opts.target ?? DEFAULT_TARGET;
  const { applicable: checkers, notApplicable } = applicableCheckers(target, opts.checkers ?? ALL_CHECKERS);
  const probe = new CoverageProbe();
  const world = new World({
    ...setup.world,
    faults: plan,
    plantedFaults: planted,
    scenario: scenario.name,
    seed,
    checkers: [...checkers, probe.checker],
    recordTrace: opts.recordTrace === true,
    brokerLog: probe.sink(opts.brokerLog),
    decisions: factory,
    target,
  });
  fork?.attach(() => world.events);
  probe.attach(world);
  setup.drive(world);
  const drawn = { ...setup.drawn, faults: plan };
  opts.onDrawn?.(drawn);

  // Safety phase.
  const safetyMs = setup.durationMs;
  world.runUntil(safetyMs);

  // Liveness phase: heal, then the world must converge within the budget.
  // A plan whose plugins re-register (plugin faults, client answers) leaves orphaned endpoints
  // `reconnecting` for up to `graceMs` after the heal, absorbing dispatches until grace closes them;
  // the world then needs the usual budget on top to converge.
  const budgetMs = Math.max(
    scenario.livenessBudgetMs ?? DEFAULT_LIVENESS_BUDGET_MS,
    world.options.graceMs + 2 * GRACE_SLACK_MS,
    reregisters(plan) ? world.options.graceMs + DEFAULT_LIVENESS_BUDGET_MS : 0,
  );
  const liveness = world.violation === undefined && opts.safetyOnly !== true;
  let extendedMs = 0;
  if (liveness) {
    world.fact({ f: "liveness_begin", budgetMs });
    healAll(world);
    // Fairness: a broker left down by a fault comes back (healing normally does this already).
    if (!world.brokerAlive) world.restartBroker();
    // The platform announces its head once healed, as a real server's cursor frames would: a
    // frame lost at the tail of the stream is otherwise invisible to the broker, since only a
    // later seq or a DELIVERY_CURSOR reveals a hole (a new socket's REGISTER replays anyway).
    world.server.sendCursor();
    world.wiring.flushServer();
    extendedMs = runLivenessPhase(world, budgetMs);
    world.fact({ f: "liveness_end", head: world.server.head });
  }
  // The end-of-run judgement (quiescence) belongs to a run with its liveness phase.
  if (opts.safetyOnly !== true) world.finish();
  world.close();

  const coverage: Record<string, number> = {};
  for (const [name, n] of countEvents(probe.result())) if (n > 0) coverage[name] = n;
  const report: RunReport = {
    scenario: scenario.name,
    seed,
    ok: world.violation === undefined,
    events: world.events,
    virtualMs: world.elapsedMs,
    traceHash: world.trace.hash,
    traceLines: world.trace.count,
    drawn,
    planted: Object.keys(planted)
      .filter((k) => planted[k as keyof PlantedFaults] === true)
      .sort(),
    phases: { safetyMs, livenessBudgetMs: budgetMs, livenessExtendedMs: extendedMs, liveness },
    checkers: checkers.length,
    target: target.name,
    notApplicable,
    faultsFired: world.faultHub.firedRecord(),
    coverage,
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
      faultsInjected: sumValues(world.faultHub.fired),
    },
  };
  if (opts.coverageFirstAt === true) report.coverageFirstAt = Object.fromEntries(probe.firstAtEvents());
  if (opts.fork !== undefined) report.fork = { ...opts.fork };
  if (opts.swarmFrom !== undefined) report.swarmFrom = opts.swarmFrom;
  if (world.violation) report.violation = world.violation;
  if (opts.recordTrace) report.trace = world.trace.lines;
  return report;
}

/** The liveness phase may run to this many times its budget while progress continues (point 3a). */
export const LIVENESS_CAP_FACTOR = 3;

/** What the liveness phase reads of the world (point 3a). */
export type LivenessWorld = Pick<World, "elapsedMs" | "violation" | "options" | "runUntil"> & {
  dispatcher: Pick<World["dispatcher"], "opts">;
  api: Pick<World["api"], "rows">;
  server: Pick<World["server"], "ackedSeq">;
};

/** How long the world may go without progress before the liveness phase ends (point 3a). */
export function progressWindowMs(world: LivenessWorld): number {
  return 2 * (world.options.acceptanceTimeoutMs + world.dispatcher.opts.retryMaxMs);
}

/** Progress the liveness phase watches: the committed cursor and the platform's finished rows. */
function progressMark(world: LivenessWorld): string {
  let finished = 0;
  for (const row of world.api.rows.values())
    if (row.status === "done" || row.status === "removed") finished++;
  return `${world.server.ackedSeq}/${finished}`;
}

/**
 * Run the liveness budget, then extend it while the world still makes progress (point 3a).
 * Returns how far the phase ran past the budget.
 */
export function runLivenessPhase(world: LivenessWorld, budgetMs: number): number {
  const begin = world.elapsedMs;
  const windowMs = progressWindowMs(world);
  // A budget shorter than two windows cannot tell a drain from a stall: it is judged as set (the
  // shrinker's shortened budgets).
  if (budgetMs < 2 * windowMs) {
    world.runUntil(begin + budgetMs);
    return 0;
  }
  const capMs = LIVENESS_CAP_FACTOR * budgetMs;
  world.runUntil(begin + budgetMs - windowMs);
  let mark = progressMark(world);
  world.runUntil(begin + budgetMs);
  let ran = budgetMs;
  while (world.violation === undefined && ran < capMs) {
    const now = progressMark(world);
    if (now === mark) break;
    mark = now;
    ran = Math.min(ran + windowMs, capMs);
    world.runUntil(begin + ran);
  }
  return ran - budgetMs;
}

/** The scenario's own plan, plus in swarm mode a plan drawn from the seed (the scenario's entries win). */
export function planFor(
  scenario: Scenario,
  own: FaultPlan | undefined,
  streams: Streams,
  swarm: boolean,
): FaultPlan {
  if (!swarm) return { ...own };
  return { ...drawSwarmPlan(streams, scenario.swarmFaults), ...own };
}

/** Whether a plan's plugins may register their endpoints afresh while the faults are on. */
function reregisters(plan: FaultPlan): boolean {
  const on = (x: unknown) => x !== undefined && x !== false;
  return on(plan.plugin) || on(plan["client-answers"]);
}

/** The fault kinds (module names) that fired in a run. */
export function faultKindsFired(report: Pick<RunReport, "faultsFired">): string[] {
  const out: string[] = [];
  for (const key of Object.keys(report.faultsFired)) {
    const kind = key.slice(0, key.indexOf(":"));
    if (kind !== "" && !out.includes(kind)) out.push(kind);
  }
  return out;
}

function sum(world: World, key: "replies" | "pushes"): number {
  let n = 0;
  for (const p of world.plugins.values()) n += p.stats[key];
  return n;
}

function sumValues(m: ReadonlyMap<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}
