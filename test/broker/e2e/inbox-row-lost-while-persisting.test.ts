/**
 * S1 with the durable inbox: a message whose inbox row is still being written when a dispatch takes
 * it counts as accepted only while some assignment holds the row. A dispatch that fails and cannot
 * put the row back (the inbox filled meanwhile) leaves the message nowhere, so its seq must not be
 * acked; the redelivery adds the row again.
 */

import { describe, expect, it } from "vitest";
import type { UndispatchedChangedEvent } from "../../../src/broker/api.ts";
import { BrokerPair, OK, TERMINAL } from "../../support/broker-pair.ts";

function putOf(pair: BrokerPair, id: string) {
  const op = pair.storageOps().find((o) => o.op.op === "inbox_put" && o.op.row.id === id);
  if (!op) throw new Error(`no pending inbox_put for ${id}`);
  return op;
}

function setUp() {
  const pair = new BrokerPair({ options: { inboxCapacity: 1 }, autoStorage: false });
  pair.connect();
  for (const op of pair.storageOps()) pair.answerStorage(op);
  const worker = pair.register(200, 3, {
    capabilities: ["background_exchange_v1"],
    background_exchange_mode: "resident_endpoint",
  }).endpointId;
  // u1's row is in the inbox, its journal write still out; the platform knows the row (from an
  // earlier process, say) and dispatches it at once.
  pair.message({ seq: 1, messageId: "u1" });
  pair.dispatch("a1", "u1", worker);
  return { pair, worker };
}

describe("an inbox row taken while its journal write is in flight (S1)", () => {
  it("is acked once its write lands when the failed dispatch put it back over capacity", () => {
    const { pair } = setUp();
    // The dispatch's row left the inbox, so u2 takes the only slot.
    pair.message({ seq: 2, messageId: "u2" });
    pair.answerStorage(putOf(pair, "u2"));
    pair.answerOne("processing_state", TERMINAL);
    expect(pair.logCount("dispatch_putback_over_capacity")).toBe(1);
    pair.answerStorage(putOf(pair, "u1"));
    const adds = pair
      .calls("undispatched_changed")
      .filter((c) => (c.args as UndispatchedChangedEvent).action === "add");
    for (const c of adds) pair.answer(c, OK);
    expect(pair.logCount("undispatched_row_lost_while_persisting")).toBe(0);
    expect(pair.core.snapshot().inbox.ids).toEqual(["u2", "u1"]);
    expect(pair.ackedUpTo()).toBe(2);
  });

  it("is acked when an assignment holds it once the write lands", () => {
    const { pair } = setUp();
    pair.answerStorage(putOf(pair, "u1"));
    expect(pair.logCount("undispatched_row_taken_while_persisting")).toBe(1);
    expect(pair.ackedUpTo()).toBe(1);
  });
});
