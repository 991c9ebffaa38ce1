/**
 * Sharded sweeps (`--shard i/n`, sim/pool/shard.ts) and the merge of their `--json` outputs
 * (sim/pool/merge-summaries.ts): shards 1/n … n/n together run exactly the unsharded seeds, and
 * their merged summary is the unsharded sweep's.
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mergeCommand, mergeShardOutputs } from "../../sim/pool/merge-summaries.ts";
import { parseShard, shardSeeds } from "../../sim/pool/shard.ts";
import { EXIT_SAFETY, EXIT_USAGE, main, parseCli } from "../../sim/runner.ts";

function runMain(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(argv, { out: (l) => out.push(l), err: (l) => err.push(l), progress: false });
  return { code, out, err };
}

describe("sharded sweeps", () => {
  it.each([
    ["1..10", 4],
    ["5..5", 1],
    ["3..1000", 7],
    ["1..3", 3],
  ])("shards 1/n..n/n of %s (n = %i) together run exactly its seeds, each seed once", (range, n) => {
    const all = parseCli(["--seeds", range]).seeds;
    const parts = Array.from(
      { length: n },
      (_, i) => parseCli(["--seeds", range, "--shard", `${i + 1}/${n}`]).seeds,
    );
    expect(parts.flat().sort((a, b) => a - b)).toEqual(all);
    expect(new Set(parts.flat()).size).toBe(all.length);
    for (const p of parts) expect(p.length).toBeGreaterThan(0);
  });

  it("takes the seeds at positions i-1, i-1+n, ... of the range", () => {
    expect(shardSeeds([10, 11, 12, 13, 14, 15, 16], parseShard("2/3"))).toEqual([11, 14]);
    expect(parseCli(["--seeds", "1..10", "--shard", "1/4"]).seeds).toEqual([1, 5, 9]);
  });

  it.each([
    [["--shard", "0/4"], /i must be between 1 and n/],
    [["--shard", "5/4"], /i must be between 1 and n/],
    [["--shard", "1/0"], /n must be between 1 and/],
    [["--shard", "2"], /--shard needs i\/n/],
    [["--seeds", "1..2", "--shard", "3/4"], /--shard 3\/4 leaves no seed of 1\.\.2/],
  ])("rejects %j with exit 2", (argv, message) => {
    const r = runMain(argv);
    expect(r.code).toBe(EXIT_USAGE);
    expect(r.err.join("\n")).toMatch(message);
  });

  it("names the shard in the closing line", () => {
    const r = runMain(["--scenario", "happy-path", "--seeds", "1..2", "--shard", "2/2"]);
    expect(r.out.at(-1)).toMatch(/seeds 2 shard 2\/2\)/);
  });
});

describe("merging shard summaries", () => {
  const base = ["--scenario", "happy-path", "--seeds", "1..4", "--swarm", "--json"];

  it("rebuilds the unsharded sweep's summary, coverage matrix and exit code from the shards' --json output", () => {
    const whole = runMain(base);
    const shards = [1, 2, 3].map((i) => ({
      name: `shard-${i}.jsonl`,
      text: runMain([...base, "--shard", `${i}/3`]).out.join("\n"),
    }));
    const merged = mergeShardOutputs(shards);
    expect(merged.summary).toEqual((JSON.parse(whole.out.at(-1)!) as { summary: unknown }).summary);
    expect(merged.runs).toBe(4);
    expect(merged.exitCode).toBe(whole.code);
  });

  it("reports the failures of every shard with their rerun lines and the runner's exit code", () => {
    const argv = ["--scenario", "happy-path", "--seeds", "1..2", "--plant", "ackBeforeHandoff", "--json"];
    const shards = [1, 2].map((i) => ({
      name: `s${i}`,
      text: runMain([...argv, "--shard", `${i}/2`]).out.join("\n"),
    }));
    const merged = mergeShardOutputs(shards);
    expect(merged.exitCode).toBe(EXIT_SAFETY);
    expect(merged.failures.map((f) => f.seed)).toEqual([1, 2]);
    expect(merged.failures[0]!.rerun).toMatch(
      /^rerun: npx tsx sim\/runner\.ts --scenario happy-path --seed 1/,
    );
  });

  it("refuses overlapping shards and lines that are not JSON, and the command exits 2 on them", () => {
    const line = runMain(["--scenario", "happy-path", "--seed", "1", "--json"]).out[0]!;
    expect(() =>
      mergeShardOutputs([
        { name: "a", text: line },
        { name: "b", text: line },
      ]),
    ).toThrow(/b:1: happy-path seed 1 is in two shards/);
    expect(() => mergeShardOutputs([{ name: "c", text: "FAIL something" }])).toThrow(/c:1: not a JSON line/);
    const dir = mkdtempSync(join(tmpdir(), "merge-"));
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, "not json\n");
    const err: string[] = [];
    expect(
      mergeCommand(
        [bad],
        () => {},
        (l) => err.push(l),
      ),
    ).toBe(EXIT_USAGE);
    expect(err.join("\n")).toMatch(/not a JSON line/);
    expect(
      mergeCommand(
        [],
        () => {},
        (l) => err.push(l),
      ),
    ).toBe(EXIT_USAGE);
  });
});
