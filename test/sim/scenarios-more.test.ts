/** Every scenario passes a fixed seed range (part 2; part 1 is scenarios.test.ts). */

import { describe, it } from "vitest";
import { scenarioByName } from "../../sim/scenarios/index.ts";
import { sweepPasses } from "./support/scenario-sweep.ts";

const SECOND_HALF = [
  "crash-restart",
  "grace",
  "conflicting-replies",
  "reply-outage",
  "dispatch-races",
  "stale-sequences",
  "poison",
];

describe("scenario sweeps (part 2)", () => {
  it.each(SECOND_HALF)(
    "%s passes its seed range and covers its declared events",
    (name) => {
      sweepPasses(scenarioByName(name)!);
    },
    180_000,
  );
});
