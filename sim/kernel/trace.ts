/**
 * The run's trace: every event is one compact JSON line, which is folded into a rolling hash that
 * is always computed. The lines themselves are built only when tracing was asked for; otherwise the
 * hash is fed the same characters straight from the event (`event`, `net`), with no string built,
 * and the last few events are kept by reference and rendered only for a failure report.
 *
 * The hash is two 32-bit FNV-1a-style lanes with different multipliers (64 bits in all): cheap,
 * order-sensitive, and identical on every platform because it only uses `Math.imul` on UTF-16 code
 * units. Same seed, same code ⇒ same lines ⇒ same hash, whether or not the lines are kept.
 */

/** How many recent lines a failure report shows. */
export const RECENT_LINES = 40;

const H1_SEED = 0x811c9dc5;
const H2_SEED = 0x9747b28c;
const M1 = 0x01000193;
const M2 = 0x2127599b;
const HEX = "0123456789abcdef";

/** What a slot of the recent-events ring holds. */
const LINE = 0;
const EVENT = 1;
const NET = 2;

/** `{"t":<t>,"k":"<k>","v":<JSON of v>}`: the line of an event that carries one value. */
export function eventLine(t: number, k: string, v: unknown): string {
  return `{"t":${t},"k":"${k}","v":${JSON.stringify(v)}}`;
}

/** The line of one network send, drop or hold (names and labels are written as they are). */
export function netLine(t: number, link: string, what: string, label: string, at: number): string {
  return `{"t":${t},"k":"net","l":"${link}","w":"${what}","m":"${label}","at":${at}}`;
}

export class Trace {
  private h1 = H1_SEED;
  private h2 = H2_SEED;
  /** Number of lines folded into the hash. */
  count = 0;
  /** Every line, when recording. */
  readonly lines: string[] | undefined;
  // The ring of recent events, one slot per line, in parallel arrays (no allocation per event).
  private readonly rKind = new Uint8Array(RECENT_LINES);
  private readonly rText: string[] = new Array<string>(RECENT_LINES).fill("");
  private readonly rT = new Float64Array(RECENT_LINES);
  private readonly rAt = new Float64Array(RECENT_LINES);
  private readonly rValue: unknown[] = new Array<unknown>(RECENT_LINES).fill(undefined);
  private readonly rWhat: string[] = new Array<string>(RECENT_LINES).fill("");
  private readonly rLabel: string[] = new Array<string>(RECENT_LINES).fill("");

  constructor(record: boolean) {
    this.lines = record ? [] : undefined;
  }

  /** Fold one ready-made line into the hash. */
  add(line: string): void {
    this.str(line);
    this.endLine();
    const i = this.count % RECENT_LINES;
    this.rKind[i] = LINE;
    this.rText[i] = line;
    this.rValue[i] = undefined;
    this.count++;
    this.lines?.push(line);
  }

  /**
   * The line `eventLine(t, k, v)`, hashed without building it when not recording. `v` must not be
   * mutated afterwards (a failure report renders the recent ones from the values themselves).
   */
  event(t: number, k: string, v: unknown): void {
    if (this.lines !== undefined) {
      this.add(eventLine(t, k, v));
      return;
    }
    this.str('{"t":');
    this.num(t);
    this.str(',"k":"');
    this.str(k);
    this.str('","v":');
    if (!this.json(v)) this.str("undefined");
    this.code(125);
    this.endLine();
    const i = this.count % RECENT_LINES;
    this.rKind[i] = EVENT;
    this.rT[i] = t;
    this.rText[i] = k;
    this.rValue[i] = v;
    this.count++;
  }

  /** The line `netLine(t, link, what, label, at)`, hashed without building it when not recording. */
  net(t: number, link: string, what: string, label: string, at: number): void {
    if (this.lines !== undefined) {
      this.add(netLine(t, link, what, label, at));
      return;
    }
    this.str('{"t":');
    this.num(t);
    this.str(',"k":"net","l":"');
    this.str(link);
    this.str('","w":"');
    this.str(what);
    this.str('","m":"');
    this.str(label);
    this.str('","at":');
    this.num(at);
    this.code(125);
    this.endLine();
    const i = this.count % RECENT_LINES;
    this.rKind[i] = NET;
    this.rT[i] = t;
    this.rText[i] = link;
    this.rWhat[i] = what;
    this.rLabel[i] = label;
    this.rAt[i] = at;
    this.rValue[i] = undefined;
    this.count++;
  }

  /** The rolling hash as 16 lowercase hex digits. */
  get hash(): string {
    return (this.h1 >>> 0).toString(16).padStart(8, "0") + (this.h2 >>> 0).toString(16).padStart(8, "0");
  }

  /** The last `n` lines (at most `RECENT_LINES`), oldest first. */
  last(n = RECENT_LINES): string[] {
    const k = Math.min(n, RECENT_LINES, this.count);
    const out: string[] = [];
    for (let c = this.count - k; c < this.count; c++) {
      const i = c % RECENT_LINES;
      switch (this.rKind[i]) {
        case EVENT:
          out.push(eventLine(this.rT[i]!, this.rText[i]!, this.rValue[i]));
          break;
        case NET:
          out.push(netLine(this.rT[i]!, this.rText[i]!, this.rWhat[i]!, this.rLabel[i]!, this.rAt[i]!));
          break;
        default:
          out.push(this.rText[i]!);
      }
    }
    return out;
  }

  // ---- hashing, character by character ----

  private code(c: number): void {
    this.h1 = Math.imul(this.h1 ^ c, M1);
    this.h2 = Math.imul(this.h2 ^ c, M2);
  }

  /** A line separator, so that "ab"+"c" and "a"+"bc" hash differently. */
  private endLine(): void {
    this.code(10);
  }

  /** The characters of `s` as they are. */
  private str(s: string): void {
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, M1);
      h2 = Math.imul(h2 ^ c, M2);
    }
    this.h1 = h1;
    this.h2 = h2;
  }

  /** A number as `String(n)` writes it (safe integers digit by digit, without a string). */
  private num(n: number): void {
    if (!Number.isSafeInteger(n)) {
      this.str(String(n));
      return;
    }
    if (n < 0) {
      this.code(45);
      n = -n;
    }
    let div = 1;
    while (div * 10 <= n) div *= 10;
    for (; div >= 1; div /= 10) {
      const d = Math.floor(n / div);
      this.code(48 + d);
      n -= d * div;
    }
  }

  /** A string as `JSON.stringify` writes it: quoted, with its escapes. */
  private jsonString(s: string): void {
    this.code(34);
    let h1 = this.h1;
    let h2 = this.h2;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c !== 34 && c !== 92 && (c < 0xd800 || c > 0xdfff)) {
        h1 = Math.imul(h1 ^ c, M1);
        h2 = Math.imul(h2 ^ c, M2);
        continue;
      }
      if (c === 34 || c === 92) {
        // `\"` and `\\`, the common escapes (a JSON text inside a string), without leaving the loop.
        h1 = Math.imul(Math.imul(h1 ^ 92, M1) ^ c, M1);
        h2 = Math.imul(Math.imul(h2 ^ 92, M2) ^ c, M2);
        continue;
      }
      this.h1 = h1;
      this.h2 = h2;
      i = this.escape(s, i, c);
      h1 = this.h1;
      h2 = this.h2;
    }
    this.h1 = h1;
    this.h2 = h2;
    this.code(34);
  }

  /** The escape of `c` at `s[i]`; returns the index of the last code unit consumed. */
  private escape(s: string, i: number, c: number): number {
    if (c === 34 || c === 92) {
      this.code(92);
      this.code(c);
      return i;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        this.code(c);
        this.code(d);
        return i + 1;
      }
    }
    const short = c === 8 ? 98 : c === 9 ? 116 : c === 10 ? 110 : c === 12 ? 102 : c === 13 ? 114 : 0;
    this.code(92);
    if (short !== 0) {
      this.code(short);
      return i;
    }
    // Other control characters and lone surrogates: \u and four lowercase hex digits.
    this.code(117);
    this.code(HEX.charCodeAt((c >> 12) & 15));
    this.code(HEX.charCodeAt((c >> 8) & 15));
    this.code(HEX.charCodeAt((c >> 4) & 15));
    this.code(HEX.charCodeAt(c & 15));
    return i;
  }

  /**
   * `v` as `JSON.stringify(v)` writes it. Returns false (nothing hashed) where `JSON.stringify`
   * returns undefined (undefined, functions, symbols). Anything but plain objects, arrays and
   * primitives (class instances, `toJSON`) goes through `JSON.stringify` itself.
   */
  private json(v: unknown): boolean {
    switch (typeof v) {
      case "string":
        this.jsonString(v);
        return true;
      case "number":
        if (Number.isFinite(v)) this.num(v);
        else this.str("null");
        return true;
      case "boolean":
        this.str(v ? "true" : "false");
        return true;
      case "object": {
        if (v === null) {
          this.str("null");
          return true;
        }
        if (Array.isArray(v)) {
          this.code(91);
          for (let i = 0; i < v.length; i++) {
            if (i > 0) this.code(44);
            if (!this.json(v[i])) this.str("null");
          }
          this.code(93);
          return true;
        }
        const proto = Object.getPrototypeOf(v) as unknown;
        if ((proto !== Object.prototype && proto !== null) || "toJSON" in v) {
          const text = JSON.stringify(v) as string | undefined;
          if (text === undefined) return false;
          this.str(text);
          return true;
        }
        this.code(123);
        let first = true;
        const o = v as Record<string, unknown>;
        for (const key in o) {
          const x = o[key];
          if (x === undefined || typeof x === "function" || typeof x === "symbol") continue;
          if (!first) this.code(44);
          first = false;
          this.jsonString(key);
          this.code(58);
          this.json(x);
        }
        this.code(125);
        return true;
      }
      case "bigint":
        // JSON.stringify throws on a bigint; so does the trace.
        throw new TypeError("Do not know how to serialize a BigInt");
      default:
        return false;
    }
  }
}
