/**
 * The shrinker's passes over what a run is made of rather than what it drew: plugins, endpoints
 * and planned reconnects (`setupPass`), workload items (`dropItemsPass` with their draws,
 * `workloadPass` without), when the safety phase stops (`durationPass`), and the broker's timing
 * and the liveness budget, never below the fairness floors (`livenessBudgetPass`, `optionsPass`).
 * Each pass tries candidates through `attempt`, which runs one and keeps it when it still fails and
 * is smaller.
 */

import type { BrokerOptions } from "../../src/broker/options.ts";
import type { DecisionLog } from "./decision-log.ts";
import type { Floors } from "./floors.ts";
import type { ReproRun } from "./repro.ts";
import { SHRINKABLE_OPTIONS, type SetupEdits, type ShrinkableOption } from "./setup.ts";

/** Try one candidate; true when it still fails and is smaller (it is then the best). */
export type Attempt = (edits: SetupEdits, log: DecisionLog) => boolean;

/** Leave out whole plugins, then single endpoints, then planned reconnects. */
export function setupPass(best: () => ReproRun, edits: () => SetupEdits, attempt: Attempt): boolean {
  let progress = false;
  const plugins = best().plugins;
  for (const p of plugins) {
    const e = edits();
    if (e.dropPlugins?.includes(p.pid)) continue;
    if (attempt({ ...e, dropPlugins: [...(e.dropPlugins ?? []), p.pid] }, best().log)) progress = true;
  }
  for (const p of plugins) {
    for (const ep of p.endpoints) {
      const e = edits();
      if (e.dropPlugins?.includes(p.pid)) continue;
      if (e.dropEndpoints?.some((d) => d.pid === p.pid && d.kind === ep.kind)) continue;
      const drop = [...(e.dropEndpoints ?? []), { pid: p.pid, kind: ep.kind }];
      if (attempt({ ...e, dropEndpoints: drop }, best().log)) progress = true;
    }
    const e = edits();
    if (
      p.behaviour.reconnect !== undefined &&
      !e.noReconnect?.includes(p.pid) &&
      !e.dropPlugins?.includes(p.pid)
    ) {
      if (attempt({ ...e, noReconnect: [...(e.noReconnect ?? []), p.pid] }, best().log)) progress = true;
    }
  }
  return progress;
}

/**
 * Delta debugging over a list read afresh before every try: chunks of it, largest first (a power
 * of two, down to `minSize`), from the end, each handed to `tryChunk`.
 */
export function chunksFromEnd<T>(
  list: () => readonly T[],
  minSize: number,
  outOfTime: () => boolean,
  tryChunk: (chunk: T[]) => boolean,
): boolean {
  let progress = false;
  for (let size = highestPowerOfTwo(list().length); size >= minSize; size >>= 1) {
    for (let i = list().length - size; i >= 0 && !outOfTime(); i -= size) {
      const at = list();
      if (i + size > at.length) continue;
      if (tryChunk(at.slice(i, i + size))) progress = true;
    }
  }
  return progress;
}

/** `chunksFromEnd` over the workload items the run sent, with the current edits and run. */
function itemChunksPass(
  best: () => ReproRun,
  edits: () => SetupEdits,
  outOfTime: () => boolean,
  tryChunk: (chunk: number[], e: SetupEdits, run: ReproRun) => boolean,
): boolean {
  return chunksFromEnd(
    () => sentItems(best(), edits()),
    1,
    outOfTime,
    (chunk) => tryChunk(chunk, edits(), best()),
  );
}

/**
 * Leave workload items out. An omitted item is still drawn, so no later draw moves: this removes
 * a message in the middle of a run, which deleting its draws from the log cannot do without
 * reshaping every message after it.
 */
export function workloadPass(
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
export function dropItemsPass(
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
export function sentItems(run: ReproRun, edits: SetupEdits): number[] {
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

const withOption = (e: SetupEdits, k: string, v: number): SetupEdits => ({
  ...e,
  brokerOptions: { ...e.brokerOptions, [k]: v },
});

/**
 * A violation judged at the end of the run waits out the whole liveness phase, whose budget is at
 * least graceMs + 2 s (600 s by default): every candidate then costs that much virtual time. Try a
 * smaller grace with the shortest budget it allows, then a shorter budget alone — smallest value
 * first, the first that still fails wins; never below the fairness floors (floors.ts), so a
 * correct broker still converges.
 */
export function livenessBudgetPass(
  current: () => ReproRun,
  edits: () => SetupEdits,
  attempt: Attempt,
  floors: Floors,
): boolean {
  let progress = false;
  let best = current();
  const budgetFor = (o: BrokerOptions) => floors.livenessBudgetMs(o);
  for (const g of lowerValues(
    best.options.graceMs,
    floors.option("graceMs", best.options, sentItems(best, edits()).length),
  )) {
    const e = withOption(edits(), "graceMs", g);
    const budget = budgetFor({ ...best.options, graceMs: g });
    if (attempt({ ...e, livenessBudgetMs: budget }, best.log)) {
      progress = true;
      best = current();
      break;
    }
  }
  for (const b of lowerValues(best.report.phases.livenessBudgetMs, budgetFor(best.options))) {
    if (attempt({ ...edits(), livenessBudgetMs: b }, best.log)) return true;
  }
  return progress;
}

/**
 * Smaller broker timeouts and inbox capacity (grace is `livenessBudgetPass`'s), smallest value
 * first, the first that still fails wins; never below `floors` (the fairness floors for a
 * liveness violation, the runner's minimum for a safety one).
 */
export function optionsPass(
  current: () => ReproRun,
  edits: () => SetupEdits,
  attempt: Attempt,
  floors: Floors,
): boolean {
  let progress = false;
  let best = current();
  const optionFloor = (k: ShrinkableOption, sent = sentItems(best, edits()).length) =>
    floors.option(k, best.options, sent);
  for (const k of SHRINKABLE_OPTIONS) {
    if (k === "graceMs") continue;
    const v0 = best.options[k];
    const floor = optionFloor(k);
    for (const v of k.endsWith("Ms") ? lowerValues(v0, floor) : lowerCounts(v0, floor)) {
      if (attempt(withOption(edits(), k, v), best.log)) {
        progress = true;
        best = current();
        break;
      }
    }
  }
  // A smaller inbox fills with fewer messages: one slot less often needs one message less too,
  // which neither edit finds alone (tried only once few items are left).
  const items = sentItems(best, edits());
  const cap = best.options.inboxCapacity;
  if (cap > optionFloor("inboxCapacity", items.length - 1) && items.length <= PAIR_ITEMS_MAX) {
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

/** Stop fractions of the safety phase tried by `durationPass`, smallest first. */
const DURATION_FRACTIONS = [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];

/**
 * Stop the safety phase earlier (for a violation judged at the end of the run): the smallest
 * fraction of it that still fails, then again from that new end while one does. An earlier stop
 * cuts everything after it, and makes every later candidate cheaper.
 */
export function durationPass(
  best: () => ReproRun,
  edits: () => SetupEdits,
  attempt: Attempt,
  outOfTime: () => boolean,
): boolean {
  let progress = false;
  for (let again = true; again && !outOfTime(); ) {
    again = false;
    const end = best().report.phases.safetyMs;
    for (const f of DURATION_FRACTIONS) {
      const d = Math.floor(end * f);
      if (d <= 0 || d >= end) continue;
      if (attempt({ ...edits(), durationMs: d }, best().log)) {
        progress = again = true;
        break;
      }
    }
  }
  return progress;
}

/** The largest power of two at most `n` (0 for 0). */
export function highestPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return n === 0 ? 0 : p;
}
