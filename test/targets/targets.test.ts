import { describe, expect, it } from "vitest";
import { ALL_CHECKERS } from "../../sim/checkers/index.ts";
import { Streams } from "../../sim/kernel/prng.ts";
import { World } from "../../sim/kernel/world.ts";
import { runScenario } from "../../sim/run.ts";
import { EXIT_USAGE, main } from "../../sim/runner.ts";
import { scenarioByName } from "../../sim/scenarios/index.ts";
import {
  applicableCheckers,
  CHECKER_NEEDS,
  targetOrThrow,
  UnknownTargetError,
} from "../../sim/targets/index.ts";
import { PUBLISHED_FIXED_OPTIONS, PUBLISHED_TARGET } from "../../sim/targets/published.ts";
import { REFERENCE_TARGET } from "../../sim/targets/reference.ts";
import { captureIo } from "../support/capture-io.ts";

describe("targets", () => {
  it("runs the reference core by default, with every checker applicable", () => {
    const s = scenarioByName("happy-path")!;
    const byDefault = runScenario(s, 1);
    const explicit = runScenario(s, 1, { target: REFERENCE_TARGET });
    expect(byDefault.target).toBe("reference");
    expect(byDefault.notApplicable).toEqual([]);
    expect(explicit.traceHash).toBe(byDefault.traceHash);
    expect(byDefault.checkers).toBe(ALL_CHECKERS.length);
  });

  it("leaves out exactly the checkers whose needs the published target lacks", () => {
    const { notApplicable } = applicableCheckers(PUBLISHED_TARGET, ALL_CHECKERS);
    const expected = Object.entries(CHECKER_NEEDS)
      .filter(([, needs]) => needs.some((n) => !PUBLISHED_TARGET.capabilities.includes(n)))
      .map(([id]) => id)
      .sort();
    expect([...notApplicable].sort()).toEqual(expected);
    expect(notApplicable).toContain("S3");
    expect(notApplicable).not.toContain("X1");
  });

  it("names the known targets when asked for an unknown one", () => {
    expect(() => targetOrThrow("nope")).toThrow(UnknownTargetError);
    expect(() => targetOrThrow("nope")).toThrow(/reference, published/);
    const c = captureIo();
    expect(main(["--target", "nope", "--seed", "1"], c.io)).toBe(EXIT_USAGE);
    expect(c.err.join("\n")).toMatch(/unknown target "nope"/);
  });

  it("refuses planted faults for a target that has none", () => {
    const c = captureIo();
    expect(main(["--target", "published", "--seed", "1", "--plant", "ackBeforeHandoff"], c.io)).toBe(
      EXIT_USAGE,
    );
    expect(c.err.join("\n")).toMatch(/no planted faults/);
  });

  it("judges the published target by the limits it takes no option for, not by the scenario's", () => {
    const scenario = scenarioByName("ack-timeouts")!;
    const setup = scenario.build({ seed: 1, streams: new Streams(1), swarm: false });
    const asked = setup.world.brokerOptions?.sendAckTimeoutMs;
    expect(asked).toBeDefined();
    expect(asked).not.toBe(15_000);
    const config = { ...setup.world, scenario: "ack-timeouts", seed: 1, checkers: ALL_CHECKERS };
    const published = new World({ ...config, target: PUBLISHED_TARGET });
    const reference = new World({ ...config, target: REFERENCE_TARGET });
    expect(published.options.sendAckTimeoutMs).toBe(15_000);
    expect(published.options).toMatchObject(PUBLISHED_FIXED_OPTIONS);
    expect(reference.options.sendAckTimeoutMs).toBe(asked);
    published.close();
    reference.close();
  });

  it("drives the published daemon through a happy path and repeats its trace hash", () => {
    const s = scenarioByName("happy-path")!;
    const a = runScenario(s, 4, { target: PUBLISHED_TARGET });
    const b = runScenario(s, 4, { target: PUBLISHED_TARGET });
    expect(a.target).toBe("published");
    expect(a.stats.pushes).toBeGreaterThan(0);
    expect(a.stats.serverAcked).toBeGreaterThan(0);
    expect(b.traceHash).toBe(a.traceHash);
    expect(a.notApplicable).toContain("A10");
  });

  it("prints the target on a failing run's rerun line", () => {
    const c = captureIo();
    main(
      ["--target", "published", "--scenario", "happy-path", "--seed", "2", "--swarm", "--no-export"],
      c.io,
    );
    expect(c.out.join("\n")).toMatch(
      /rerun: npx tsx sim\/runner\.ts --scenario happy-path --seed 2 --target published --swarm/,
    );
  });
});
