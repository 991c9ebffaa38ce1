/**
 * The daemon's `Random`: crypto-backed, so ids, owner tokens and bearer-adjacent values are not
 * guessable. The simulator passes a seeded stream instead; the core cannot tell the difference.
 */

import { randomBytes, randomInt, randomUUID } from "node:crypto";
import type { Random } from "../broker/types.ts";

/** `randomInt` accepts ranges up to 2^48 - 1 (exclusive bound); floats are drawn on that grid. */
const FLOAT_GRID = 2 ** 48 - 1;

export class CryptoRandom implements Random {
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
    return randomBytes(Math.max(0, Math.floor(n))).toString("hex");
  }
}
