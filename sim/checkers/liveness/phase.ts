/**
 * What every liveness checker shares: the liveness phase's boundaries. The run announces the heal
 * with a `liveness_begin` fact and the end of the convergence budget with a `liveness_end` fact that
 * carries the platform's and the disk's ground truth; `quiescent` follows with the core's snapshot.
 * Liveness checkers judge only runs that went through a liveness phase: a history without
 * `liveness_end` (a unit test of the world, an aborted run) is never a liveness failure.
 */

import type { SimEvent } from "../../kernel/events.ts";

export type LivenessEnd = Extract<Extract<SimEvent, { k: "truth" }>["fact"], { f: "liveness_end" }> & {
  t: number;
};

export class Phase {
  /** Virtual time the faults were healed (undefined before the liveness phase). */
  beganAt: number | undefined;
  end: LivenessEnd | undefined;

  /** Absorb a phase fact; true when `ev` was one. */
  observe(ev: SimEvent): boolean {
    if (ev.k !== "truth") return false;
    if (ev.fact.f === "liveness_begin") {
      this.beganAt = ev.t;
      return true;
    }
    if (ev.fact.f === "liveness_end") {
      this.end = { ...ev.fact, t: ev.t };
      return true;
    }
    return false;
  }

  /** The final `quiescent` event of a run that had a liveness phase. */
  isVerdict(ev: SimEvent): ev is Extract<SimEvent, { k: "quiescent" }> {
    return ev.k === "quiescent" && this.end !== undefined;
  }
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** At most `max` items of a list, for messages. */
export function firstFew<T>(xs: readonly T[], max = 5): string {
  const shown = xs.slice(0, max).map(String).join(", ");
  return xs.length > max ? `${shown}, … (${xs.length} in all)` : shown;
}
