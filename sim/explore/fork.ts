/**
 * Forked runs: a run that replays a parent run's draws up to a fork point and continues from there
 * with fresh draws from a new stream. Guided exploration (sim/explore/guided.ts) forks runs at the
 * moment they reached a rare coverage event, so the budget goes to the neighbourhood of what is
 * rarely reached instead of to the start of yet another run.
 *
 * Theory of operation:
 * 1. A fork is named by its parent's seed, the fork point (`atEvent`: the number of events the
 *    world had shown its checkers, `World.events`) and a stream number (≥ 1). Those three numbers and
 *    the run's other flags reproduce it exactly (`--seed S --fork-at N --fork-stream K`).
 * 2. Before the fork point every labelled stream serves the parent's draws. The parent's decision
 *    log (sim/shrink/decision-log.ts) is by construction the output of the seeded generator of
 *    each label, so replaying the log prefix and regenerating it from the parent's seed give the
 *    same draws; the fork regenerates it, so a fork costs no memory for a log.
 * 3. From the first draw made once the world has shown `atEvent` events, every stream draws from
 *    a generator seeded by (the stream's own seed, the fork stream number): fresh, independent per
 *    label and per fork stream, and the same on every rerun. Streams opened after the fork point
 *    draw fresh from their first draw.
 * 4. The fault plan and the scenario's settings are drawn before the world runs, so a fork keeps
 *    its parent's fault mix; what changes is everything that happens after the fork point.
 */

import { fnv1a32, type IntSource, Stream, type StreamFactory, seededSource } from "../kernel/prng.ts";

/** Where a run forks from its parent. */
export interface ForkPoint {
  /** Events shown to the checkers before the first fresh draw (≥ 1). */
  atEvent: number;
  /** The fresh stream (≥ 1): forks of one parent at one point differ by this number. */
  stream: number;
}

/** The generator seed of a label's fresh draws in fork stream `stream`. */
export function forkSeed(labelSeed: number, stream: number): number {
  let h = (labelSeed ^ fnv1a32(`fork#${stream}`)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** One label's source: the parent's generator until the fork point, the fresh one after it. */
class ForkSource implements IntSource {
  private fresh: IntSource | undefined;
  private readonly parent: IntSource;

  constructor(
    private readonly labelSeed: number,
    private readonly owner: ForkStreams,
  ) {
    this.parent = seededSource(labelSeed);
  }

  next(): number {
    if (!this.owner.forked()) return this.parent.next();
    this.fresh ??= seededSource(forkSeed(this.labelSeed, this.owner.point.stream));
    return this.fresh.next();
  }
}

/** The `StreamFactory` of a forked run; `attach` it to the world's event counter before running. */
export class ForkStreams implements StreamFactory {
  private events: () => number = () => 0;

  constructor(readonly point: ForkPoint) {
    if (!Number.isSafeInteger(point.atEvent) || point.atEvent < 1)
      throw new RangeError(`fork point must be an event count ≥ 1, got ${point.atEvent}`);
    if (!Number.isSafeInteger(point.stream) || point.stream < 1)
      throw new RangeError(`fork stream must be ≥ 1, got ${point.stream}`);
  }

  /** Count the fork point on `events` (the world's `events` counter). */
  attach(events: () => number): void {
    this.events = events;
  }

  /** True once the world has shown `atEvent` events: draws are fresh from here on. */
  forked(): boolean {
    return this.events() >= this.point.atEvent;
  }

  open(label: string, seed: number): Stream {
    return new Stream(label, new ForkSource(seed, this));
  }
}
