import { describe, expect, it } from "vitest";
import { ALL_CHECKERS } from "../../sim/checkers/index.ts";
import { Streams } from "../../sim/kernel/prng.ts";
import { World } from "../../sim/kernel/world.ts";
import { happyPath } from "../../sim/scenarios/happy-path.ts";

function build(seed: number) {
  const setup = happyPath.build({ seed, streams: new Streams(seed), swarm: false });
  const world = new World({ ...setup.world, scenario: "world-test", seed, checkers: ALL_CHECKERS });
  setup.drive(world);
  return { world, setup };
}

describe("simulated world", () => {
  it("delivers and acks every inbound message on the happy path", () => {
    const { world, setup } = build(4);
    world.runUntil(setup.durationMs);
    world.finish();
    expect(world.violation).toBeUndefined();
    expect(world.server.head).toBeGreaterThan(100);
    expect(world.server.ackedSeq).toBe(world.server.head);
    expect(world.storage.cursor).toBe(world.server.head);
    expect(world.dispatcher.dispatched).toBeGreaterThan(0);
    expect([...world.plugins.values()].reduce((n, p) => n + p.stats.replies, 0)).toBeGreaterThan(0);
  });

  it("restarts a crashed broker from the persisted cursor and still converges", () => {
    const { world, setup } = build(8);
    let cursorAtCrash = -1;
    world.at(20_000, () => {
      cursorAtCrash = world.storage.cursor;
      world.crashBroker();
    });
    world.at(21_000, () => world.restartBroker());
    world.runUntil(setup.durationMs);
    world.finish();
    expect(world.violation).toBeUndefined();
    expect(world.incarnation).toBe(2);
    expect(cursorAtCrash).toBeGreaterThan(0);
    expect(world.server.ackedSeq).toBe(world.server.head);
  });

  it("stops at the first violation and reports seed, time, invariant and recent events", () => {
    const { world, setup } = build(2);
    const w = new World({
      ...setup.world,
      scenario: "planted",
      seed: 2,
      checkers: ALL_CHECKERS,
      plantedFaults: { ackBeforeHandoff: true },
    });
    setup.drive(w);
    w.runUntil(setup.durationMs);
    void world;
    expect(w.violation?.seed).toBe(2);
    expect(w.violation?.invariant).toMatch(/^[SR]\d$/);
    expect(w.violation?.recentEvents.length).toBeGreaterThan(0);
  });
});
