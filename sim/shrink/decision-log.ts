/**
 * The decision log: every random decision of a run as labelled data — per stream label, the
 * sequence of raw 32-bit draws — and a `StreamFactory` that records it or replays it.
 *
 * Theory of operation:
 * 1. Every derived draw of a `Stream` goes through `next()`, so recording a run means recording the
 *    raw values its sources returned, per label. Replaying serves those values back in order instead
 *    of the generator: the same log gives the same run, trace hash included, without the PRNG.
 * 2. A replayed stream that runs out of recorded draws (the shrinker deletes draws on purpose) serves
 *    the *simplest* value for the kind of draw being made: 0 for ints, floats, ranges, picks and
 *    exponential gaps (lowest latency, first choice, no gap), "no" for `chance`, and a distinct
 *    well-mixed value for identifiers (`uuid`, `hex`), because all-zero ids would collide and turn
 *    one bug into another. Those values are recorded too, so re-recording a replay yields a complete
 *    log that never runs out.
 * 3. The kind of each draw (int, chance, id) is noted alongside it. The shrinker uses the kinds to
 *    know what "simpler" means for a draw; they are derived from the run, not part of the log.
 * 4. Only runs that ask for a decision log pay for it: `Streams` without a factory builds plain
 *    `Stream`s, and this file is not on that path at all.
 * 5. Each draw is also tagged with the workload item it served (the world's `EventQueue.cause`, 0 for
 *    none), so the shrinker can leave an item out together with its draws: the items after it then
 *    find their own draws where they were.
 * 6. Every `chance` that came out "yes" is noted (the index of its first draw): a fault firing, a
 *    plugin's extra action. The shrinker turns such a decision to "no" and deletes the draws that
 *    served it, which removes one fault firing without moving the stream's other decisions.
 * 7. Two `Streams` of one run (the scenario's build streams and the world's) may open the same label;
 *    the second gets the key `label#2`, so their draws stay apart in the log.
 */

import { fnv1a32, type IntSource, Stream, type StreamFactory, seededSource } from "../kernel/prng.ts";

/** Per stream key, the raw draws (unsigned 32-bit integers) in the order they were made. */
export type DecisionLog = Record<string, number[]>;

/** A draw made by `int`/`range`/`pick`/`float`/`exponential`: 0 is the simplest value. */
export const DRAW_INT = 0;
/** A draw made by `chance`: 0xffffffff ("no") is the simplest value. */
export const DRAW_CHANCE = 1;
/** A draw made by `uuid`/`hex`: never simplified (ids must stay distinct). */
export const DRAW_ID = 2;
export type DrawKind = typeof DRAW_INT | typeof DRAW_CHANCE | typeof DRAW_ID;

/** The draw that makes `float()` as large as it gets, so `chance(p)` is false for every p < 1. */
const CHANCE_NO = 0xffff_ffff;

/** The simplest raw value for a draw of `kind`; `index` keeps id draws distinct. */
export function simplestDraw(kind: DrawKind, key: string, index: number): number {
  if (kind === DRAW_CHANCE) return CHANCE_NO;
  if (kind === DRAW_ID) return idDraw(key, index);
  return 0;
}

/** How far a draw is from its simplest value (the shrinker minimises the sum of these). */
export function drawCost(kind: DrawKind, v: number): number {
  if (kind === DRAW_CHANCE) return CHANCE_NO - v;
  if (kind === DRAW_ID) return 0;
  return v;
}

function idDraw(key: string, index: number): number {
  let h = (fnv1a32(key) ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One stream's source: the seeded generator or a replayed list, plus what it served. */
class LoggedSource implements IntSource {
  /** The kind of the draw being made (set by `LoggedStream` around `chance`, `uuid`, `hex`). */
  kind: DrawKind = DRAW_INT;
  readonly drawn: number[] = [];
  readonly kinds: DrawKind[] = [];
  /** The workload item each draw served (0 for none). */
  readonly causes: number[] = [];
  /** Index of the first draw of every `chance` that came out "yes". */
  readonly yes: number[] = [];
  /** Draws served after the replayed list ran out. */
  fallbacks = 0;
  private pos = 0;

  constructor(
    readonly key: string,
    private readonly gen: IntSource | undefined,
    private readonly replay: readonly number[],
    private readonly cause: () => number,
  ) {}

  next(): number {
    let v: number;
    if (this.gen !== undefined) v = this.gen.next() >>> 0;
    else if (this.pos < this.replay.length) v = this.replay[this.pos++]! >>> 0;
    else {
      v = simplestDraw(this.kind, this.key, this.drawn.length);
      this.fallbacks++;
    }
    this.drawn.push(v);
    this.kinds.push(this.kind);
    this.causes.push(this.cause());
    return v | 0;
  }
}

/** A stream that tags its draws with their kind; same values as `Stream` for the same raw draws. */
class LoggedStream extends Stream {
  constructor(
    label: string,
    private readonly log: LoggedSource,
  ) {
    super(label, log);
  }

  private tagged<T>(kind: DrawKind, f: () => T): T {
    // The outermost derived draw names the kind (`chance` calls `float`, which must not retag).
    if (this.log.kind !== DRAW_INT) return f();
    this.log.kind = kind;
    try {
      return f();
    } finally {
      this.log.kind = DRAW_INT;
    }
  }

  override chance(p: number): boolean {
    const outermost = this.log.kind === DRAW_INT;
    const at = this.log.drawn.length;
    const yes = this.tagged(DRAW_CHANCE, () => super.chance(p));
    if (yes && outermost) this.log.yes.push(at);
    return yes;
  }

  override hex(n: number): string {
    return this.tagged(DRAW_ID, () => super.hex(n));
  }

  override uuid(): string {
    return this.tagged(DRAW_ID, () => super.uuid());
  }
}

/**
 * The decision source of one run: `new Decisions()` records a seeded run, `new Decisions(log)`
 * replays `log`. Pass it as `RunOptions.decisions`; read `log()` afterwards.
 */
export class Decisions implements StreamFactory {
  private readonly sources = new Map<string, LoggedSource>();
  private causeOf: () => number = () => 0;

  constructor(private readonly replay?: DecisionLog) {}

  bindCause(cause: () => number): void {
    this.causeOf = cause;
  }

  open(label: string, seed: number): Stream {
    let key = label;
    for (let i = 2; this.sources.has(key); i++) key = `${label}#${i}`;
    const replayed = this.replay !== undefined && Object.hasOwn(this.replay, key) ? this.replay[key]! : [];
    const src = new LoggedSource(
      key,
      this.replay === undefined ? seededSource(seed) : undefined,
      replayed,
      () => this.causeOf(),
    );
    this.sources.set(key, src);
    return new LoggedStream(label, src);
  }

  /** Every draw served, per stream key, in stream creation order. A complete log of this run. */
  log(): DecisionLog {
    const out: DecisionLog = {};
    for (const [key, s] of this.sources) out[key] = s.drawn.slice();
    return out;
  }

  /** The kind of every draw of `log()`, per stream key. */
  kinds(): Record<string, DrawKind[]> {
    const out: Record<string, DrawKind[]> = {};
    for (const [key, s] of this.sources) out[key] = s.kinds.slice();
    return out;
  }

  /** The workload item each draw of `log()` served (0 for none), per stream key. */
  causes(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [key, s] of this.sources) out[key] = s.causes.slice();
    return out;
  }

  /** Per stream key, the index of the first draw of every `chance` of `log()` that came out "yes". */
  yes(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    for (const [key, s] of this.sources) if (s.yes.length > 0) out[key] = s.yes.slice();
    return out;
  }

  /** Draws served past the end of the replayed log (0 for a recording or a complete replay). */
  get fallbacks(): number {
    let n = 0;
    for (const s of this.sources.values()) n += s.fallbacks;
    return n;
  }
}

/** Total number of draws in a log. */
export function logLength(log: DecisionLog): number {
  let n = 0;
  for (const k of Object.keys(log)) n += log[k]!.length;
  return n;
}

/** Checks that `x` is a decision log (JSON from a file); returns an error message or undefined. */
export function invalidLog(x: unknown): string | undefined {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return "decisions must be an object";
  for (const [k, v] of Object.entries(x)) {
    if (!Array.isArray(v)) return `decisions.${k} must be an array`;
    for (const d of v) {
      if (!Number.isInteger(d) || d < 0 || d > 0xffff_ffff) {
        return `decisions.${k} holds ${JSON.stringify(d)}, not an unsigned 32-bit integer`;
      }
    }
  }
  return undefined;
}
