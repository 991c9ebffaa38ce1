/**
 * Golden trace hashes: the rolling trace hash of a few pinned happy-path seeds. A change here means
 * the simulated run is no longer the same run — a changed draw order, a new output of the core, a
 * different latency model, a reworded frame. That may well be intended; the point is that it shows
 * up in review instead of silently invalidating every saved `rerun:` line.
 *
 * How to update after an intended change:
 *   npx tsx sim/runner.ts --scenario happy-path --seed 1 --json      (and 2, 3, 42)
 * copy each `traceHash` (and `events`, `virtualMs`) below, and say in the commit message why the
 * runs changed. To see *what* changed, write both traces (`--trace before.jsonl` on the old code,
 * `--trace after.jsonl` on the new) and diff them.
 */

import { describe, expect, it } from "vitest";
import { runScenario } from "../../sim/run.ts";
import { happyPath } from "../../sim/scenarios/happy-path.ts";

const GOLDEN: Array<{ seed: number; traceHash: string; events: number; virtualMs: number }> = [
  { seed: 1, traceHash: "b37c6fa935054570", events: 15014, virtualMs: 702659 },
  { seed: 2, traceHash: "2caf8ce1f9258674", events: 9952, virtualMs: 684673 },
  { seed: 3, traceHash: "9b02d2fcf4ec1c69", events: 11818, virtualMs: 686894 },
  { seed: 42, traceHash: "db45881d28d668e0", events: 14823, virtualMs: 700931 },
];

describe("golden trace hashes of the happy path", () => {
  it.each(GOLDEN)("seed $seed still produces trace $traceHash", ({ seed, traceHash, events, virtualMs }) => {
    const r = runScenario(happyPath, seed);
    expect(r.ok).toBe(true);
    expect({ traceHash: r.traceHash, events: r.events, virtualMs: r.virtualMs }).toEqual({
      traceHash,
      events,
      virtualMs,
    });
  });
});
