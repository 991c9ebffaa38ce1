/**
 * Every replay file in this directory runs exactly (its decision log, planted faults and setup
 * edits) and must do what it records: `expect.outcome` "fail" = break `expect.invariant`;
 * "pass" = pass (a fixed bug's repro, which keeps `brokeInvariant` for the record). See README.md.
 */

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeReplay, readReproFile, replayReproFile } from "../../sim/shrink/repro-file.ts";

const DIR = "test/regressions";
const files = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort();

describe("regression replay files", () => {
  it("has fixtures to replay", () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)("%s does what it records", (name) => {
    const file = readReproFile(join(DIR, name));
    const outcome = replayReproFile(file);
    // The sentence names the invariant the file recorded and what the run did instead.
    expect(outcome.asExpected, `${name}: ${describeReplay(file, outcome)}`).toBe(true);
  });
});
