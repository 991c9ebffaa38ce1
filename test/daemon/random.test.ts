import { describe, expect, it } from "vitest";
import { CryptoRandom } from "../../src/daemon/random.ts";

describe("the crypto-backed Random", () => {
  const r = new CryptoRandom();

  it("draws floats in [0, 1) without throwing", () => {
    for (let i = 0; i < 2_000; i++) {
      const f = r.float();
      expect(f).toBeGreaterThanOrEqual(0);
      expect(f).toBeLessThan(1);
    }
  });

  it("draws integers in [0, max) for small, huge and degenerate bounds", () => {
    for (const max of [1, 2, 7, 1_000, 2 ** 40, 2 ** 48, 2 ** 53, 0, -5, Number.NaN]) {
      const n = r.int(max);
      expect(Number.isInteger(n)).toBe(true);
      expect(n).toBeGreaterThanOrEqual(0);
      if (max > 1) expect(n).toBeLessThan(max);
      else expect(n).toBe(0);
    }
  });

  it("makes version-4 UUIDs and hex strings of the asked length", () => {
    expect(r.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(r.hex(16)).toMatch(/^[0-9a-f]{32}$/);
    expect(r.hex(0)).toBe("");
  });

  it("keeps hex draws well formed and distinct across refills of its byte pool", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const h = r.hex(24);
      expect(h).toMatch(/^[0-9a-f]{48}$/);
      seen.add(h);
    }
    expect(seen.size).toBe(1_000);
    expect(r.hex(4_000)).toMatch(/^[0-9a-f]{8000}$/);
  });
});
