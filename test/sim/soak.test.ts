/**
 * The long all-faults soak (sim/scenarios/soak.ts) in `npm test`: its fixed seed range with every
 * fault at its defaults, and a few swarm seeds that draw the faults and their rates. Its own file so
 * vitest runs it beside the other sweeps; each seed is 1–4 s.
 */

import { describe, expect, it } from "vitest";
import { runScenario } from "../../sim/run.ts";
import { scenarioByName } from "../../sim/scenarios/index.ts";
import { sweepPasses, TEST_SEEDS } from "./support/scenario-sweep.ts";

const soak = scenarioByName("soak")!;

describe("soak", () => {
  it("passes its seed range with every fault on and covers its declared events", () => {
    sweepPasses(soak, TEST_SEEDS);
  }, 240_000);

  it("passes swarm seeds 1..8 (faults and rates drawn per seed)", () => {
    sweepPasses(soak, [1, 2, 3, 4, 5, 6, 7, 8], true);
  }, 240_000);

  it("delivers every acked message when a failed dispatch puts its row back into a full inbox (swarm seed 85)", () => {
    const r = runScenario(soak, 85, { swarm: true });
    expect(r.violation).toBeUndefined();
    expect(r.coverage["put-back over capacity"] ?? 0).toBeGreaterThan(0);
  }, 120_000);
});
