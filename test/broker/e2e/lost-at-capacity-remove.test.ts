/**
 * A10 through the whole core: the `remove` announcing a row lost at capacity during a dispatch
 * bounce survives a full undispatched emitter (soak swarm seed 85 lost it to eviction, and with it
 * the message: the platform kept dispatching a row the broker no longer had).
 */

import { describe, expect, it } from "vitest";
import type { UndispatchedChangedEvent } from "../../../src/broker/api.ts";
import { BrokerPair, OK, TERMINAL, TRANSIENT } from "../../support/broker-pair.ts";

/** Answer the pending undispatched_changed call about `id`. */
function answerAdd(pair: BrokerPair, id: string, result: unknown): void {
  const c = pair
    .calls("undispatched_changed")
    .find((x) => (x.args as UndispatchedChangedEvent).undispatched_id === id);
  if (!c) throw new Error(`no pending undispatched_changed for ${id}`);
  pair.answer(c, result);
}

const undispatched = (pair: BrokerPair) =>
  pair.allCalls("undispatched_changed").map((c) => c.args as UndispatchedChangedEvent);

describe("a lost-at-capacity remove in a full undispatched emitter (A10)", () => {
  it("is posted even when a later event overflows the emitter's queue", () => {
    const pair = new BrokerPair({ options: { inboxCapacity: 3, emitterQueueMax: 1 } });
    pair.connect();
    const worker = pair.register(200, 3, {
      capabilities: ["background_exchange_v1"],
      background_exchange_mode: "resident_endpoint",
    }).endpointId;
    pair.message({ seq: 1, messageId: "u1" });
    pair.answerOne("undispatched_changed", OK);
    pair.dispatch("a1", "u1", worker);
    // An unsequenced message's failed direct add goes to the emitter, which posts it (in flight).
    pair.message({ messageId: "w1" });
    pair.answerOne("undispatched_changed", TRANSIENT);
    const w1Retry = pair.calls("undispatched_changed")[0]!;
    pair.message({ seq: 2, messageId: "u2" });
    answerAdd(pair, "u2", OK);
    pair.message({ seq: 3, messageId: "u3" });
    answerAdd(pair, "u3", OK);
    // The inbox is full: the bounce of u1 loses its row and queues the remove behind w1's post.
    pair.answerOne("processing_state", TERMINAL);
    expect(pair.logCount("dispatch_reinsert_failed_at_capacity")).toBe(1);
    // A slot frees up and another failed add overflows the one-item queue.
    pair.dispatch("a2", "u2", worker);
    pair.message({ messageId: "w2" });
    answerAdd(pair, "w2", TRANSIENT);
    pair.answer(w1Retry, OK);
    const next = pair.calls("undispatched_changed").map((c) => c.args as UndispatchedChangedEvent);
    expect(next.map((a) => [a.action, a.undispatched_id])).toEqual([["remove", "u1"]]);
    expect(
      undispatched(pair)
        .filter((a) => a.action === "remove")
        .map((a) => a.undispatched_id),
    ).toEqual(["u1"]);
  });
});
