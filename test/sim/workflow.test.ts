/**
 * The GitHub Actions workflow of sharded sweeps (.github/workflows/sim.yml) parses as YAML and has
 * the structure the README promises: shards on every push, a larger sweep on a schedule, artifacts
 * for failures, and a merge job that runs the merge tool over every shard's output.
 */

import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseDocument } from "yaml";

const TEXT = readFileSync(new URL("../../.github/workflows/sim.yml", import.meta.url), "utf8");

interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  strategy?: { "fail-fast"?: boolean; matrix?: Record<string, unknown> };
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  env: Record<string, string>;
  jobs: Record<string, Job>;
}

function load(): Workflow {
  const doc = parseDocument(TEXT);
  expect(doc.errors).toEqual([]);
  expect(doc.warnings).toEqual([]);
  return doc.toJS() as Workflow;
}

/** The two literal alternatives of a `cond && 'a' || 'b'` expression. */
function alternatives(expr: string): string[] {
  return [...expr.matchAll(/'([^']*)'/g)].map((m) => m[1]!).filter((s) => !/^[a-z_]+$/.test(s));
}

describe("sim workflow", () => {
  it("parses and runs on every push and pull request, on a schedule and on demand", () => {
    const wf = load();
    expect(Object.keys(wf.on).sort()).toEqual(["pull_request", "push", "schedule", "workflow_dispatch"]);
    const cron = (wf.on.schedule as Array<{ cron: string }>)[0]!.cron;
    expect(cron.split(" ")).toHaveLength(5);
  });

  it("runs one shard per matrix entry, with as many shards as SHARDS says, and a larger scheduled sweep", () => {
    const wf = load();
    const shard = wf.jobs.shard!;
    expect(shard.strategy?.["fail-fast"]).toBe(false);
    const lists = alternatives(String(shard.strategy?.matrix?.shard)).map((s) => JSON.parse(s) as number[]);
    const counts = alternatives(wf.env.SHARDS!).map(Number);
    expect(lists.map((l) => l.length)).toEqual(counts);
    for (const l of lists) expect(l).toEqual(Array.from({ length: l.length }, (_, i) => i + 1));
    const [big, push] = alternatives(wf.env.SEEDS!).map((r) => r.split("..").map(Number));
    expect(big![1]!).toBeGreaterThan(push![1]!);
    const sweep = shard.steps.find((s) => s.run?.includes("sim/runner.ts --swarm"));
    expect(sweep?.run).toContain(`--shard "\${{ matrix.shard }}/$SHARDS" --json`);
    expect(sweep?.run).toContain(`> "out/shards/shard-\${{ matrix.shard }}.jsonl"`);
  });

  it("uploads each shard's output always and failing repros, traces and timelines on failure", () => {
    const steps = load().jobs.shard!.steps.filter((s) => s.uses?.startsWith("actions/upload-artifact@"));
    const always = steps.find((s) => s.if === "always()");
    expect(always?.with?.path).toBe("out/shards/");
    const failing = steps.find((s) => s.if === "failure()");
    expect(String(failing?.with?.path).split("\n").filter(Boolean)).toEqual(["out/failures/", "out/repros/"]);
  });

  it("merges every shard's summary into one report, even when a shard failed", () => {
    const merge = load().jobs.merge!;
    expect(merge.needs).toBe("shard");
    expect(merge.if).toBe("always()");
    const download = merge.steps.find((s) => s.uses?.startsWith("actions/download-artifact@"));
    expect(download?.with).toMatchObject({
      pattern: "sim-shard-*",
      path: "out/shards",
      "merge-multiple": true,
    });
    expect(merge.steps.some((s) => s.run?.includes("sim/pool/merge-summaries.ts out/shards/*.jsonl"))).toBe(
      true,
    );
  });

  it("pins every action to a major version and names only scripts that exist", () => {
    const wf = load();
    for (const job of Object.values(wf.jobs)) {
      for (const step of job.steps) {
        if (step.uses) expect(step.uses).toMatch(/^actions\/[a-z-]+@v\d+$/);
        for (const m of step.run?.matchAll(/\bsim\/[\w/.-]+\.ts\b/g) ?? []) {
          expect(existsSync(new URL(`../../${m[0]}`, import.meta.url)), m[0]).toBe(true);
        }
      }
    }
  });
});
