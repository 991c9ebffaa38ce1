/**
 * A restarted process announces the rows its inbox journal gave back (src/broker/inbound/
 * restored-rows.ts): a row a dead process's dispatch had taken is `assigned` on the platform to an
 * assignment nobody will resolve, and only a fresh `add` makes the platform dispatch it again.
 */

import { describe, expect, it } from "vitest";
import { UNDISPATCHED_ROW_SETTLED, type UndispatchedChangedEvent } from "../../../src/broker/api.ts";
import type { InboxRow } from "../../../src/broker/model.ts";
import { BrokerPair, OK, TERMINAL, TRANSIENT } from "../../support/broker-pair.ts";

const SETTLED = { ok: false, terminal: true, status: 422, code: UNDISPATCHED_ROW_SETTLED, detail: "settled" };

function row(id: string, extra: Partial<InboxRow> = {}): InboxRow {
  return {
    id,
    source_message_id: id,
    arrived_at: "2025-01-01T00:00:00.000Z",
    sender_address: "agent://peer",
    content: `content of ${id}`,
    content_type: "text",
    metadata: { traceparent: "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01" },
    reason: "unaddressed",
    ...extra,
  };
}

function restarted(rows: InboxRow[], capacity = 4): BrokerPair {
  const pair = new BrokerPair({ options: { inboxCapacity: capacity }, initialInbox: { rows, departed: [] } });
  pair.connect();
  return pair;
}

function adds(pair: BrokerPair): UndispatchedChangedEvent[] {
  return pair
    .allCalls("undispatched_changed")
    .map((c) => c.args as UndispatchedChangedEvent)
    .filter((a) => a.action === "add");
}

function removes(pair: BrokerPair): string[] {
  return pair.log.flatMap((o) => (o.kind === "storage" && o.op.op === "inbox_remove" ? [o.op.id] : []));
}

describe("restored inbox rows are announced to the platform again", () => {
  it("posts an add for each restored row, one at a time and in journal order", () => {
    const pair = restarted([
      row("m1"),
      row("m2", { reason: "closed_session_continuation", original_target_endpoint_id: "ep-old" }),
    ]);
    expect(pair.core.inbox.ids()).toEqual(["m1", "m2"]);
    expect(adds(pair).map((a) => a.undispatched_id)).toEqual(["m1"]);
    expect(adds(pair)[0]).toMatchObject({
      source_message_id: "m1",
      sender_address: "agent://peer",
      reason: "no_target_endpoint",
      traceparent: "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01",
      traceId: "0123456789abcdef0123456789abcdef",
    });
    pair.answerOne("undispatched_changed", OK);
    expect(adds(pair).map((a) => a.undispatched_id)).toEqual(["m1", "m2"]);
    expect(adds(pair)[1]).toMatchObject({
      reason: "closed_session_continuation",
      target_endpoint_id_hint: "ep-old",
    });
    pair.answerOne("undispatched_changed", OK);
    expect(pair.calls("undispatched_changed")).toEqual([]);
    expect(pair.core.inbox.ids()).toEqual(["m1", "m2"]);
  });

  it("drops a restored row the platform answers undispatched_row_settled, freeing its slot", () => {
    const pair = restarted([row("m1"), row("m2")], 2);
    pair.answerOne("undispatched_changed", SETTLED);
    expect(pair.core.inbox.ids()).toEqual(["m2"]);
    expect(removes(pair)).toEqual(["m1"]);
    expect(pair.logCount("undispatched_restored_row_settled")).toBe(1);
    pair.answerOne("undispatched_changed", OK);
    pair.message({ seq: 1, messageId: "m3" });
    expect(pair.core.inbox.ids()).toEqual(["m2", "m3"]);
  });

  it("retries a transient failure after the emitter backoff until the add lands", () => {
    const pair = restarted([row("m1")]);
    pair.answerOne("undispatched_changed", TRANSIENT);
    expect(pair.calls("undispatched_changed")).toEqual([]);
    pair.advance(499);
    expect(pair.calls("undispatched_changed")).toEqual([]);
    pair.advance(1);
    pair.answerOne("undispatched_changed", TRANSIENT);
    pair.advance(999);
    expect(pair.calls("undispatched_changed")).toEqual([]);
    pair.advance(1);
    pair.answerOne("undispatched_changed", OK);
    expect(adds(pair)).toHaveLength(3);
    pair.advance(60_000);
    expect(adds(pair)).toHaveLength(3);
  });

  it("moves on after another terminal answer and keeps the row", () => {
    const pair = restarted([row("m1"), row("m2")]);
    pair.answerOne("undispatched_changed", TERMINAL);
    expect(pair.logCount("undispatched_restored_announce_refused")).toBe(1);
    expect(adds(pair).map((a) => a.undispatched_id)).toEqual(["m1", "m2"]);
    expect(pair.core.inbox.ids()).toEqual(["m1", "m2"]);
  });

  it("skips a restored row that left the inbox before its turn", () => {
    const pair = restarted([row("m1"), row("m2"), row("m3")]);
    pair.core.inbox.take("m2");
    pair.answerOne("undispatched_changed", OK);
    expect(adds(pair).map((a) => a.undispatched_id)).toEqual(["m1", "m3"]);
  });

  it("announces nothing without restored rows or without a journal (the published broker)", () => {
    expect(adds(restarted([]))).toEqual([]);
    const pair = new BrokerPair({
      faults: { inMemoryInbox: true },
      initialInbox: { rows: [row("m1")], departed: [] },
    });
    pair.connect();
    expect(adds(pair)).toEqual([]);
  });
});
