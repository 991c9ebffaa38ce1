/**
 * Small shared pieces of the fault modules: a healable switch and a periodic injector.
 *
 * A periodic injector fires at exponentially distributed intervals (a Poisson process), drawing its
 * next interval from the module's own stream, and stops for good once its switch is healed. Its
 * queue events left behind after healing are no-ops.
 */

import type { Stream } from "../kernel/prng.ts";
import type { World } from "../kernel/world.ts";
import type { FaultHandle } from "./fault.ts";

/** A fault's on/off switch plus the extra undo work its `heal` must do. */
export class Switch implements FaultHandle {
  healed = false;
  private readonly undo: Array<() => void> = [];

  get on(): boolean {
    return !this.healed;
  }

  onHeal(fn: () => void): void {
    this.undo.push(fn);
  }

  heal(): void {
    if (this.healed) return;
    this.healed = true;
    for (const fn of this.undo) fn();
  }
}

/** Call `fn` at exponential intervals of mean `meanMs` (at least 1 ms) until `sw` is healed. */
export function periodic(world: World, stream: Stream, meanMs: number, sw: Switch, fn: () => void): void {
  if (!(meanMs > 0) || !Number.isFinite(meanMs)) return;
  const next = () => {
    world.after(Math.max(1, Math.round(stream.exponential(meanMs))), () => {
      if (sw.healed) return;
      fn();
      next();
    });
  };
  next();
}

/** Uniform integer in [lo, hi], tolerating lo > hi (then lo). */
export function between(stream: Stream, lo: number, hi: number): number {
  return hi <= lo ? lo : stream.range(lo, hi);
}

/** Pick one of `weights`' keys with probability proportional to its weight; undefined if all 0. */
export function weighted<K extends string>(stream: Stream, weights: Record<K, number>): K | undefined {
  let total = 0;
  for (const k in weights) total += Math.max(0, weights[k]);
  if (total <= 0) return undefined;
  let r = stream.float() * total;
  let last: K | undefined;
  for (const k in weights) {
    const w = Math.max(0, weights[k]);
    if (w === 0) continue;
    last = k;
    if (r < w) return k;
    r -= w;
  }
  return last;
}
