import { describe, expect, it } from "vitest";
import {
  FAULT_NAMES,
  FAULTS,
  drawSwarmPlan,
  healAll,
  resolvePlan,
  SWARM_ENABLE_PROBABILITY,
} from "../../../sim/faults/index.ts";
import { Streams } from "../../../sim/kernel/prng.ts";
import { World } from "../../../sim/kernel/world.ts";
import { bareWorld, runHappy, withinRate } from "./support.ts";

describe("fault plans", () => {
  it("a world without a plan, or with an empty one, creates no fault stream and draws nothing", () => {
    for (const faults of [undefined, {}]) {
      const w = new World({ scenario: "t", seed: 3, plugins: [], checkers: [], faults });
      w.start();
      w.runUntil(60_000);
      const labels = Object.keys(w.streams.drawCounts());
      expect(labels.filter((l) => l.startsWith("faults.") || l.startsWith("swarm."))).toEqual([]);
      expect(w.network.faults).toBeUndefined();
      expect(w.apiFaults).toBeUndefined();
      expect(w.server.faults).toBeUndefined();
      expect(w.storage.faults).toBeUndefined();
    }
  });

  it("resolves entries onto the defaults in registry order, whatever the plan's key order", () => {
    const a = resolvePlan({ "clock-jump": { jumpMaxMs: 5 }, drop: true, delay: false });
    expect(a.map((e) => e.module.name)).toEqual(["drop", "clock-jump"]);
    expect(a[1]!.options).toEqual({ ...FAULTS.find((f) => f.name === "clock-jump")!.defaults, jumpMaxMs: 5 });
    expect(() => resolvePlan({ nope: true } as never)).toThrow(/unknown fault "nope"/);
  });

  it("swarm mode draws the same plan from the same seed, turns each module on about half the time, and prints as JSON", () => {
    const n = 400;
    const on = new Map<string, number>();
    for (let seed = 1; seed <= n; seed++) {
      const p1 = drawSwarmPlan(new Streams(seed));
      const p2 = drawSwarmPlan(new Streams(seed));
      expect(p1).toEqual(p2);
      expect(JSON.parse(JSON.stringify(p1))).toEqual(p1);
      for (const k of Object.keys(p1)) on.set(k, (on.get(k) ?? 0) + 1);
    }
    for (const name of FAULT_NAMES)
      expect(withinRate(on.get(name) ?? 0, n, SWARM_ENABLE_PROBABILITY)).toBe(true);
  });

  it("swarm options stay inside sane bounds for every module", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const plan = drawSwarmPlan(new Streams(seed)) as Record<string, Record<string, unknown>>;
      for (const opts of Object.values(plan)) {
        for (const [k, v] of Object.entries(opts)) {
          if (typeof v !== "number") continue;
          expect(Number.isFinite(v), k).toBe(true);
          expect(v, k).toBeGreaterThanOrEqual(0);
          if (k.endsWith("Probability")) expect(v, k).toBeLessThanOrEqual(1);
        }
        for (const [k, v] of Object.entries(opts)) {
          if (k.endsWith("MinMs"))
            expect(opts[k.replace("MinMs", "MaxMs")] as number).toBeGreaterThanOrEqual(v as number);
        }
      }
    }
  });
});

describe("healing", () => {
  it("healAll stops every injector, releases held links and brings crashed actors back", () => {
    const plan = Object.fromEntries(FAULT_NAMES.map((n) => [n, true]));
    const w = runHappy(plan as never, 5);
    healAll(w);
    const firedAtHeal = w.faultHub.firedRecord();
    expect([...w.network.all()].some((l) => l.holding)).toBe(false);
    expect(w.brokerAlive).toBe(true);
    expect([...w.plugins.values()].every((p) => p.alive)).toBe(true);
    const end = w.elapsedMs + 300_000;
    w.runUntil(end);
    expect(w.faultHub.firedRecord()).toEqual(firedAtHeal);
    expect(w.violation?.invariant).not.toBe("X1");
  });

  it("healing a partition releases the links it held at once", () => {
    const w = bareWorld({
      partition: {
        meanIntervalMs: 1,
        durationMinMs: 1_000_000,
        durationMaxMs: 1_000_000,
        connectorWeight: 1,
        apiWeight: 0,
        controlWeight: 0,
        oneWayProbability: 0,
      },
    });
    w.runUntil(2_000);
    expect([...w.network.all()].some((l) => l.holding)).toBe(true);
    healAll(w);
    expect([...w.network.all()].some((l) => l.holding)).toBe(false);
  });
});
