/**
 * The liveness phase extends while the world still makes progress (sim/run.ts point 3a): a
 * draining world gets the time it needs, a stalled one fails one progress window after the
 * budget, and the phase never runs past its hard cap.
 */

import { describe, expect, it } from "vitest";
import type { PlatformRow } from "../../sim/actors/platform-api.ts";
import { LIVENESS_CAP_FACTOR, type LivenessWorld, runLivenessPhase } from "../../sim/run.ts";

/** A world whose cursor moves by one every `everyMs` until `untilMs` (virtual, since 0). */
function fakeWorld(everyMs: number, untilMs: number): LivenessWorld & { ranTo: number } {
  const w = {
    elapsedMs: 0,
    ranTo: 0,
    violation: undefined,
    options: { acceptanceTimeoutMs: 30_000 },
    dispatcher: { opts: { retryMaxMs: 30_000 } },
    api: { rows: new Map<string, PlatformRow>() },
    server: { ackedSeq: 0 },
    runUntil(t: number) {
      w.elapsedMs = t;
      w.ranTo = t;
      w.server.ackedSeq = Math.floor(Math.min(t, untilMs) / everyMs);
    },
  };
  return w as unknown as LivenessWorld & { ranTo: number };
}

describe("the liveness phase extends while progress continues", () => {
  it("ends at the budget when nothing moved in its last progress window", () => {
    const w = fakeWorld(1_000, 300_000);
    expect(runLivenessPhase(w, 600_000)).toBe(0);
    expect(w.ranTo).toBe(600_000);
  });

  it("runs on a window at a time while the cursor moves, and stops after the first quiet window", () => {
    const w = fakeWorld(10_000, 700_000);
    // Windows of 120 s past the 600 s budget: 720 s still saw movement (up to 700 s), 840 s did not.
    expect(runLivenessPhase(w, 600_000)).toBe(240_000);
    expect(w.ranTo).toBe(840_000);
  });

  it("counts the platform's finished rows as progress too", () => {
    const w = fakeWorld(1_000, 0);
    const rows = w.api.rows as Map<string, PlatformRow>;
    const run = w.runUntil.bind(w);
    w.runUntil = (t: number) => {
      run(t);
      if (t <= 720_000) rows.set(`r${t}`, { status: "done" } as PlatformRow);
    };
    expect(runLivenessPhase(w, 600_000)).toBe(240_000);
  });

  it("does not extend a budget shorter than two progress windows (a shrunk repro's)", () => {
    const w = fakeWorld(1_000, Number.MAX_SAFE_INTEGER);
    expect(runLivenessPhase(w, 200_000)).toBe(0);
    expect(w.ranTo).toBe(200_000);
  });

  it("never runs past the cap, however long the world keeps creeping", () => {
    const w = fakeWorld(1_000, Number.MAX_SAFE_INTEGER);
    expect(runLivenessPhase(w, 600_000)).toBe((LIVENESS_CAP_FACTOR - 1) * 600_000);
    expect(w.ranTo).toBe(LIVENESS_CAP_FACTOR * 600_000);
  });

  it("stops extending at once when a checker reported a violation", () => {
    const w = fakeWorld(1_000, Number.MAX_SAFE_INTEGER);
    const run = w.runUntil.bind(w);
    w.runUntil = (t: number) => {
      run(t);
      if (t >= 600_000) (w as { violation: unknown }).violation = { invariant: "X" };
    };
    expect(runLivenessPhase(w, 600_000)).toBe(0);
  });
});
