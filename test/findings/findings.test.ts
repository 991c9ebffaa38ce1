/**
 * Findings against the published package (docs/conformance.md): every replay file here runs
 * against the target it records and must still break the invariant it records. A change that
 * makes the harness stop finding one (an adapter that hides it, a checker that no longer sees it)
 * fails here. Each also replays on the reference core, which keeps that invariant: the repro shows
 * the package's bug, not a world where no broker could keep it.
 */

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeReplay, readReproFile, replayReproFile } from "../../sim/shrink/repro-file.ts";

const DIR = "test/findings";
const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort();

describe("findings against the published package", () => {
  it("has findings to replay", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)("%s still breaks its invariant on the published target", (name) => {
    const file = readReproFile(join(DIR, name));
    expect(file.target).toBe("published");
    expect(file.expect.outcome).toBe("fail");
    const outcome = replayReproFile(file);
    expect(outcome.report.target).toBe("published");
    expect(outcome.asExpected, `${name}: ${describeReplay(file, outcome)}`).toBe(true);
  });

  it.each(files)("%s keeps its invariant on the reference core (the world is fair)", (name) => {
    const file = readReproFile(join(DIR, name));
    if (file.expect.outcome !== "fail") throw new Error(`${name} records no failure`);
    const invariant = file.expect.invariant;
    const outcome = replayReproFile({ ...file, target: "reference", checkers: [invariant] });
    expect(outcome.report.target).toBe("reference");
    expect(outcome.report.violation, `${name} breaks ${invariant} on the reference too`).toBeUndefined();
  });
});
