/**
 * Guided exploration (sim/explore/): a forked run replays its parent up to the fork point and then
 * draws fresh, reproducibly; the explorer spends the uniform sweep's budget, forks rare runs after
 * its first round, and a guided sweep prints the same on one worker as on two, with rerun lines
 * that name the parent seed, the fork point and the stream.
 */

import { describe, expect, it } from "vitest";
import { GuidedExplorer } from "../../sim/explore/guided.ts";
import { runCli } from "../../sim/pool/cli.ts";
import { main, parseCli, rerunLine, sweepTasks, UsageError } from "../../sim/runner.ts";
import { SCENARIOS } from "../../sim/scenarios/index.ts";
import { runScenario } from "../../sim/run.ts";
import { scenarioByName } from "../../sim/scenarios/index.ts";
import { captureIo } from "../support/capture-io.ts";

const happy = scenarioByName("happy-path")!;

function timeless(lines: string[]): string[] {
  return lines.map((l) => l.replace(/ in \d+\.\d s( \(\d+ events\/s\))?$/, " in <wall>"));
}

describe("forked runs", () => {
  it("replay the parent's trace up to the fork point, then diverge, the same way on every rerun", () => {
    const parent = runScenario(happy, 3, { recordTrace: true });
    const fork = { atEvent: 400, stream: 1 };
    const a = runScenario(happy, 3, { recordTrace: true, fork });
    const b = runScenario(happy, 3, { fork });
    const other = runScenario(happy, 3, { fork: { atEvent: 400, stream: 2 } });
    expect(b.traceHash).toBe(a.traceHash);
    expect(other.traceHash).not.toBe(a.traceHash);
    expect(a.traceHash).not.toBe(parent.traceHash);
    const p = parent.trace!;
    const f = a.trace!;
    let same = 0;
    while (same < p.length && p[same] === f[same]) same++;
    // At least the lines of the first 300 events are the parent's (events and lines are not 1:1).
    expect(same).toBeGreaterThan(300);
    expect(same).toBeLessThan(p.length);
    expect(a.fork).toEqual(fork);
  }, 60_000);

  it("are named by the parent seed, fork point and stream in their rerun line, which parses back", () => {
    const line = rerunLine(
      { scenario: "grace", seed: 12, fork: { atEvent: 345, stream: 2 }, swarmFrom: 7 },
      true,
    );
    expect(line).toBe(
      "rerun: npx tsx sim/runner.ts --scenario grace --seed 12 --fork-at 345 --fork-stream 2 --swarm --swarm-from 7",
    );
    const opts = parseCli(line.split(" ").slice(4));
    expect(opts.fork).toEqual({ atEvent: 345, stream: 2 });
    expect(opts.swarmFrom).toBe(7);
  });

  it("refuse half a fork point, a fork over a seed range, --swarm-from without --swarm and a bad --explore", () => {
    const bad = [
      ["--scenario", "grace", "--seed", "1", "--fork-at", "3"],
      ["--scenario", "grace", "--seeds", "1..2", "--fork-at", "3", "--fork-stream", "1"],
      ["--scenario", "grace", "--seed", "1", "--fork-at", "0", "--fork-stream", "1"],
      ["--seed", "1", "--swarm-from", "4"],
      ["--explore", "random"],
      ["--explore", "guided", "--swarm", "--swarm-from", "2"],
      ["--explore", "guided", "--seeds", "1..4", "--shard", "1/2"],
    ];
    for (const argv of bad) expect(() => parseCli(argv), argv.join(" ")).toThrow(UsageError);
    expect(parseCli([]).explore).toBe("uniform");
  });
});

describe("a uniform sweep", () => {
  it("runs seed-major: every scenario's first seed, then every scenario's second seed", () => {
    const tasks = sweepTasks(parseCli(["--seeds", "1..2"]));
    const names = SCENARIOS.map((x) => x.name);
    expect(tasks).toEqual([
      ...names.map((scenario) => ({ scenario, seed: 1 })),
      ...names.map((scenario) => ({ scenario, seed: 2 })),
    ]);
  });
});

describe("the guided explorer", () => {
  it("spends the uniform budget, plain seeds first, then forks the runs that reached rare events", () => {
    const ex = new GuidedExplorer(["a", "b"], [1, 2, 3, 4, 5, 6, 7, 8], true);
    const tasks = [];
    for (let round = ex.nextRound(); round.length > 0; round = ex.nextRound()) {
      for (const t of round) {
        tasks.push(t);
        const rare = t.scenario === "a" && t.seed === 2 && t.fork === undefined;
        ex.record(t, {
          coverage: rare ? { common: 1, rare: 1 } : { common: 1 },
          coverageFirstAt: rare ? { common: 5, rare: 77 } : { common: 5 },
        });
      }
    }
    expect(tasks.filter((t) => t.scenario === "a")).toHaveLength(8);
    expect(tasks.filter((t) => t.scenario === "b")).toHaveLength(8);
    // First round: seed-major plain seeds.
    expect(tasks.slice(0, 4)).toEqual([
      { scenario: "a", seed: 1 },
      { scenario: "b", seed: 1 },
      { scenario: "a", seed: 2 },
      { scenario: "b", seed: 2 },
    ]);
    const forks = tasks.filter((t) => t.fork !== undefined);
    expect(forks.length).toBeGreaterThan(0);
    for (const f of forks) expect(f).toMatchObject({ scenario: "a", seed: 2, fork: { atEvent: 77 } });
    expect(new Set(forks.map((f) => f.fork!.stream)).size).toBe(forks.length);
    expect(tasks.some((t) => t.swarmFrom === 2)).toBe(true);
  });
});

describe("a guided sweep", () => {
  it("prints the same on one worker and on two, forks included", async () => {
    const argv = [
      "--scenario",
      "happy-path",
      "--seeds",
      "1..5",
      "--swarm",
      "--explore",
      "guided",
      "--verbose",
    ];
    const c1 = captureIo();
    const code1 = main(argv, c1.io);
    const c2 = captureIo();
    const code2 = await runCli([...argv, "--jobs", "2"], c2.io);
    expect(code2).toBe(code1);
    expect(timeless(c2.out)).toEqual(timeless(c1.out));
    const out = c1.out.join("\n");
    expect(out).toMatch(/ok: 5 runs/);
    expect(out).toMatch(/run happy-path seed \d+ fork-at \d+ stream 1 drawn/);
  }, 180_000);
});
