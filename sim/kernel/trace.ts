/**
 * The run's trace: every event becomes one compact JSON line, which is folded into a rolling hash
 * that is always computed. The lines themselves are kept only when tracing was asked for (or the
 * last few, for failure reports).
 *
 * The hash is two 32-bit FNV-1a-style lanes with different multipliers (64 bits in all): cheap,
 * order-sensitive, and identical on every platform because it only uses `Math.imul` on UTF-16 code
 * units. Same seed, same code ⇒ same lines ⇒ same hash.
 */

/** How many recent lines a failure report shows. */
export const RECENT_LINES = 40;

export class Trace {
  private h1 = 0x811c9dc5;
  private h2 = 0x9747b28c;
  /** Number of lines folded into the hash. */
  count = 0;
  /** Every line, when recording. */
  readonly lines: string[] | undefined;
  private readonly recent: string[] = new Array<string>(RECENT_LINES).fill("");

  constructor(record: boolean) {
    this.lines = record ? [] : undefined;
  }

  add(line: string): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x2127599b);
    }
    // A line separator, so that "ab"+"c" and "a"+"bc" hash differently.
    this.h1 = Math.imul(h1 ^ 10, 0x01000193);
    this.h2 = Math.imul(h2 ^ 10, 0x2127599b);
    this.recent[this.count % RECENT_LINES] = line;
    this.count++;
    this.lines?.push(line);
  }

  /** The rolling hash as 16 lowercase hex digits. */
  get hash(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, "0") + (this.h2 >>> 0).toString(16).padStart(8, "0");
  }

  /** The last `n` lines (at most `RECENT_LINES`), oldest first. */
  last(n = RECENT_LINES): string[] {
    const k = Math.min(n, RECENT_LINES, this.count);
    const out: string[] = [];
    for (let i = this.count - k; i < this.count; i++) out.push(this.recent[i % RECENT_LINES]!);
    return out;
  }
}
