/**
 * Shrinking a failing run while the SAME invariant still fails (Hypothesis-style choice-sequence
 * shrinking over the decision log, plus setup edits for what the scenario does not draw).
 *
 * Theory of operation:
 * 1. The failing run is recorded: its decision log is the input to shrink. A candidate is a log
 *    (and setup edits); it is replayed, and accepted when it fails with the same invariant id AND
 *    is smaller (`smaller` in repro.ts: fewer trace lines, then fewer draws, then simpler draws).
 *    The accepted candidate's *consumed* log replaces the current one, so unused tails vanish and
 *    draws served past the end become explicit.
 * 2. A safety violation stops the run where it happens, so the run is first cut off at that moment
 *    (`durationMs`): a candidate that does not fail then costs no more than the failing run did.
 *    A liveness violation is judged at the end of the run; there the shrinker first shortens the
 *    liveness phase (a smaller graceMs with the shortest budget it allows, never below the fairness
 *    floors of floors.ts) and tries earlier stops of the safety phase, because every candidate
 *    waits out that phase.
 * 3. Passes (setup-passes.ts, fault-passes.ts, log-passes.ts), repeated in rounds while any of
 *    them makes the run smaller: the liveness budget, smaller broker timeouts and inbox capacity,
 *    an earlier stop; workload items left out together with the draws they served (every draw is
 *    tagged with its item); fault modules left out (the scenario's own and the swarm's); plugins,
 *    endpoints and planned reconnects left out; single fault firings removed (a "yes" decision of a
 *    fault stream turned to "no", the draws that served it deleted); items drawn but not sent; then
 *    per stream: no draws at all, every draw simplest, the shortest failing prefix, chunk deletion
 *    (delta debugging) and single draws. A replayed stream that runs out serves simplest values,
 *    so deleting draws also simplifies whatever follows them. Whenever the log passes have made
 *    the run a tenth smaller, the whole-run passes run again before the next stream (each of their
 *    successes makes every later candidate cheaper). Once the rounds stop, a repro still above
 *    `GOAL_EVENTS` gets exhaustive rounds (fine deletion on every stream, single firings) while the
 *    budget lasts. Each distinct candidate runs once (a rejected one stays rejected). `profile`
 *    says, per pass, what it tried, kept and cost.
 * 3a. Fairness: a smaller failing candidate is accepted only if the fairness oracle (`fair`)
 *    agrees that a broker without the bug keeps the invariant in its world: without the planted
 *    faults, on the reference core for another target, or the caller's (the mutation script runs
 *    the unmutated tree). The oracle doubles a judged candidate's cost, so it judges only what can
 *    change the verdict: a large candidate (judging it costs a whole run) is accepted unjudged, and
 *    so is one no shorter than the latest repro judged fair (simpler draw values alone); every other
 *    small one is judged, every change of the inbox capacity is judged whatever its size, and so is
 *    the final repro, which falls back to the latest repro judged fair if it is not. The timing
 *    floors of floors.ts hold for every candidate regardless; with an oracle, the inbox-capacity
 *    floor gives way to its verdict (`ORACLE_LIVENESS_FLOORS`).
 * 4. With `invariant` (`--shrink-for`), every run checks that invariant alone, so another that
 *    breaks first cannot stop the run or count as "still failing".
 * 5. Wall-clock time is read only to stop at the time budget (this is a tool, not the simulated
 *    world); the result is deterministic for a given budget that is not hit.
 */

import type { Violation } from "../checkers/checker.ts";
import type { Scenario } from "../scenarios/scenario.ts";
import type { DecisionLog } from "./decision-log.ts";
import {
  findScenario,
  type ReproRun,
  type ReproRunOptions,
  type ReproSpec,
  runRepro,
  smaller,
} from "./repro.ts";
import { LIVENESS_FLOORS, ORACLE_LIVENESS_FLOORS, SAFETY_FLOORS } from "./floors.ts";
import { faultFiringsPass, faultModulesPass } from "./fault-passes.ts";
import { logPass } from "./log-passes.ts";
import type { SetupEdits } from "./setup.ts";
import {
  dropItemsPass,
  durationPass,
  livenessBudgetPass,
  optionsPass,
  setupPass,
  workloadPass,
} from "./setup-passes.ts";

export interface ShrinkOptions {
  /** Stop trying candidates after this much wall time (default 20 s). */
  timeBudgetMs?: number;
  /** Wall clock in ms (injectable for tests; default `Date.now`). */
  now?: () => number;
  /** Called with each accepted (smaller) candidate. */
  onProgress?: (best: ReproRun, runs: number, wallMs: number) => void;
  /** The scenario to run (default: the registered one named by the spec). */
  scenario?: Scenario;
  /** Passed to every candidate run (a caller's own checkers, broker log, ...). */
  runOptions?: ReproRunOptions;
  /**
   * Shrink for this invariant alone (`--shrink-for`): every run checks only it, so another
   * invariant that breaks first neither stops the run nor counts as "still failing". The spec (and
   * the replay file) records it.
   */
  invariant?: string;
  /** A repro above this many events gets exhaustive rounds while the budget lasts (default 25). */
  goalEvents?: number;
  /**
   * The fairness oracle: true when the world of `spec` (a candidate about to be accepted, its
   * invariant checked alone) lets a broker without the bug keep that invariant. A candidate it
   * rejects is not accepted, so the repro shows the bug, not an unfair world. Default: for planted
   * faults, the same run without them; for another target, the same run on the reference core;
   * otherwise none (the fairness floors of floors.ts are then the only guard). `null` turns the
   * default off.
   */
  fair?: FairnessOracle | null;
}

/**
 * True when a broker without the bug keeps the invariant in the world of `spec` (its invariant
 * checked alone). `safetyOnly`: the violation happened in the safety phase, so that phase alone
 * needs judging (`RunOptions.safetyOnly`).
 */
export type FairnessOracle = (spec: ReproSpec, safetyOnly: boolean) => boolean;

export interface ShrinkResult {
  invariant: string;
  original: ReproRun;
  shrunk: ReproRun;
  /** Replays `shrunk` exactly: its edits and complete decision log. */
  spec: ReproSpec;
  /** Candidate runs tried. */
  runs: number;
  wallMs: number;
  /** True when the time budget ended the search before it converged. */
  outOfTime: boolean;
  /** Candidates that still failed and were smaller, rejected by the fairness oracle. */
  unfair: number;
  /** Where the search went, per pass (wall time included, so it varies with the machine's load). */
  profile: Record<string, PassProfile>;
}

/** One pass's share of a shrink: candidates run, accepted, and wall time (the oracle's apart). */
export interface PassProfile {
  /** Candidates run (a repeated candidate is not run again and not counted). */
  tried: number;
  /** Candidates accepted as the new best. */
  accepted: number;
  /** Trace lines removed by the accepted candidates. */
  removedLines: number;
  /** Wall ms of the candidate runs. */
  runMs: number;
  /** Fairness-oracle calls and their wall ms. */
  fairCalls: number;
  fairMs: number;
}

export class NotFailingError extends Error {}

export const DEFAULT_SHRINK_BUDGET_MS = 20_000;
/** Candidates up to this many trace lines are judged by the fairness oracle when accepted. */
const FAIR_JUDGE_LINES = 1_500;
/** The size a repro should reach (issue bar: a reader follows at most this many events). */
export const GOAL_EVENTS = 25;

export function shrinkRun(first: ReproSpec, opts: ShrinkOptions = {}): ShrinkResult {
  let start = first;
  const now = opts.now ?? Date.now;
  const began = now();
  const budget = opts.timeBudgetMs ?? DEFAULT_SHRINK_BUDGET_MS;
  const scenario: Scenario = opts.scenario ?? findScenario(start.scenario);
  const extra = opts.runOptions ?? {};
  if (opts.invariant !== undefined) start = { ...start, checkers: [opts.invariant] };
  const original = runRepro(start, scenario, undefined, extra);
  const target = original.report.violation;
  if (!target)
    throw new NotFailingError(`${start.scenario} seed ${start.seed} does not fail; nothing to shrink`);

  // A violation found after the safety phase (liveness, or a safety check at the end of the run)
  // is not cut off where it happens; there the shrinker tries stopping the safety phase earlier.
  // One found during the safety phase (a safety invariant, or a liveness bound checked online such
  // as L10's) is: every candidate then runs its safety phase alone, since only a failure there is
  // the same failure.
  const atEnd = target.atMs >= original.report.phases.safetyMs;
  const candidateRun: ReproRunOptions = atEnd ? extra : { ...extra, safetyOnly: true };
  const fair = opts.fair === null ? undefined : (opts.fair ?? defaultFairness(start, scenario, extra));
  const floors =
    target.kind !== "liveness"
      ? SAFETY_FLOORS
      : fair !== undefined
        ? ORACLE_LIVENESS_FLOORS
        : LIVENESS_FLOORS;
  let runs = 1;
  let outOfTime = false;
  let best = original;
  let edits: SetupEdits = { ...start.edits };
  const fails = (v: Violation | undefined) => v !== undefined && v.invariant === target.invariant;
  let unfair = 0;
  const isFair = (e: SetupEdits, r: ReproRun) =>
    fair!({ ...start, edits: e, decisions: r.log, checkers: [target.invariant] }, !atEnd);

  // A candidate's outcome depends only on its edits and log, and a rejected one stays rejected
  // (the best only gets smaller): each is run at most once.
  const tried = new Set<string>();
  const profile: Record<string, PassProfile> = {};
  let pass = "start";
  const prof = (): PassProfile =>
    (profile[pass] ??= { tried: 0, accepted: 0, removedLines: 0, runMs: 0, fairCalls: 0, fairMs: 0 });
  /** Run `f` with the profile's pass set to `name` (passes nest: the outer one is restored). */
  const inPass = <T>(name: string, f: () => T): T => {
    const outer = pass;
    pass = name;
    try {
      return f();
    } finally {
      pass = outer;
    }
  };
  const judge = (e: SetupEdits, r: ReproRun): boolean => {
    const t0 = now();
    const ok = isFair(e, r);
    const p = prof();
    p.fairCalls++;
    p.fairMs += now() - t0;
    return ok;
  };

  /** Try one candidate; on success it becomes the current best. */
  const attempt = (candEdits: SetupEdits, log: DecisionLog): boolean => {
    if (now() - began > budget) {
      outOfTime = true;
      return false;
    }
    const key = candidateKey(candEdits, log);
    if (tried.has(key)) return false;
    tried.add(key);
    runs++;
    // Slack over the best's event count: trace lines, not checker events, decide "smaller".
    const cap = Math.ceil(best.report.events * 1.25) + 20;
    const t0 = now();
    const r = runRepro({ ...start, edits: candEdits, decisions: log }, scenario, cap, candidateRun);
    const p = prof();
    p.tried++;
    p.runMs += now() - t0;
    if (!fails(r.report.violation) || !smaller(r, best)) return false;
    // A large candidate is accepted unjudged (judging it costs a whole run without the bug), and so
    // is one no shorter than the latest repro judged fair (simpler draws alone: falling back to that
    // repro loses no size); every other small one is judged, and so is the final repro (see below).
    // A smaller inbox (below the capacity floor with an oracle) is judged whatever the size.
    const capacityEdit = candEdits.brokerOptions?.inboxCapacity !== edits.brokerOptions?.inboxCapacity;
    const judged =
      fair !== undefined &&
      (capacityEdit ||
        (r.size.traceLines <= FAIR_JUDGE_LINES && r.size.traceLines < lastFair.run.size.traceLines));
    if (judged && !judge(candEdits, r)) {
      unfair++;
      return false;
    }
    p.accepted++;
    p.removedLines += best.size.traceLines - r.size.traceLines;
    best = r;
    opts.onProgress?.(r, runs, now() - began);
    // A safety violation ends the run where it happens: stop later candidates there too.
    const at = r.report.violation!.atMs;
    edits = !atEnd && at < (candEdits.durationMs ?? Infinity) ? { ...candEdits, durationMs: at } : candEdits;
    if (judged) lastFair = { run: best, edits };
    return true;
  };

  // Cut the run off at the violation: equal size, but every later candidate gets cheaper.
  if (!atEnd) {
    const cut = { ...edits, durationMs: Math.min(edits.durationMs ?? Infinity, target.atMs) };
    runs++;
    const r = runRepro({ ...start, edits: cut, decisions: best.log }, scenario, undefined, candidateRun);
    if (fails(r.report.violation)) {
      best = r;
      edits = cut;
    }
  }

  // The latest accepted repro the oracle judged fair (the original run is taken as fair).
  let lastFair = { run: best, edits };
  const current = () => best;
  const currentEdits = () => edits;
  const late = () => outOfTime;
  /**
   * The passes that edit the whole run (an earlier stop, plugins and endpoints left out, timing),
   * a few candidates each: run first in every round, and again between the log passes' streams
   * once those made the run at least a tenth smaller, because each success makes every later
   * candidate cheaper.
   */
  const wholeRun = (): boolean => {
    let progress = false;
    if (atEnd)
      progress = inPass("duration", () => durationPass(current, currentEdits, attempt, late)) || progress;
    progress =
      inPass("fault modules", () => faultModulesPass(current, currentEdits, attempt, late)) || progress;
    progress = inPass("setup", () => setupPass(current, currentEdits, attempt)) || progress;
    if (atEnd)
      progress =
        inPass("liveness budget", () => livenessBudgetPass(current, currentEdits, attempt, floors)) ||
        progress;
    progress = inPass("options", () => optionsPass(current, currentEdits, attempt, floors)) || progress;
    return progress;
  };
  let wholeRunAt = best.size.traceLines;
  const between = (): boolean => {
    if (outOfTime || best.size.traceLines > wholeRunAt * 0.9) return false;
    wholeRunAt = best.size.traceLines;
    const items = inPass("items with draws", () => dropItemsPass(current, currentEdits, attempt, late));
    return wholeRun() || items;
  };

  // Rounds of every pass while they make the run smaller. Once they stop, a repro still above the
  // goal gets exhaustive rounds (fine deletion and single draws on every stream, however long)
  // while the budget lasts; the budget running out there is not "out of time" (the ordinary search
  // had converged).
  const goal = opts.goalEvents ?? GOAL_EVENTS;
  let exhaustive = false;
  for (let round = 0; round < 50 && !outOfTime; round++) {
    const before = best.size;
    let progress = false;
    // A violation judged at the end waits out the liveness phase in every candidate: that phase
    // goes down to its floor first, then timeouts and capacity, an earlier stop; then plugins and
    // endpoints (while the run is still large, so one left out has other traffic to fail with),
    // workload items with their draws (few candidates, large cuts), fault modules, single firings.
    if (atEnd)
      progress =
        inPass("liveness budget", () => livenessBudgetPass(current, currentEdits, attempt, floors)) ||
        progress;
    progress = inPass("options", () => optionsPass(current, currentEdits, attempt, floors)) || progress;
    if (atEnd)
      progress = inPass("duration", () => durationPass(current, currentEdits, attempt, late)) || progress;
    progress = inPass("setup", () => setupPass(current, currentEdits, attempt)) || progress;
    progress =
      inPass("items with draws", () => dropItemsPass(current, currentEdits, attempt, late)) || progress;
    progress =
      inPass("fault modules", () => faultModulesPass(current, currentEdits, attempt, late)) || progress;
    progress =
      inPass("fault firings", () => faultFiringsPass(current, currentEdits, attempt, late, exhaustive)) ||
      progress;
    wholeRunAt = best.size.traceLines;
    progress = inPass("items omitted", () => workloadPass(current, currentEdits, attempt, late)) || progress;
    progress =
      logPass(current, currentEdits, attempt, late, exhaustive, between, (name, f) => inPass(name, f)) ||
      progress;
    // Another round only for a smaller run or log; simpler draw values alone do not pay for one.
    const sizeShrank = best.size.traceLines < before.traceLines || best.size.draws < before.draws;
    if (!progress || !sizeShrank) {
      if (exhaustive || best.size.events <= goal) break;
      exhaustive = true;
    }
  }
  if (exhaustive) outOfTime = false;

  // A repro accepted unjudged is judged now; if unfair, the latest one judged fair stands.
  if (fair !== undefined && best !== lastFair.run && !inPass("final judgement", () => judge(edits, best))) {
    unfair++;
    best = lastFair.run;
    edits = lastFair.edits;
  }

  // The repro as it replays: the whole run (a candidate ran its safety phase alone).
  if (!atEnd && best !== original) {
    const whole = runRepro({ ...start, edits, decisions: best.log }, scenario, undefined, extra);
    if (fails(whole.report.violation)) best = whole;
  }
  const spec: ReproSpec = { ...start, edits, decisions: best.log };
  return {
    invariant: target.invariant,
    original,
    shrunk: best,
    spec,
    runs,
    wallMs: now() - began,
    outOfTime,
    unfair,
    profile,
  };
}

/** A 53-bit hash of a candidate (cyrb53 over its edits and log): the key of `tried`. */
function candidateKey(edits: SetupEdits, log: DecisionLog): string {
  const text = JSON.stringify(edits) + JSON.stringify(log);
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return `${(h2 >>> 0).toString(16)}:${(h1 >>> 0).toString(16)}:${text.length}`;
}

/**
 * The default fairness oracle (`ShrinkOptions.fair`): the run without its planted faults, or on the
 * reference core when it names another target, must keep the invariant.
 */
function defaultFairness(
  start: ReproSpec,
  scenario: Scenario,
  extra: ReproRunOptions,
): FairnessOracle | undefined {
  const passes = (spec: ReproSpec, run: ReproRunOptions) =>
    runRepro(spec, scenario, undefined, run).report.violation === undefined;
  if (start.planted.length > 0)
    return (spec, safetyOnly) => passes({ ...spec, planted: [] }, { ...extra, safetyOnly });
  if (start.target !== undefined && start.target !== "reference") {
    const { target: _own, ...rest } = extra;
    return (spec, safetyOnly) => passes({ ...spec, target: "reference" }, { ...rest, safetyOnly });
  }
  return undefined;
}
