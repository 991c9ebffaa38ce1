import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { happyPath } from "../../sim/scenarios/happy-path.ts";
import type { Scenario } from "../../sim/scenarios/scenario.ts";
import { readReproFile } from "../../sim/shrink/repro-file.ts";
import {
  assertSimSeeds,
  parseSeeds,
  REPLAY_ENV,
  replaySimRepro,
  runSimSeeds,
  SEED_ENV,
  SimFailure,
  simTest,
  vitestRerunLine,
} from "../../sim/vitest.ts";

/** A user's own scenario: not in the registry, so only its own test can rerun it. */
const myScenario: Scenario = { ...happyPath, name: "my-adapter-day" };

/** Run `fn` with environment variables set, restoring them afterwards. */
function withEnv<T>(env: Record<string, string>, fn: () => T): T {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

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

describe("simTest in an adapter's own repository", () => {
  const context = { file: `${process.cwd()}/test/adapter.test.ts`, name: "my adapter's day (with faults)" };

  it("prints a rerun line through the user's own vitest, selecting the seed by environment", () => {
    expect(vitestRerunLine(context, { [SEED_ENV]: "7" })).toBe(
      `${SEED_ENV}=7 npx vitest run test/adapter.test.ts -t 'my adapter'\\''s day \\(with faults\\)'`,
    );
  });

  it("fails a user scenario with the vitest rerun line and the shrunk repro, which replays the failure", () => {
    const spec = {
      scenario: myScenario,
      seeds: "1..3",
      plantedFaults: { ackBeforeHandoff: true },
      outDir: "out/test-vitest-helper-user",
    };
    const f = runSimSeeds(spec, context).failure!;
    expect(f).toBeInstanceOf(SimFailure);
    expect(f.rerun).toBe(
      `rerun: ${SEED_ENV}=1 npx vitest run test/adapter.test.ts -t 'my adapter'\\''s day \\(with faults\\)'`,
    );
    expect(f.message).toContain("my-adapter-day seed 1 failed S1 (safety)");
    expect(f.message).toContain(`  ${f.rerun}\n`);
    expect(f.message).toContain(`  repro:  ${f.repro}  (shrunk `);
    expect(f.message).not.toContain("sim/runner.ts");
    const file = readReproFile(f.repro!);
    expect(file.scenario).toBe("my-adapter-day");
    expect(file.rerun).toContain(`${REPLAY_ENV}=${f.repro} npx vitest run test/adapter.test.ts`);
    expect(f.message).toContain(`  replay: ${file.rerun}`);
    // The repro replays through the same spec (the user's scenario object), with the same invariant.
    let replayed: unknown;
    try {
      replaySimRepro(spec, f.repro!, context);
    } catch (err) {
      replayed = err;
    }
    expect(replayed).toBeInstanceOf(SimFailure);
    expect((replayed as SimFailure).report.violation?.invariant).toBe("S1");
  });

  it("runs only the seed BROKER_SIM_SEED names", () => {
    const sweep = withEnv({ [SEED_ENV]: "3" }, () =>
      runSimSeeds({
        scenario: myScenario,
        seeds: "1..9",
        plantedFaults: { ackBeforeHandoff: true },
        artifacts: false,
      }),
    );
    expect(sweep.runs).toBe(1);
    expect(sweep.failure?.report.seed).toBe(3);
    expect(() => withEnv({ [SEED_ENV]: "x" }, () => runSimSeeds({ scenario: myScenario, seeds: 1 }))).toThrow(
      /BROKER_SIM_SEED must be one seed/,
    );
  });

  it("refuses to replay a repro of another scenario", () => {
    const spec = {
      scenario: myScenario,
      seeds: 1,
      plantedFaults: { ackBeforeHandoff: true },
      outDir: "out/test-vitest-helper-user",
    };
    const f = runSimSeeds(spec, context).failure!;
    expect(() => replaySimRepro({ ...spec, scenario: happyPath }, f.repro!)).toThrow(
      /this test runs "happy-path"/,
    );
  });
});
