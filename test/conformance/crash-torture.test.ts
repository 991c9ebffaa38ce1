/**
 * The backlog a plugin sees across SIGKILL restarts (PROTOCOL §1.14, §2.5, S2, S3, L9): the short
 * version of `npm run torture` (scripts/crash-torture.ts), against the conformance target.
 */

import { describe, expect, it } from "vitest";
import { runCrashTorture, schedule } from "./crash-torture.ts";
import { conforms, TARGET } from "./harness.ts";

describe(`SIGKILL restarts of the ${TARGET} daemon under a streaming SDK plugin`, () => {
  it("draws the same kill schedule from the same seed, and another from another seed", () => {
    expect(schedule({ seed: 7, kills: 20 })).toEqual(schedule({ seed: 7, kills: 20 }));
    expect(schedule({ seed: 7, kills: 20 })).not.toEqual(schedule({ seed: 8, kills: 20 }));
    for (const life of schedule({ seed: 7, kills: 50 })) {
      expect(life.upMs).toBeGreaterThanOrEqual(100);
      expect(life.upMs).toBeLessThanOrEqual(1500);
      expect(life.downMessages).toBeLessThanOrEqual(3);
    }
  });

  conforms(
    "§2.5/L9 across seeded SIGKILL restarts no acked message is lost, the cursor never regresses and every message is pushed",
    {},
    async () => {
      const r = await runCrashTorture({ seed: 20261207, kills: 3, target: TARGET });
      expect(r.messages).toBeGreaterThan(5);
      expect({
        lost: r.lostSeqs,
        cursorRegressions: r.cursorRegressions,
        neverPushed: r.neverPushed,
        finalAckedSeq: r.finalAckedSeq,
      }).toEqual({ lost: [], cursorRegressions: [], neverPushed: [], finalAckedSeq: r.messages });
    },
    120_000,
  );
});
