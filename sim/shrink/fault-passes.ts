/**
 * The shrinker's passes over a run's fault schedule: whole fault modules left out
 * (`faultModulesPass`), then single firings removed (`faultFiringsPass`).
 *
 * A firing is a `chance` of a fault stream (`faults.<name>`) that came out "yes" (the decision log
 * notes each one). Removing it turns that decision to "no" and deletes the draws that served the
 * firing (the stream's draws up to its next `chance`), so the stream's later decisions find their
 * own draws where they were: the other firings stay as they were, which deleting draws from the
 * log (log-passes.ts) cannot promise.
 */

import { DRAW_CHANCE, type DecisionLog, simplestDraw } from "./decision-log.ts";
import type { ReproRun } from "./repro.ts";
import type { SetupEdits } from "./setup.ts";
import { type Attempt, chunksFromEnd } from "./setup-passes.ts";

/** The prefix of the streams a fault module installs with (sim/faults/index.ts). */
const FAULT_STREAM = "faults.";
/** Outside exhaustive rounds, a stream's firings are removed in chunks down to 1/COARSE_PARTS. */
const COARSE_PARTS = 16;

/** The fault modules a run's plan has on (the scenario's own and the swarm's). */
export function faultsOn(run: ReproRun): string[] {
  const plan = (run.report.drawn.faults ?? {}) as Record<string, unknown>;
  return Object.keys(plan).filter((k) => plan[k] !== false && plan[k] !== undefined);
}

/** Leave out each fault module in turn, the most often fired first. */
export function faultModulesPass(
  best: () => ReproRun,
  edits: () => SetupEdits,
  attempt: Attempt,
  outOfTime: () => boolean,
): boolean {
  let progress = false;
  const fired = (name: string) => {
    let n = 0;
    for (const [k, v] of Object.entries(best().report.faultsFired)) if (k.startsWith(`${name}:`)) n += v;
    return n;
  };
  const modules = faultsOn(best()).sort((a, b) => fired(b) - fired(a) || a.localeCompare(b));
  for (const name of modules) {
    if (outOfTime()) break;
    const e = edits();
    if (e.dropFaults?.includes(name) || !faultsOn(best()).includes(name)) continue;
    if (attempt({ ...e, dropFaults: [...(e.dropFaults ?? []), name].sort() }, best().log)) progress = true;
  }
  return progress;
}

/**
 * Remove fault firings, per fault stream (the most firings first): chunks of its firings, largest
 * first, from the end; down to single firings in exhaustive rounds or for streams with few firings.
 */
export function faultFiringsPass(
  best: () => ReproRun,
  edits: () => SetupEdits,
  attempt: Attempt,
  outOfTime: () => boolean,
  exhaustive: boolean,
): boolean {
  let progress = false;
  const firings = (key: string) => best().yes[key] ?? [];
  const keys = Object.keys(best().yes)
    .filter((k) => k.startsWith(FAULT_STREAM))
    .sort((a, b) => firings(b).length - firings(a).length || a.localeCompare(b));
  for (const key of keys) {
    const n0 = firings(key).length;
    const minSize = exhaustive ? 1 : Math.max(1, Math.floor(n0 / COARSE_PARTS));
    const tried = chunksFromEnd(
      () => firings(key),
      minSize,
      outOfTime,
      (chunk) => attempt(edits(), withoutFirings(best(), key, chunk)),
    );
    if (tried) progress = true;
  }
  return progress;
}

/**
 * `run`'s log with the firings of stream `key` that start at the draw indices `starts` turned to
 * "no", and the draws that served each one (up to the stream's next `chance`) deleted.
 */
export function withoutFirings(run: ReproRun, key: string, starts: readonly number[]): DecisionLog {
  const draws = run.log[key] ?? [];
  const kinds = run.kinds[key] ?? [];
  const chosen = new Set(starts);
  const out: number[] = [];
  for (let i = 0; i < draws.length; ) {
    if (!chosen.has(i)) {
      out.push(draws[i]!);
      i++;
      continue;
    }
    // The chance itself (both draws of its `float`) becomes "no" ...
    let j = i;
    for (; j < Math.min(draws.length, i + CHANCE_DRAWS); j++) out.push(simplestDraw(DRAW_CHANCE, key, j));
    // ... and what the firing drew after it, up to the next decision, goes.
    while (j < draws.length && kinds[j] !== DRAW_CHANCE) j++;
    i = j;
  }
  return { ...run.log, [key]: out };
}

/** Raw draws one `chance` consumes (`Stream.float`: 27 + 26 bits from two draws). */
const CHANCE_DRAWS = 2;
