import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Streams } from "../../sim/kernel/prng.ts";
import { runScenario } from "../../sim/run.ts";
import { happyPath } from "../../sim/scenarios/happy-path.ts";
import { Decisions, logLength } from "../../sim/shrink/decision-log.ts";
import { measure, runRepro } from "../../sim/shrink/repro.ts";
import {
  formatReproFile,
  parseReproFile,
  ReproFileError,
  readReproFile,
  replayReproFile,
  reproFileFrom,
  writeReproFile,
} from "../../sim/shrink/repro-file.ts";
import { shrinkRun } from "../../sim/shrink/shrink.ts";

describe("the decision log", () => {
  it("records a run without changing it: same trace hash as the plain seeded run", () => {
    const plain = runScenario(happyPath, 7);
    const rec = new Decisions();
    const recorded = runScenario(happyPath, 7, { decisions: rec });
    expect(recorded.traceHash).toBe(plain.traceHash);
    expect(logLength(rec.log())).toBeGreaterThan(1000);
    expect(Object.keys(rec.log())).toEqual(
      expect.arrayContaining(["scenario", "workload", "network", "broker.random"]),
    );
  });

  it("replays a whole run from the log alone, to the identical trace hash", () => {
    const rec = new Decisions();
    const first = runScenario(happyPath, 7, { decisions: rec });
    // A different seed proves the draws come from the log, not from the seeded generators.
    const replay = new Decisions(rec.log());
    const again = runScenario(happyPath, 999, { decisions: replay });
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.events).toBe(first.events);
    expect(replay.fallbacks).toBe(0);
  });

  it("serves the simplest value once a replayed stream runs out: no for chance, 0 for ints, distinct ids", () => {
    const d = new Decisions({ s: [] });
    const s = new Streams(1, d).get("s");
    expect(s.chance(0.99)).toBe(false);
    expect(s.range(5, 50)).toBe(5);
    expect(s.exponential(100) === 0).toBe(true);
    expect(s.uuid()).not.toBe(s.uuid());
    expect(d.fallbacks).toBeGreaterThan(0);
  });

  it("keeps the draws of two Streams that open the same label apart", () => {
    const d = new Decisions();
    new Streams(1, d).get("x").next();
    new Streams(1, d).get("x").next();
    expect(Object.keys(d.log())).toEqual(["x", "x#2"]);
  });
});

describe("shrinking", () => {
  it("turns a planted ackBeforeHandoff failure into a smaller log that still breaks S1 and replays to its hash", () => {
    const start = {
      scenario: "happy-path",
      seed: 2,
      swarm: false,
      planted: ["ackBeforeHandoff" as const],
      edits: {},
    };
    const r = shrinkRun(start);
    expect(r.invariant).toBe("S1");
    expect(r.shrunk.report.violation?.invariant).toBe("S1");
    expect(r.shrunk.size.traceLines).toBeLessThan(r.original.size.traceLines);
    expect(r.shrunk.size.events).toBeLessThanOrEqual(25);
    expect(r.shrunk.size.events).toBeLessThan(r.original.size.events);
    const again = runRepro(r.spec);
    expect(again.report.violation?.invariant).toBe("S1");
    expect(again.report.traceHash).toBe(r.shrunk.report.traceHash);
  });

  it("refuses to shrink a run that passes", () => {
    expect(() =>
      shrinkRun(
        { scenario: "happy-path", seed: 2, swarm: false, planted: [], edits: {} },
        { timeBudgetMs: 1 },
      ),
    ).toThrow(/does not fail/);
  });
});

describe("replay files", () => {
  const dir = mkdtempSync(join(tmpdir(), "repro-"));
  const start = {
    scenario: "happy-path",
    seed: 1,
    swarm: false,
    planted: ["persistBeforeAck" as const],
    edits: {},
  };
  const path = join(dir, "s3.json");
  beforeAll(() => {
    writeReproFile(path, reproFileFrom(shrinkRun(start), path));
  });

  it("round-trips: written, read back and replayed to the recorded invariant and trace hash", () => {
    const f = readReproFile(path);
    expect(f.expect).toMatchObject({ outcome: "fail", invariant: "S3" });
    expect(f.rerun).toBe(`npx tsx sim/runner.ts --replay ${path}`);
    const o = replayReproFile(f);
    expect(o.asExpected).toBe(true);
    expect(o.sameHash).toBe(true);
  });

  it("is readable JSON with each stream's draws on one line", () => {
    const text = readFileSync(path, "utf8");
    expect(text).toContain('"decisions": {');
    expect(text).toMatch(/\n {4}"workload": \[[0-9,]*\]/);
    expect(formatReproFile(parseReproFile(text, path))).toBe(text);
  });

  it("reports a replay that no longer breaks its invariant as not reproduced", () => {
    const f = readReproFile(path);
    const o = replayReproFile({ ...f, plantedFaults: [] });
    expect(o.asExpected).toBe(false);
    expect(o.report.ok).toBe(true);
  });

  it("rejects a malformed file with a clear error", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(
      bad,
      JSON.stringify({
        format: "sim-repro/1",
        scenario: "happy-path",
        seed: 1,
        swarm: false,
        plantedFaults: ["nope"],
      }),
    );
    expect(() => readReproFile(bad)).toThrow(ReproFileError);
    expect(() => readReproFile(bad)).toThrow(/plantedFaults/);
    expect(() => parseReproFile("{", "x.json")).toThrow(/not JSON/);
  });
});

describe("a repro's size", () => {
  it("counts core steps and fault firings as events, but not a storage write's immediate success", () => {
    const lines = [
      '{"t":0,"k":"in","v":{"kind":"start"}}',
      '{"t":5,"k":"out","v":{"kind":"storage","id":1,"op":{"op":"inbox_put"}}}',
      '{"t":5,"k":"in","v":{"kind":"storage_result","id":1,"ok":true}}',
      '{"t":6,"k":"out","v":{"kind":"storage","id":2,"op":{"op":"inbox_put"}}}',
      '{"t":6,"k":"fault","w":"fire","f":"storage-fail"}',
      '{"t":6,"k":"in","v":{"kind":"storage_result","id":2,"ok":false,"error":"EIO"}}',
      '{"t":6,"k":"out","v":{"kind":"storage","id":3,"op":{"op":"write_cursor"}}}',
      '{"t":9,"k":"in","v":{"kind":"storage_result","id":3,"ok":true}}',
      '{"t":7,"k":"advance"}',
      '{"t":8,"k":"fault","w":"heal","f":"storage-fail"}',
      '{"t":9,"k":"net","from":"a","to":"b"}',
    ];
    const s = measure(lines, 3);
    expect(s).toEqual({
      events: 5,
      traceLines: 11,
      coreSteps: 5,
      storageCompletions: 1,
      workloadItems: 0,
      deliveries: 1,
      faultFirings: 1,
      draws: 3,
    });
  });
});
