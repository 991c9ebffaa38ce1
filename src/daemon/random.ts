/**
 * The daemon's `Random`: crypto-backed, so ids, owner tokens and bearer-adjacent values are not
 * guessable. The simulator passes a seeded stream instead; the core cannot tell the difference.
 *
 * `hex` draws from a pool of crypto bytes refilled in one `randomFillSync` call: every message
 * without a valid traceparent needs 24 fresh random bytes, and one system call per draw was the
 * largest single cost of the delivery path (bench/). Each pooled byte is handed out once.
 */

import { randomBytes, randomFillSync, randomInt, randomUUID } from "node:crypto";
import type { Random } from "../broker/types.ts";

/** `randomInt` accepts ranges up to 2^48 - 1 (exclusive bound); floats are drawn on that grid. */
const FLOAT_GRID = 2 ** 48 - 1;
/** Bytes fetched per refill; larger draws bypass the pool. */
const POOL_BYTES = 4_096;

export class CryptoRandom implements Random {
  private readonly pool = Buffer.allocUnsafe(POOL_BYTES);
  private used = POOL_BYTES;

  uuid(): string {
    return randomUUID();
  }

  int(maxExclusive: number): number {
    // The contract is "uniform in [0, max)"; a degenerate range has only one answer.
    if (!(maxExclusive > 1)) return 0;
    const max = Math.min(Math.floor(maxExclusive), FLOAT_GRID);
    return randomInt(max);
  }

  float(): number {
    return randomInt(FLOAT_GRID) / FLOAT_GRID;
  }

  hex(n: number): string {
    const bytes = Math.max(0, Math.floor(n));
    if (bytes > POOL_BYTES / 4) return randomBytes(bytes).toString("hex");
    if (this.used + bytes > POOL_BYTES) {
      randomFillSync(this.pool);
      this.used = 0;
    }
    const s = this.pool.toString("hex", this.used, this.used + bytes);
    this.used += bytes;
    return s;
  }
}
