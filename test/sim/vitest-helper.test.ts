import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { happyPath } from "../../sim/scenarios/happy-path.ts";
import { assertSimSeeds, parseSeeds, runSimSeeds, SimFailure, simTest } from "../../sim/vitest.ts";

describe("simTest", () => {
  // The helper as a user writes it: a passing seed range is a passing test.
  simTest("a fault-free day passes on seeds 1..3", { scenario: "happy-path", seeds: "1..3" });

  // And a planted broker fault makes the registered test fail (vitest's `it.fails` inverts it).
  simTest(
    "a broker that acks before the hand-off fails its seed",
    {
      scenario: happyPath,
      seeds: [2],
      plantedFaults: { ackBeforeHandoff: true },
      outDir: "out/test-vitest-helper",
    },
    it.fails,
  );
});

describe("the seeded sweep behind simTest", () => {
  it("runs every seed of a passing range", () => {
    const sweep = runSimSeeds({ scenario: "happy-path", seeds: "4..5", artifacts: false });
    expect(sweep.runs).toBe(2);
    expect(sweep.events).toBeGreaterThan(1000);
    expect(sweep.failure).toBeUndefined();
  });

  it("stops at the first failing seed with the invariant, explanation, rerun line and files", () => {
    let caught: unknown;
    try {
      assertSimSeeds({
        scenario: "happy-path",
        seeds: "1..5",
        plantedFaults: { ackBeforeHandoff: true },
        outDir: "out/test-vitest-helper",
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SimFailure);
    const f = caught as SimFailure;
    expect(f.report.seed).toBe(1);
    const msg = f.message;
    expect(msg).toContain("happy-path seed 1 failed S1 (safety)");
    expect(msg).toContain("invariant: Every DELIVERY_ACK(u) covers only seqs");
    expect(msg).toContain("explanation: DELIVERY_ACK(1) covers seq 1");
    expect(msg).toContain(
      "rerun: npx tsx sim/runner.ts --scenario happy-path --seed 1 --plant ackBeforeHandoff",
    );
    for (const path of [f.paths.trace!, f.paths.perfetto!, f.paths.html!]) {
      expect(msg).toContain(path);
      expect(path.startsWith("out/test-vitest-helper/")).toBe(true);
      expect(existsSync(path)).toBe(true);
    }
    expect(readFileSync(f.paths.html!, "utf8")).toContain("FAIL S1 (safety)");
  });

  it("does not write files when artifacts are off", () => {
    const sweep = runSimSeeds({
      scenario: happyPath,
      seeds: 3,
      plantedFaults: { ackBeforeHandoff: true },
      artifacts: false,
    });
    expect(sweep.failure?.paths).toEqual({});
    expect(sweep.failure?.message).toContain("rerun: npx tsx sim/runner.ts --scenario happy-path --seed 3");
  });

  it("reads seeds as a number, a list or an inclusive range", () => {
    expect(parseSeeds(7)).toEqual([7]);
    expect(parseSeeds([3, 1])).toEqual([3, 1]);
    expect(parseSeeds("2..4")).toEqual([2, 3, 4]);
    expect(() => parseSeeds("4..2")).toThrow(/empty/);
    expect(() => parseSeeds("abc")).toThrow(/A\.\.B/);
  });

  it("names the known scenarios when given an unknown one", () => {
    expect(() => runSimSeeds({ scenario: "no-such-scenario", seeds: 1 })).toThrow(/known: happy-path/);
  });
});
