import type { Random } from "../../src/broker/types.ts";

/** A tiny deterministic Random for unit tests: ids are readable (`uuid-1`, `uuid-2`, …). */
export class CountingRandom implements Random {
  private n = 0;
  private x: number;
  constructor(seed = 1) {
    this.x = seed >>> 0 || 1;
  }
  uuid(): string {
    this.n++;
    return `00000000-0000-4000-8000-${this.n.toString(16).padStart(12, "0")}`;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }
  float(): number {
    // xorshift32: deterministic, good enough for jitter in unit tests.
    this.x ^= this.x << 13;
    this.x >>>= 0;
    this.x ^= this.x >>> 17;
    this.x ^= this.x << 5;
    this.x >>>= 0;
    return this.x / 0x1_0000_0000;
  }
  hex(n: number): string {
    let s = "";
    for (let i = 0; i < n; i++) s += this.int(256).toString(16).padStart(2, "0");
    return s;
  }
}
