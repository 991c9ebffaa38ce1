/**
 * Findings against the published package (docs/conformance.md): every replay file here runs
 * against the target it records and must still break the invariant it records. A change that
 * makes the harness stop finding one (an adapter that hides it, a checker that no longer sees it)
 * fails here.
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
});
