import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../sim/run.ts";
import { happyPath } from "../../sim/scenarios/happy-path.ts";

describe("determinism", () => {
  it("gives the same trace hash and event count for the same seed twice in one process", () => {
    const a = runScenario(happyPath, 11);
    const b = runScenario(happyPath, 11);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.events).toBe(a.events);
    expect(b.virtualMs).toBe(a.virtualMs);
  });

  it("gives different runs for different seeds", () => {
    expect(runScenario(happyPath, 12).traceHash).not.toBe(runScenario(happyPath, 13).traceHash);
  });

  it("gives the same trace hash for the same seed in two separate processes", () => {
    const run = () => {
      const p = spawnSync(
        "npx",
        ["tsx", "sim/runner.ts", "--scenario", "happy-path", "--seed", "5", "--json"],
        {
          encoding: "utf8",
        },
      );
      expect(p.status).toBe(0);
      return (JSON.parse(p.stdout.trim()) as { traceHash: string }).traceHash;
    };
    const first = run();
    expect(run()).toBe(first);
    expect(first).toBe(runScenario(happyPath, 5).traceHash);
  }, 120_000);
});
