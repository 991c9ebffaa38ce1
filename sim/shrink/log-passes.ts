/**
 * The shrinker's passes over the decision log, per stream: whole-stream rewrites (empty, every draw
 * simplest, the shortest failing prefix, the largest values after a prefix), chunk deletion (delta
 * debugging) and single draws.
 */

import { type DecisionLog, DRAW_ID, simplestDraw } from "./decision-log.ts";
import type { ReproRun } from "./repro.ts";
import type { SetupEdits } from "./setup.ts";
import { type Attempt, highestPowerOfTwo } from "./setup-passes.ts";

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
export function logPass(
  best: () => ReproRun,
  edits: () => SetupEdits,
  attempt: Attempt,
  outOfTime: () => boolean,
  exhaustive: boolean,
  between: () => boolean = () => false,
  inPass: <T>(name: string, f: () => T) => T = (_n, f) => f(),
): boolean {
  const ctx: LogCtx = { best, edits, attempt, outOfTime };
  const keys = () => Object.keys(best().log).sort((a, b) => best().log[b]!.length - best().log[a]!.length);
  let progress = false;
  // After each stream, `between` may re-run the whole-run passes (they pay off once a stream's
  // edits made the run much smaller).
  for (const key of keys()) {
    if (outOfTime()) break;
    if (inPass("log: whole stream", () => wholeStream(ctx, key))) {
      progress = true;
      between();
    }
  }
  for (const key of keys()) {
    if (outOfTime()) break;
    if (inPass("log: coarse chunks", () => deleteChunks(ctx, key, true))) {
      progress = true;
      between();
    }
  }
  for (const key of keys()) {
    if (outOfTime() || (!exhaustive && len(ctx, key) > FINE_DRAWS_MAX)) continue;
    const fine = inPass("log: fine chunks", () => deleteChunks(ctx, key, false));
    if (inPass("log: single draws", () => singleDraws(ctx, key)) || fine) {
      progress = true;
      between();
    }
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
  // No draws at all: every draw of the stream served as its simplest value.
  if (len(ctx, key) > 0 && ctx.attempt(ctx.edits(), withKey(ctx, key, []))) return true;
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
