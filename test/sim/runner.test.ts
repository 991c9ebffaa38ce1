import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { EXIT_PASS, EXIT_USAGE, main, parseCli } from "../../sim/runner.ts";

function runMain(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), progress: false });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("runner command line", () => {
  it.each([
    [["--scenario", "no-such-scenario"], /unknown scenario "no-such-scenario"; known scenarios: happy-path/],
    [["--seeds", "10..2"], /range 10\.\.2 is empty/],
    [["--seeds", "1-5"], /--seeds needs a range like 1\.\.200/],
    [["--seed", "abc"], /--seed needs a non-negative integer/],
    [["--seed", "1", "--seeds", "1..2"], /--seed or --seeds, not both/],
    [["--frobnicate"], /Unknown option '--frobnicate'/],
    [["--trace", "x.jsonl", "--seeds", "1..3"], /--trace needs exactly one scenario/],
    [["stray"], /unexpected argument: stray/],
    [["--skip", "nope"], /--skip: unknown scenario "nope"/],
    [["--scenario", "soak", "--skip", "soak"], /--skip leaves no scenario to run/],
  ])("rejects %j with exit 2 and a clear message", (argv, message) => {
    const r = runMain(argv);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err).toMatch(message);
    expect(r.err).toMatch(/usage: npx tsx sim\/runner\.ts/);
  });

  it("parses a seed range, swarm and jobs", () => {
    const o = parseCli(["--seeds", "3..5", "--swarm", "--jobs", "2", "--scenario", "happy-path"]);
    expect(o.seeds).toEqual([3, 4, 5]);
    expect(o.swarm).toBe(true);
    expect(o.jobs).toBe(2);
    expect(o.scenarios.map((s) => s.name)).toEqual(["happy-path"]);
  });

  it("leaves skipped scenarios out of the sweep", () => {
    const o = parseCli(["--skip", "soak,grace"]);
    const names = o.scenarios.map((s) => s.name);
    expect(names).not.toContain("soak");
    expect(names).not.toContain("grace");
    expect(names).toContain("happy-path");
  });

  it("prints one JSON object per run with the required fields", () => {
    const r = runMain(["--scenario", "happy-path", "--seed", "3", "--json"]);
    expect(r.code).toBe(EXIT_PASS);
    const line = JSON.parse(r.out) as Record<string, unknown>;
    for (const k of ["scenario", "seed", "ok", "events", "virtualMs", "traceHash"])
      expect(line).toHaveProperty(k);
    expect(line.ok).toBe(true);
  });

  it("exits 2 from a real process on an unknown flag", () => {
    const p = spawnSync("npx", ["tsx", "sim/runner.ts", "--no-such-flag"], { encoding: "utf8" });
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/Unknown option '--no-such-flag'/);
  }, 60_000);
});
