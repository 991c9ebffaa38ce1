/**
 * The mutation rerun applies a survivor from Stryker's report by hand: the text between the
 * report's 1-based locations is replaced, on one line or across lines, and nothing else changes.
 */

import { describe, expect, it } from "vitest";
import { applyMutant } from "../../scripts/mutation/rerun-survivors.ts";

const SOURCE = ["function f(a: number) {", "  if (a > 1) return 2;", "  return 3;", "}"].join("\n");

describe("applyMutant", () => {
  it("replaces the span of a mutant on one line", () => {
    const m = {
      id: "1",
      replacement: "a >= 1",
      status: "Survived",
      location: { start: { line: 2, column: 7 }, end: { line: 2, column: 12 } },
    };
    expect(applyMutant(SOURCE, m).split("\n")[1]).toBe("  if (a >= 1) return 2;");
  });

  it("replaces a span across lines and keeps the rest of the file", () => {
    const m = {
      id: "2",
      replacement: "{}",
      status: "Survived",
      location: { start: { line: 1, column: 23 }, end: { line: 4, column: 2 } },
    };
    expect(applyMutant(SOURCE, m)).toBe("function f(a: number) {}");
  });
});
