/**
 * The worker pool (sim/pool/): a pooled sweep prints exactly what a serial run of the same seeds
 * prints (runs, failures, summary table, coverage matrix, JSON objects, exit code), a runaway seed
 * is stopped and reported with its rerun line, and a worker's error fails the sweep.
 */

import { describe, expect, it } from "vitest";
import { runCli } from "../../sim/pool/cli.ts";
import { runPool } from "../../sim/pool/pool.ts";
import { progressLine, progressPrinter, showProgress } from "../../sim/pool/progress.ts";
import type { PoolResult, PoolTask } from "../../sim/pool/protocol.ts";
import { EXIT_PASS, EXIT_RUNAWAY, EXIT_SAFETY, main } from "../../sim/runner.ts";
import { captureIo } from "../support/capture-io.ts";

/** The output with the wall-clock part of the closing summary line (time taken, events/s) cut. */
function timeless(lines: string[]): string[] {
  return lines.map((l) => l.replace(/ in \d+\.\d s( \(\d+ events\/s\))?$/, " in <wall>"));
}

function serial(argv: string[]) {
  const c = captureIo();
  const code = main(argv, c.io);
  return { code, out: timeless(c.out), err: timeless(c.err) };
}

async function pooled(argv: string[]) {
  const c = captureIo();
  const code = await runCli(argv, c.io);
  return { code, out: timeless(c.out), err: timeless(c.err) };
}

describe("worker pool", () => {
  it("gives a sweep the same output and exit code as a serial run, and says where the wall clock was cut", async () => {
    const argv = ["--scenario", "happy-path", "--seeds", "1..3", "--swarm"];
    const one = serial(argv);
    const two = await pooled([...argv, "--jobs", "2"]);
    expect(two).toEqual(one);
    expect(one.code).toBe(EXIT_PASS);
    expect(one.out.at(-1)).toMatch(/^ok: 3 runs .* in <wall>$/);
    expect(one.out.join("\n")).toMatch(/coverage/);
  }, 120_000);

  it("gives a failing sweep the same output and exit code as a serial run", async () => {
    const failing = [
      "--scenario",
      "happy-path",
      "--seeds",
      "1..2",
      "--plant",
      "ackBeforeHandoff",
      "--no-export",
    ];
    const one = serial(failing);
    expect(one.code).toBe(EXIT_SAFETY);
    expect(await pooled([...failing, "--jobs", "2"])).toEqual(one);
  }, 120_000);

  it("gives a --json --check-determinism sweep the same objects and exit code as a serial run", async () => {
    const json = ["--scenario", "happy-path", "--seeds", "2..3", "--swarm", "--json", "--check-determinism"];
    const a = serial(json);
    expect(a.out.length).toBe(3);
    expect(await pooled([...json, "--jobs", "2"])).toEqual(a);
  }, 120_000);

  it("stops a seed that overruns its wall-clock budget, reports it and carries on with a fresh worker", async () => {
    const tasks: PoolTask[] = [1, 2, 4, 5].map((seed) => ({
      scenario: "happy-path",
      seed,
      target: "reference",
      options: { swarm: true },
      checkDeterminism: false,
    }));
    const results = await runPool(tasks, {
      jobs: 1,
      seedBudgetMs: 2_000,
      workerUrl: new URL("../support/pool-hanging-worker.ts", import.meta.url),
    });
    expect(results.map((r) => (r.kind === "runaway" ? `runaway ${r.seed}` : `ran ${r.report.seed}`))).toEqual(
      ["ran 1", "runaway 2", "ran 4", "ran 5"],
    );
  });

  it("fails the sweep when a run throws in a worker", async () => {
    const task: PoolTask = {
      scenario: "happy-path",
      seed: 3,
      target: "reference",
      options: {},
      checkDeterminism: false,
    };
    await expect(
      runPool([task], { jobs: 1, workerUrl: new URL("../support/pool-hanging-worker.ts", import.meta.url) }),
    ).rejects.toThrow(/happy-path seed 3 threw in a pool worker:\nError: boom/);
  });

  it("prints a runaway seed with its rerun line and exits 6", () => {
    const c = captureIo();
    const results: PoolResult[] = [{ kind: "runaway", scenario: "happy-path", seed: 7, budgetMs: 50 }];
    const code = main(["--scenario", "happy-path", "--seed", "7", "--swarm"], c.io, {
      results,
      startedMs: 0,
    });
    expect(code).toBe(EXIT_RUNAWAY);
    expect(c.out.join("\n")).toContain(
      "RUNAWAY happy-path seed 7: still running after 50 ms wall-clock (--seed-budget-ms); stopped\n" +
        "  rerun: npx tsx sim/runner.ts --scenario happy-path --seed 7 --swarm",
    );
    expect(c.out.at(-1)).toMatch(/^FAILED: 1 runs .*1 runaway/);
  });

  it("draws the progress line only on a terminal outside CI and without --json", () => {
    expect(showProgress({}, true, false)).toBe(true);
    expect(showProgress({ CI: "true" }, true, false)).toBe(false);
    expect(showProgress({ CI: "false" }, true, false)).toBe(true);
    expect(showProgress({}, false, false)).toBe(false);
    expect(showProgress({}, true, true)).toBe(false);
  });

  it("shows runs done of total, failures, events/s and the time left", () => {
    expect(progressLine({ done: 10, total: 40, failures: 1, events: 2_000_000, elapsedMs: 20_000 })).toBe(
      "10/40 runs, 1 failing, 100,000 events/s, about 1 min 0 s left",
    );
    const written: string[] = [];
    const print = progressPrinter((s) => written.push(s), 1_000);
    print({ done: 1, total: 3, failures: 0, events: 10, elapsedMs: 5_000 });
    print({ done: 2, total: 3, failures: 0, events: 20, elapsedMs: 5_500 });
    print({ done: 3, total: 3, failures: 0, events: 30, elapsedMs: 5_600 });
    expect(written).toHaveLength(2);
    expect(written[1]).toMatch(/^\r3\/3 runs, 0 failing, 5 events\/s +\n$/);
  });
});
