import { describe, expect, it } from "vitest";
import { BrokerPair, OK, TRANSIENT } from "../../support/broker-pair.ts";

const RETIRED = { ok: true, retired: true } as const;

/** A connected pair with a tiny inbox and no endpoints. */
function world(inboxCapacity: number) {
  const pair = new BrokerPair({ options: { inboxCapacity } });
  pair.connect();
  return pair;
}

function addPosts(pair: BrokerPair) {
  return pair
    .allCalls("undispatched_changed")
    .map((c) => c.args as { undispatched_id: string; reason: string });
}

describe("L1: inbox slots go to inbound messages in arrival order", () => {
  it("keeps a slot for a seq waiting on its closed-endpoint lookup, so a later seq cannot take it", () => {
    const pair = world(1);
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: "ep-retired" } });
    expect(pair.calls("closed_endpoint_lookup")).toHaveLength(1);
    pair.message({ seq: 2, messageId: "m2" });
    // The later, unaddressed seq finds the only slot held and is not accepted.
    expect(pair.core.inbox.has("m2")).toBe(false);
    expect(pair.logCount("undispatched_inbox_at_capacity")).toBe(1);
    expect(pair.core.pipeline.blocked.has(2)).toBe(true);

    pair.answerOne("closed_endpoint_lookup", RETIRED);
    expect(pair.core.inbox.get("m1")).toMatchObject({
      reason: "closed_session_continuation",
      original_target_endpoint_id: "ep-retired",
    });
    expect(addPosts(pair)).toEqual([
      expect.objectContaining({ undispatched_id: "m1", reason: "closed_session_continuation" }),
    ]);
    pair.answerOne("undispatched_changed", OK);
    expect(pair.ackedUpTo()).toBe(1);
    expect(pair.core.inbox.reserved).toBe(0);
  });

  it("lets an unaddressed seq take a slot kept for inbound, and reports its refusal as inbound demand", () => {
    const pair = world(1);
    pair.message({ seq: 1, messageId: "m1" });
    pair.answerOne("undispatched_changed", OK);
    pair.message({ seq: 2, messageId: "m2" });
    expect(pair.core.pipeline.blocked.has(2)).toBe(true);
    expect(pair.core.inbox.takeRefused()).toBe(true);
    pair.core.inbox.take("m1");
    expect(pair.core.inbox.keepForInbound()).toBe(true);
    pair.message({ seq: 2, messageId: "m2" });
    expect(pair.core.inbox.has("m2")).toBe(true);
    expect(pair.core.inbox.kept).toBe(0);
  });

  it("does not look up a retired target when the inbox has no free slot, and releases the seq", () => {
    const pair = world(1);
    pair.message({ seq: 1, messageId: "m1" });
    pair.answerOne("undispatched_changed", OK);
    pair.message({ seq: 2, messageId: "m2", metadata: { target_endpoint_id: "ep-retired" } });
    expect(pair.allCalls("closed_endpoint_lookup")).toHaveLength(0);
    expect(pair.core.pipeline.blocked.has(2)).toBe(true);
    expect(pair.core.inflightTasks.size).toBe(0);
    expect(pair.ackedUpTo()).toBe(1);
  });

  it("still overwrites a row already in a full inbox after the lookup", () => {
    const pair = world(1);
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: "ep-retired" } });
    pair.answerOne("closed_endpoint_lookup", RETIRED);
    pair.answerOne("undispatched_changed", TRANSIENT);
    expect(pair.core.pipeline.blocked.has(1)).toBe(true);
    expect(pair.core.inbox.size).toBe(1);

    // The redelivery finds the inbox full, but its own row is there: overwriting always succeeds.
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: "ep-retired" } });
    pair.answerOne("closed_endpoint_lookup", RETIRED);
    pair.answerOne("undispatched_changed", OK);
    expect(pair.ackedUpTo()).toBe(1);
    expect(pair.core.inbox.ids()).toEqual(["m1"]);
  });

  it("uses the held slot for an unaddressed row when the lookup says the target is not retired", () => {
    const pair = world(2);
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: "ep-unknown" } });
    expect(pair.core.inbox.reserved).toBe(1);
    pair.answerOne("closed_endpoint_lookup", { ok: true, retired: false });
    expect(pair.core.inbox.reserved).toBe(0);
    expect(pair.core.inbox.get("m1")?.reason).toBe("unaddressed");
    pair.message({ seq: 2, messageId: "m2" });
    expect(pair.core.inbox.ids()).toEqual(["m1", "m2"]);
  });
});
