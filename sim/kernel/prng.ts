/**
 * Seeded randomness for the simulated world.
 *
 * Theory of operation:
 * 1. One run seed derives every random draw of a run. Each component draws from its own labelled
 *    stream (`network`, `faults`, `workload`, `broker.random`, `platform`, `plugins`, …) whose
 *    generator seed is a hash of (run seed, label). A component that draws more or less than before
 *    therefore never reshuffles what the other components see.
 * 2. The generator is pure-rand's xoroshiro128plus (mutable in pure-rand 8); every derived draw
 *    (`float`, `int`, `uuid`, …) goes through the single primitive `next()`, so the decision log
 *    (sim/shrink/decision-log.ts) can record or replay a stream by wrapping that one method.
 * 3. Record/replay hook: `Streams` takes an optional `StreamFactory`. Without one every
 *    stream is a plain `Stream` over its seeded generator, so a normal run pays nothing for the
 *    decision log. `sim/shrink/decision-log.ts` supplies a factory whose streams record every raw
 *    draw per label, or serve the draws back from a log instead of the generator.
 * 4. Derived draws are shaped so that a smaller raw draw means simpler behaviour wherever that is
 *    free: `int`/`range`/`pick` map 0 to the low end (minimum latency, first choice), `float` and
 *    `exponential` map 0 to 0 (no gap). `chance` is the exception (0 means "yes"); the decision log
 *    knows which draws came from `chance` and treats "no" as their simplest value, rather than
 *    changing `chance` and with it every seed's meaning.
 * 5. Nothing here reads global randomness or the clock.
 */

import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { Random } from "../../src/broker/types.ts";

/** The one method a random source must have: a uniformly distributed signed 32-bit integer. */
export interface IntSource {
  next(): number;
}

/** FNV-1a (32-bit) of a string; used to turn a stream label into a seed component. */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A 32-bit avalanche mix (murmur3 finaliser) so that nearby run seeds give unrelated streams. */
function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The generator seed of stream `label` for run seed `runSeed`. */
export function deriveSeed(runSeed: number, label: string): number {
  return mix32(mix32(runSeed >>> 0) ^ fnv1a32(label)) | 0;
}

/** Skipped after seeding: xoroshiro's first outputs from a small seed are poorly mixed. */
const WARMUP_DRAWS = 16;

/** The seeded generator behind a stream, already warmed up. */
export function seededSource(seed: number): IntSource {
  const g = xoroshiro128plus(seed);
  for (let i = 0; i < WARMUP_DRAWS; i++) g.next();
  return g;
}

/** Makes the streams of a run when draws are recorded or replayed (the decision-log hook). */
export interface StreamFactory {
  open(label: string, seed: number): Stream;
  /** Optional: where to read which workload item each draw serves (the world's `EventQueue.cause`). */
  bindCause?(cause: () => number): void;
}

/** One labelled random stream with the derived draws the simulator needs. */
export class Stream {
  /** Number of primitive draws so far (cheap, and handy when comparing runs). */
  draws = 0;
  protected readonly src: IntSource;

  constructor(
    readonly label: string,
    seedOrSource: number | IntSource,
  ) {
    this.src = typeof seedOrSource === "number" ? seededSource(seedOrSource) : seedOrSource;
  }

  /** Uniform signed 32-bit integer. */
  next(): number {
    this.draws++;
    return this.src.next();
  }

  /** Uniform float in [0, 1) with 53 bits of precision. */
  float(): number {
    const hi = this.next() >>> 5; // 27 bits
    const lo = this.next() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, maxExclusive). `maxExclusive` ≤ 2^32. */
  int(maxExclusive: number): number {
    if (maxExclusive <= 1) return 0;
    // Rejection sampling keeps the draw exactly uniform.
    const limit = 0x1_0000_0000 - (0x1_0000_0000 % maxExclusive);
    for (;;) {
      const v = this.next() >>> 0;
      if (v < limit) return v % maxExclusive;
    }
  }

  /** Uniform integer in [lo, hi] (both inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** `true` with probability `p`. Draws even when `p` is 0 or 1, so the stream's draw count is stable. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error(`pick from an empty list (stream ${this.label})`);
    return items[this.int(items.length)]!;
  }

  /** Exponentially distributed value with the given mean (for inter-arrival times). */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.float());
  }

  /** `n` random bytes as lowercase hex. */
  hex(n: number): string {
    let s = "";
    let word = 0;
    for (let i = 0; i < n; i++) {
      if (i % 4 === 0) word = this.next();
      s += HEX_BYTES[(word >>> ((i % 4) * 8)) & 0xff];
    }
    return s;
  }

  /** A version-4 shaped UUID. */
  uuid(): string {
    const a = this.next() >>> 0;
    const b = this.next() >>> 0;
    const c = this.next() >>> 0;
    const d = this.next() >>> 0;
    const h = (x: number, len: number) => x.toString(16).padStart(len, "0");
    return (
      h(a, 8) +
      "-" +
      h(b >>> 16, 4) +
      "-4" +
      h(b & 0xfff, 3) +
      "-" +
      h(0x8000 | (c >>> 18), 4) +
      "-" +
      h(c & 0xffff, 4) +
      h(d, 8)
    );
  }
}

const HEX_BYTES: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Every stream of one run, created on first use. */
export class Streams {
  private readonly byLabel = new Map<string, Stream>();
  constructor(
    readonly runSeed: number,
    /** Set only when the run's draws are recorded or replayed. */
    private readonly factory?: StreamFactory,
  ) {}

  get(label: string): Stream {
    let s = this.byLabel.get(label);
    if (!s) {
      const seed = deriveSeed(this.runSeed, label);
      s = this.factory ? this.factory.open(label, seed) : new Stream(label, seed);
      this.byLabel.set(label, s);
    }
    return s;
  }

  /** Draw counts per stream, in creation order (for reports and determinism diagnostics). */
  drawCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [label, s] of this.byLabel) out[label] = s.draws;
    return out;
  }
}

/** The broker core's `Random`, backed by its own stream (`broker.random`). */
export class SeededRandom implements Random {
  constructor(private readonly stream: Stream) {}
  uuid(): string {
    return this.stream.uuid();
  }
  int(maxExclusive: number): number {
    return this.stream.int(maxExclusive);
  }
  float(): number {
    return this.stream.float();
  }
  hex(n: number): string {
    return this.stream.hex(n);
  }
}
