import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Action, run } from "./model-check.ts";

const seq = fc.integer({ min: 0, max: 14 });
const idx = fc.nat({ max: 50 });

const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant("recv" as const), seq, withId: fc.boolean() }) },
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant("next" as const),
      withId: fc.constantFrom(true, true, true, false),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("replay" as const) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("unseq" as const), n: fc.nat({ max: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("dup" as const), i: idx }) },
  { weight: 6, arbitrary: fc.record({ k: fc.constant("accept" as const), i: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("acceptAny" as const), seq }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("release" as const), i: idx }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("close" as const) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("reconnect" as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("registerAck" as const),
      deliverySeq: fc.option(seq, { nil: undefined }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant("cursor" as const),
      deliverySeq: seq,
      deliveredSeq: fc.option(seq, { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("skip" as const), seq }) },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant("tick" as const), ms: fc.constantFrom(100, 1_000, 5_000, 20_000) }),
  },
);

/** Start every run connected: reconnect is not needed for the first socket, only the ack. */
const scenario = fc.tuple(
  fc.integer({ min: 0, max: 3 }),
  fc
    .array(action, { minLength: 10, maxLength: 120, size: "medium" })
    .map((as) => [{ k: "registerAck", deliverySeq: undefined } as Action, ...as]),
);

describe("the connector under any interleaving of frames, pipeline calls and socket events", () => {
  it("keeps acks sound, monotonic, persisted after the ack, off closed sockets, and suppresses duplicates", () => {
    fc.assert(
      fc.property(scenario, ([initial, actions]) => {
        const { violations } = run(actions, initial);
        expect(violations).toEqual([]);
      }),
      { numRuns: 600 },
    );
  });

  it("never throws and keeps the cursor views consistent", () => {
    fc.assert(
      fc.property(scenario, ([initial, actions]) => {
        const { pair } = run(actions, initial);
        const c = pair.connector;
        expect(c.committedSeq).toBeGreaterThanOrEqual(initial);
        for (const g of c.acceptedGaps()) expect(g).toBeGreaterThan(c.committedSeq);
        // While registered every flushable seq has been flushed: L+1 never waits in G.
        if (c.ready) expect(c.acceptedGaps()).not.toContain(c.committedSeq + 1);
        expect(pair.env.logCounts.get("core_internal_error") ?? 0).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});

describe("the model check itself", () => {
  it("catches a pending duplicate reaching the pipeline (planted noDuplicateSuppression)", () => {
    const actions: Action[] = [
      { k: "registerAck", deliverySeq: undefined },
      { k: "recv", seq: 1, withId: true },
      { k: "dup", i: 0 },
    ];
    expect(run(actions, 0).violations).toEqual([]);
    expect(run(actions, 0, { noDuplicateSuppression: true }).violations).toEqual([
      "S5: m1 reached the pipeline twice",
    ]);
  });

  it("catches a cursor persisted before its ack (planted persistBeforeAck)", () => {
    const actions: Action[] = [
      { k: "registerAck", deliverySeq: undefined },
      { k: "recv", seq: 1, withId: true },
      { k: "close" },
      { k: "accept", i: 0 },
    ];
    expect(run(actions, 0).violations).toEqual([]);
    expect(run(actions, 0, { persistBeforeAck: true }).violations).toEqual([
      "S3: cursor 1 persisted before its ack",
    ]);
  });

  it("finds the planted faults on its own from random interleavings", () => {
    for (const fault of ["noDuplicateSuppression", "persistBeforeAck"] as const) {
      let found = false;
      try {
        fc.assert(
          fc.property(scenario, ([initial, actions]) => {
            expect(run(actions, initial, { [fault]: true }).violations).toEqual([]);
          }),
          { numRuns: 600, seed: 42 },
        );
      } catch {
        found = true;
      }
      expect(found, fault).toBe(true);
    }
  });
});

describe("the connector in a fair world after any faulty prefix (L1, L2)", () => {
  it("commits up to the server's highest seq with a bounded number of gap fills", () => {
    fc.assert(
      fc.property(scenario, ([initial, actions]) => {
        const r = run(actions, initial, {}, { heal: true });
        expect(r.violations).toEqual([]);
        expect(r.pair.connector.committedSeq).toBe(r.serverHighest);
        expect(r.healingGapFills).toBeLessThanOrEqual(4);
      }),
      { numRuns: 400 },
    );
  });
});
