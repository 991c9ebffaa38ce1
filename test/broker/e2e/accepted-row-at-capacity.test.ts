/**
 * An accepted inbox row is never dropped at capacity: a dispatch that took the row and failed puts
 * it back even when the inbox filled meanwhile (over the capacity if need be), so the platform's
 * next dispatch of the row finds it and hands it off. New admissions wait until the inbox is below
 * its capacity again.
 */

import { describe, expect, it } from "vitest";
import type { UndispatchedChangedEvent } from "../../../src/broker/api.ts";
import { BrokerPair, OK, TRANSIENT } from "../../support/broker-pair.ts";

const removes = (pair: BrokerPair) =>
  pair
    .allCalls("undispatched_changed")
    .map((c) => c.args as UndispatchedChangedEvent)
    .filter((a) => a.action === "remove");

function fullInboxWithFailedDispatch() {
  const pair = new BrokerPair({ options: { inboxCapacity: 2 } });
  pair.connect();
  const channel = 3;
  const worker = pair.register(200, channel, {
    capabilities: ["background_exchange_v1"],
    background_exchange_mode: "resident_endpoint",
  }).endpointId;
  pair.message({ seq: 1, messageId: "u1" });
  pair.answerOne("undispatched_changed", OK);
  expect(pair.ackedUpTo()).toBe(1);
  pair.dispatch("a1", "u1", worker);
  // While the dispatch's assigned post is out, two more messages fill the inbox.
  pair.message({ seq: 2, messageId: "u2" });
  pair.answerOne("undispatched_changed", OK);
  pair.message({ seq: 3, messageId: "u3" });
  pair.answerOne("undispatched_changed", OK);
  expect(pair.ackedUpTo()).toBe(3);
  expect(pair.core.snapshot().inbox.size).toBe(2);
  // The assigned post fails: the dispatch puts u1 back.
  pair.answerOne("processing_state", TRANSIENT);
  return { pair, worker, channel };
}

describe("an accepted row whose dispatch fails at a full inbox", () => {
  it("stays in the inbox, over the capacity, and no remove is announced", () => {
    const { pair } = fullInboxWithFailedDispatch();
    const inbox = pair.core.snapshot().inbox;
    expect(inbox.ids).toContain("u1");
    expect(inbox.size).toBe(3);
    expect(pair.logCount("dispatch_putback_over_capacity")).toBe(1);
    expect(removes(pair)).toEqual([]);
  });

  it("is handed off by the platform's next dispatch", () => {
    const { pair, worker, channel } = fullInboxWithFailedDispatch();
    pair.dispatch("a2", "u1", worker);
    pair.answerAll("processing_state", OK);
    expect(pair.messagePushes(channel).map((p) => p.runtimeAssignment?.undispatchedId)).toContain("u1");
  });

  it("refuses new messages until the inbox is below its capacity again", () => {
    const { pair } = fullInboxWithFailedDispatch();
    pair.message({ seq: 4, messageId: "u4" });
    expect(pair.logCount("undispatched_inbox_at_capacity")).toBe(1);
    expect(pair.ackedUpTo()).toBe(3);
  });
});
