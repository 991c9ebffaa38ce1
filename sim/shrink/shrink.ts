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
 *    A liveness violation is judged at the end of the run; there the shrinker tries earlier stops,
 *    and first a shorter liveness phase with a smaller graceMs (the phase lasts at least graceMs +
 *    2 s, 602 s by default) and smaller broker timeouts and inbox capacity (`timingPass`). For a
 *    liveness violation these edits never go below the fairness floors of floors.ts (a correct
 *    broker's worst-case convergence), so the repro cannot fail for want of time.
 * 3. Passes, repeated while any of them makes progress: leave out plugins, endpoints and planned
 *    reconnects; leave out workload items together with the draws they served (every draw is
 *    tagged with its item, so later items keep theirs), else drawn but not sent; per stream,
 *    set every draw to its simplest value at once, delete chunks of draws (halving chunk sizes,
 *    from the end — delta debugging), then simplify single draws (simplest value, else halfway
 *    there). A replayed stream that runs out serves simplest values, so deleting
 *    draws also simplifies whatever follows them. Once the passes stop, a repro still above
 *    `GOAL_EVENTS` gets exhaustive rounds (fine deletion on every stream) while the budget lasts.
 * 4. With `invariant` (`--shrink-for`), every run checks that invariant alone, so another that
 *    breaks first cannot stop the run or count as "still failing".
 * 5. Wall-clock time is read only to stop at the time budget (this is a tool, not the simulated
 *    world); the result is deterministic for a given budget that is not hit.
 */

import type { Violation } from "../checkers/checker.ts";
import type { BrokerOptions } from "../../src/broker/options.ts";
import type { Scenario } from "../scenarios/scenario.ts";
import { type DecisionLog, DRAW_ID, simplestDraw } from "./decision-log.ts";
import {
  findScenario,
  type ReproRun,
  type ReproRunOptions,
  type ReproSpec,
  runRepro,
  smaller,
} from "./repro.ts";
import { type Floors, LIVENESS_FLOORS, SAFETY_FLOORS } from "./floors.ts";
import { SHRINKABLE_OPTIONS, type SetupEdits, type ShrinkableOption } from "./setup.ts";

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
}

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
}

export class NotFailingError extends Error {}

export const DEFAULT_SHRINK_BUDGET_MS = 20_000;
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
  const atEnd = target.kind === "liveness" || target.atMs >= original.report.phases.safetyMs;
  const floors = target.kind === "liveness" ? LIVENESS_FLOORS : SAFETY_FLOORS;
  let runs = 1;
  let outOfTime = false;
  let best = original;
  let edits: SetupEdits = { ...start.edits };
  const fails = (v: Violation | undefined) => v !== undefined && v.invariant === target.invariant;

  /** Try one candidate; on success it becomes the current best. */
  const attempt = (candEdits: SetupEdits, log: DecisionLog): boolean => {
    if (now() - began > budget) {
      outOfTime = true;
      return false;
    }
    runs++;
    // Slack over the best's event count: trace lines, not checker events, decide "smaller".
    const cap = Math.ceil(best.report.events * 1.25) + 20;
    const r = runRepro({ ...start, edits: candEdits, decisions: log }, scenario, cap, extra);
    if (!fails(r.report.violation) || !smaller(r, best)) return false;
    best = r;
    opts.onProgress?.(r, runs, now() - began);
    // A safety violation ends the run where it happens: stop later candidates there too.
    const at = r.report.violation!.atMs;
    edits = !atEnd && at < (candEdits.durationMs ?? Infinity) ? { ...candEdits, durationMs: at } : candEdits;
    return true;
  };

  // Cut the run off at the violation: equal size, but every later candidate gets cheaper.
  if (!atEnd) {
    const cut = { ...edits, durationMs: Math.min(edits.durationMs ?? Infinity, target.atMs) };
    runs++;
    const r = runRepro({ ...start, edits: cut, decisions: best.log }, scenario, undefined, extra);
    if (fails(r.report.violation)) {
      best = r;
      edits = cut;
    }
  }

  // Rounds of every pass while they make the run smaller. Once they stop, a repro still above the
  // goal gets exhaustive rounds (fine deletion and single draws on every stream, however long)
  // while the budget lasts; the budget running out there is not "out of time" (the ordinary search
  // had converged).
  const goal = opts.goalEvents ?? GOAL_EVENTS;
  let exhaustive = false;
  for (let round = 0; round < 50 && !outOfTime; round++) {
    const before = best.size;
    let progress = false;
    if (atEnd) progress = timingPass(best, () => edits, attempt, floors) || progress;
    if (atEnd) progress = durationPass(best, () => edits, attempt) || progress;
    progress = setupPass(best, () => edits, attempt) || progress;
    const current = () => best;
    const currentEdits = () => edits;
    const late = () => outOfTime;
    progress = dropItemsPass(current, currentEdits, attempt, late) || progress;
    progress = workloadPass(current, currentEdits, attempt, late) || progress;
    progress = logPass(current, currentEdits, attempt, late, exhaustive) || progress;
    // Another round only for a smaller run or log; simpler draw values alone do not pay for one.
    const sizeShrank = best.size.traceLines < before.traceLines || best.size.draws < before.draws;
    if (!progress || !sizeShrank) {
      if (exhaustive || best.size.events <= goal) break;
      exhaustive = true;
    }
  }
  if (exhaustive) outOfTime = false;

  const spec: ReproSpec = { ...start, edits, decisions: best.log };
  return {
    invariant: target.invariant,
    original,
    shrunk: best,
    spec,
    runs,
    wallMs: now() - began,
    outOfTime,
  };
}

type Attempt = (edits: SetupEdits, log: DecisionLog) => boolean;

function setupPass(best: ReproRun, edits: () => SetupEdits, attempt: Attempt): boolean {
  let progress = false;
  const plugins = best.plugins;
  for (const p of plugins) {
    const e = edits();
    if (e.dropPlugins?.includes(p.pid)) continue;
    if (attempt({ ...e, dropPlugins: [...(e.dropPlugins ?? []), p.pid] }, best.log)) progress = true;
  }
  for (const p of plugins) {
    for (const ep of p.endpoints) {
      const e = edits();
      if (e.dropPlugins?.includes(p.pid)) continue;
      if (e.dropEndpoints?.some((d) => d.pid === p.pid && d.kind === ep.kind)) continue;
      const drop = [...(e.dropEndpoints ?? []), { pid: p.pid, kind: ep.kind }];
      if (attempt({ ...e, dropEndpoints: drop }, best.log)) progress = true;
    }
    const e = edits();
    if (
      p.behaviour.reconnect !== undefined &&
      !e.noReconnect?.includes(p.pid) &&
      !e.dropPlugins?.includes(p.pid)
    ) {
      if (attempt({ ...e, noReconnect: [...(e.noReconnect ?? []), p.pid] }, best.log)) progress = true;
    }
  }
  return progress;
}

/**
 * Delta debugging over the workload items the run sent: chunks of them, largest first, from the
 * end, each handed to `tryChunk` with the current edits and run.
 */
function itemChunksPass(
  best: () => ReproRun,
  edits: () => SetupEdits,
  outOfTime: () => boolean,
  tryChunk: (chunk: number[], e: SetupEdits, run: ReproRun) => boolean,
): boolean {
  let progress = false;
  for (let size = highestPowerOfTwo(sentItems(best(), edits()).length); size >= 1; size >>= 1) {
    for (let i = sentItems(best(), edits()).length - size; i >= 0 && !outOfTime(); i -= size) {
      const items = sentItems(best(), edits());
      if (i + size > items.length) continue;
      if (tryChunk(items.slice(i, i + size), edits(), best())) progress = true;
    }
  }
  return progress;
}

/**
 * Leave workload items out. An omitted item is still drawn, so no later draw moves: this removes
 * a message in the middle of a run, which deleting its draws from the log cannot do without
 * reshaping every message after it.
 */
function workloadPass(
  best: () => ReproRun,
  edits: () => SetupEdits,
  attempt: Attempt,
  outOfTime: () => boolean,
): boolean {
  return itemChunksPass(best, edits, outOfTime, (chunk, e, run) => {
    const omit = [...(e.omitMessages ?? []), ...chunk].sort((x, y) => x - y);
    return attempt({ ...e, omitMessages: omit }, run.log);
  });
}

/**
 * Leave workload items out together with the draws they served: the items after them find their
 * own network, platform and plugin draws where they were, which leaving an item out while keeping
 * its draws (`workloadPass`) cannot give when those streams are shared. Draws that served no item
 * are kept.
 */
function dropItemsPass(
  best: () => ReproRun,
  edits: () => SetupEdits,
  attempt: Attempt,
  outOfTime: () => boolean,
): boolean {
  return itemChunksPass(best, edits, outOfTime, (items, e, run) => {
    const chunk = new Set(items);
    const drop = [...(e.dropItems ?? []), ...items].sort((x, y) => x - y);
    const log: DecisionLog = {};
    for (const key of Object.keys(run.log)) {
      const causes = run.causes[key] ?? [];
      log[key] = run.log[key]!.filter((_, j) => !chunk.has(causes[j] ?? 0));
    }
    return attempt({ ...e, dropItems: drop }, log);
  });
}

/** The workload items (1-based arrival numbers) the run sent, in order. */
function sentItems(run: ReproRun, edits: SetupEdits): number[] {
  const omitted = new Set([...(edits.omitMessages ?? []), ...(edits.dropItems ?? [])]);
  const sent = sentCount(run);
  const out: number[] = [];
  for (let n = 1; out.length < sent; n++) if (!omitted.has(n)) out.push(n);
  return out;
}

const sentCounts = new WeakMap<ReproRun, number>();

/** How many messages the platform sent (first sends come in seq order); one scan per run. */
function sentCount(run: ReproRun): number {
  let sent = sentCounts.get(run);
  if (sent !== undefined) return sent;
  sent = 0;
  for (const line of run.lines)
    if (line.includes('"f":"server_sent"') && line.includes(`"seq":${sent + 1},`)) sent++;
  sentCounts.set(run, sent);
  return sent;
}

/**
 * A violation judged at the end of the run waits out the whole liveness phase, whose budget is at
 * least graceMs + 2 s (600 s by default): every candidate then costs that much virtual time. Try a
 * smaller grace with the shortest budget it allows, a shorter budget alone, then smaller broker
 * timeouts and inbox capacity — smallest value first, the first that still fails wins.
 */
function timingPass(best: ReproRun, edits: () => SetupEdits, attempt: Attempt, floors: Floors): boolean {
  let progress = false;
  const withOption = (e: SetupEdits, k: string, v: number): SetupEdits => ({
    ...e,
    brokerOptions: { ...e.brokerOptions, [k]: v },
  });
  // Never below the fairness floors (floors.ts): a correct broker must still converge.
  const budgetFor = (o: BrokerOptions) => floors.livenessBudgetMs(o);
  const optionFloor = (k: ShrinkableOption) => floors.option(k, best.options);
  for (const g of lowerValues(best.options.graceMs, optionFloor("graceMs"))) {
    const e = withOption(edits(), "graceMs", g);
    const budget = budgetFor({ ...best.options, graceMs: g });
    if (attempt({ ...e, livenessBudgetMs: budget }, best.log)) {
      progress = true;
      break;
    }
  }
  for (const b of lowerValues(best.report.phases.livenessBudgetMs, budgetFor(best.options))) {
    if (attempt({ ...edits(), livenessBudgetMs: b }, best.log)) {
      progress = true;
      break;
    }
  }
  for (const k of SHRINKABLE_OPTIONS) {
    if (k === "graceMs") continue;
    const v0 = best.options[k];
    const floor = optionFloor(k);
    for (const v of k.endsWith("Ms") ? lowerValues(v0, floor) : lowerCounts(v0, floor)) {
      if (attempt(withOption(edits(), k, v), best.log)) {
        progress = true;
        break;
      }
    }
  }
  // A smaller inbox fills with fewer messages: one slot less often needs one message less too,
  // which neither edit finds alone (tried only once few items are left).
  const items = sentItems(best, edits());
  const cap = best.options.inboxCapacity;
  if (cap > optionFloor("inboxCapacity") && items.length <= PAIR_ITEMS_MAX) {
    for (const n of items.slice().reverse()) {
      const e = withOption(edits(), "inboxCapacity", cap - 1);
      if (attempt({ ...e, omitMessages: [...(e.omitMessages ?? []), n].sort((a, b) => a - b) }, best.log)) {
        progress = true;
        break;
      }
    }
  }
  return progress;
}

/** The capacity-and-item pair edit is tried only for runs sending at most this many items. */
const PAIR_ITEMS_MAX = 16;

/** Candidate values below `v` and at least `floor`, smallest first: the floor, then 1/16, 1/4 and 1/2 of `v`. */
function lowerValues(v: number, floor: number): number[] {
  const out: number[] = [];
  for (const x of [floor, v / 16, v / 4, v / 2]) {
    const n = Math.floor(x);
    if (n >= floor && n >= 100 && n < v && !out.includes(n)) out.push(n);
  }
  return out.sort((a, b) => a - b);
}

/** Counts below `n` and at least `floor`, smallest first: the floor, 2, then half of `n`. */
function lowerCounts(n: number, floor: number): number[] {
  const out: number[] = [];
  for (const x of [floor, 2, Math.floor(n / 2)]) if (x >= floor && x < n && !out.includes(x)) out.push(x);
  return out;
}

function durationPass(best: ReproRun, edits: () => SetupEdits, attempt: Attempt): boolean {
  const end = best.report.phases.safetyMs;
  for (const f of [0.05, 0.1, 0.25, 0.5, 0.75, 0.9]) {
    if (attempt({ ...edits(), durationMs: Math.floor(end * f) }, best.log)) return true;
  }
  return false;
}

/** Streams longer than this get no single-draw pass in a round. */
const FINE_DRAWS_MAX = 160;
/** Coarse chunk deletion stops at 1/COARSE_PARTS of a stream. */
const COARSE_PARTS = 32;
/** The largest raw draw: slowest arrival, longest latency, last choice. */
const DRAW_MAX = 0xffff_ffff;

interface LogCtx {
  best: () => ReproRun;
  edits: () => SetupEdits;
  attempt: Attempt;
  outOfTime: () => boolean;
}

/**
 * The decision-log passes, cheapest first across all streams: whole-stream rewrites and prefix
 * searches (a few runs each), then coarse chunk deletion, then fine deletion and single draws for
 * the streams that are short by then.
 */
function logPass(
  best: () => ReproRun,
  edits: () => SetupEdits,
  attempt: Attempt,
  outOfTime: () => boolean,
  exhaustive: boolean,
): boolean {
  const ctx: LogCtx = { best, edits, attempt, outOfTime };
  const keys = () => Object.keys(best().log).sort((a, b) => best().log[b]!.length - best().log[a]!.length);
  let progress = false;
  for (const key of keys()) if (!outOfTime()) progress = wholeStream(ctx, key) || progress;
  for (const key of keys()) if (!outOfTime()) progress = deleteChunks(ctx, key, true) || progress;
  for (const key of keys()) {
    if (outOfTime() || (!exhaustive && len(ctx, key) > FINE_DRAWS_MAX)) continue;
    progress = deleteChunks(ctx, key, false) || progress;
    progress = singleDraws(ctx, key) || progress;
  }
  return progress;
}

const len = (ctx: LogCtx, key: string) => ctx.best().log[key]?.length ?? 0;
const withKey = (ctx: LogCtx, key: string, draws: number[]): DecisionLog => ({
  ...ctx.best().log,
  [key]: draws,
});

function wholeStream(ctx: LogCtx, key: string): boolean {
  let progress = false;
  // Everything simplest at once (ids keep their values).
  const cur = ctx.best().log[key] ?? [];
  const kinds = ctx.best().kinds[key] ?? [];
  const simple = cur.map((v, i) => (kinds[i] === DRAW_ID ? v : simplestDraw(kinds[i]!, key, i)));
  if (simple.some((v, i) => v !== cur[i]) && ctx.attempt(ctx.edits(), withKey(ctx, key, simple)))
    progress = true;
  // The shortest prefix that still fails (the rest served as simplest values) …
  const keepPrefix = (keep: number) =>
    ctx.attempt(ctx.edits(), withKey(ctx, key, ctx.best().log[key]!.slice(0, keep)));
  progress = prefixSearch(len(ctx, key), keepPrefix) || progress;
  // … and the shortest prefix after which every draw is the largest (later arrivals, so fewer
  // workload items before the failure; longer latencies; last choices).
  const maxAfter = (keep: number) => {
    const d = ctx.best().log[key]!;
    const k = ctx.best().kinds[key]!;
    // Ids keep their values: all-equal ids would collide and make a different bug.
    const next = d.map((v, i) => (i < keep || k[i] === DRAW_ID ? v : DRAW_MAX));
    if (next.every((v, i) => v === d[i])) return false;
    return ctx.attempt(ctx.edits(), withKey(ctx, key, next));
  };
  progress = prefixSearch(len(ctx, key), maxAfter) || progress;
  return progress;
}

/** Delta debugging: delete chunks, largest first, from the end (later draws matter least). */
function deleteChunks(ctx: LogCtx, key: string, coarse: boolean): boolean {
  let progress = false;
  const minSize = coarse ? Math.max(1, Math.floor(len(ctx, key) / COARSE_PARTS)) : 1;
  const maxSize = coarse
    ? highestPowerOfTwo(len(ctx, key))
    : Math.max(1, Math.floor(len(ctx, key) / COARSE_PARTS));
  for (let size = maxSize; size >= minSize; size >>= 1) {
    for (let i = len(ctx, key) - size; i >= 0 && !ctx.outOfTime(); i -= size) {
      const draws = ctx.best().log[key] ?? [];
      if (i + size > draws.length) continue;
      const next = draws.slice(0, i).concat(draws.slice(i + size));
      if (ctx.attempt(ctx.edits(), withKey(ctx, key, next))) progress = true;
    }
  }
  return progress;
}

/** Single draws: simplest value, else halfway there. */
function singleDraws(ctx: LogCtx, key: string): boolean {
  let progress = false;
  for (let i = 0; i < len(ctx, key) && !ctx.outOfTime(); i++) {
    const draws = ctx.best().log[key]!;
    const kind = ctx.best().kinds[key]![i]!;
    if (kind === DRAW_ID) continue;
    const v = draws[i]!;
    const s = simplestDraw(kind, key, i);
    if (v === s) continue;
    const replaced = (x: number) => {
      const d = draws.slice();
      d[i] = x;
      return withKey(ctx, key, d);
    };
    if (ctx.attempt(ctx.edits(), replaced(s))) {
      progress = true;
      continue;
    }
    const half = Math.floor((v + s) / 2);
    if (half !== v && half !== s && ctx.attempt(ctx.edits(), replaced(half))) progress = true;
  }
  return progress;
}

/**
 * Binary search for the smallest `keep` in [0, n) for which `tryKeep` succeeds (it is not
 * monotone, so this is a heuristic: each success also shrinks the upper bound).
 */
function prefixSearch(n: number, tryKeep: (keep: number) => boolean): boolean {
  let lo = 0;
  let hi = n;
  let progress = false;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (tryKeep(mid)) {
      progress = true;
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return progress;
}

function highestPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return n === 0 ? 0 : p;
}
