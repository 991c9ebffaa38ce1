/**
 * The checkers the mutation test pointed to (README › Mutation score): X3 (every IPC error answer
 * is the §3.1 envelope), A16 (a record the reattach drain delivered leaves the buffer) and A17 (a
 * push without receipt is the hand-off) and A18 (a reattach's answer tells what its drain
 * delivered), each with a hand-made history that violates the invariant
 * and its legal twin.
 */

import { describe, expect, it } from "vitest";
import type { BufferRecord, Cause } from "../../src/broker/types.ts";
import { A16 } from "../../sim/checkers/safety/a16-drained-records-leave-buffer.ts";
import { A17 } from "../../sim/checkers/safety/a17-receiptless-push-hands-off.ts";
import { A18 } from "../../sim/checkers/safety/a18-reattach-answer.ts";
import { envelopeFault, X3 } from "../../sim/checkers/safety/x3-error-envelope.ts";
import { check, History } from "./support/history.ts";

describe("X3 every IPC error answer is the §3.1 envelope", () => {
  it("recognises what is not the envelope", () => {
    expect(envelopeFault({ error: "e", message: "m" })).toBeUndefined();
    expect(envelopeFault({ error: "e", message: "m", retryable: true, reason_code: "r" })).toBeUndefined();
    expect(envelopeFault({ error: "", message: "m" })).toMatch(/error code is ""/);
    expect(envelopeFault({ message: "m" })).toMatch(/no error code/);
    expect(envelopeFault({ error: "e" })).toMatch(/no message/);
    expect(envelopeFault({ error: "e", message: "" })).toMatch(/message is ""/);
    expect(envelopeFault("oops")).toMatch(/not a JSON object/);
    expect(envelopeFault({ error: "e", message: "m", retryable: "yes" })).toMatch(
      /retryable .* not a boolean/,
    );
    expect(envelopeFault({ error: "e", message: "m", assignment_failure_category: "" })).toMatch(
      /assignment_failure_category/,
    );
  });

  it("fires on a rejected report answered with an empty error code", () => {
    const h = new History().request(7, "POST", "/v1/runtime/processing-state", {
      state: "processing_started",
    });
    h.respond(7, 409, { error: "", message: "runtime processing state was not accepted" }).end();
    expect(check(X3, h)?.message).toMatch(
      /request 7 \(POST \/v1\/runtime\/processing-state\) was answered 409, but its error code is ""/,
    );
  });

  it("passes error answers with code and message, and success answers of any shape", () => {
    const h = new History().request(7, "POST", "/v1/runtime/processing-state", {
      state: "processing_started",
    });
    h.respond(7, 409, { error: "runtime_processing_state_rejected", message: "not accepted" }).end();
    h.request(8, "GET", "/health").respond(8, 200, { ok: true }).end();
    expect(check(X3, h)).toBeUndefined();
  });
});

const envelope = (m: string) => ({
  from: "a",
  content: "c",
  contentType: "text",
  metadata: {},
  sourceMessageId: m,
});
const record = (m: string): BufferRecord => ({
  id: m,
  arrived_at: "2025-01-01T00:00:00.000Z",
  envelope: envelope(m),
});
const reattachCause = (request: number): Cause => ({
  kind: "request",
  request,
  method: "POST",
  path: "/v1/endpoint/ep-1/reattach",
});

/** ep-1 (pid 10, channel 1) goes reconnecting and buffers m1 and m2. */
function buffered(): History {
  const h = new History().channel(1, 10).registered("ep-1", 10);
  h.at(100).in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
  h.out({ kind: "storage", id: 1, op: { op: "append_buffer", endpointId: "ep-1", record: record("m1") } });
  h.out({
    kind: "storage",
    id: 2,
    op: { op: "append_buffer", endpointId: "ep-1", record: record("m2") },
  }).end();
  h.in({ kind: "storage_result", id: 1, ok: true }).end();
  h.in({ kind: "storage_result", id: 2, ok: true }).end();
  return h;
}

/** A reattach (request `req`) on channel 2 whose drain pushes m1, gets its receipt, then m2 fails. */
function partialDrain(h: History, req: number, t: number): History {
  h.at(t).channel(2, 10);
  h.request(req, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
  h.push(2, envelope("m1"), `p-${req}-1`).end();
  h.pushAck(2, `p-${req}-1`);
  h.push(2, envelope("m2"), `p-${req}-2`).end();
  h.at(t + 2_500).advance();
  h.by(reattachCause(req)).respond(req, 503, { error: "reconnecting_buffer_drain_failed", message: "m" });
  return h.end();
}

describe("A16 a record the reattach drain delivered leaves the buffer", () => {
  it("fires when a later drain pushes a record an earlier drain delivered", () => {
    const h = partialDrain(buffered(), 20, 1_000);
    h.at(5_000).channel(3, 10).request(21, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
    h.push(3, envelope("m1"), "p-21-1").end();
    expect(check(A16, h)?.message).toMatch(
      /a reattach drain of ep-1 pushed the buffered record m1 again, which an earlier drain had delivered/,
    );
  });

  it("passes a later drain that pushes only the record that was not delivered", () => {
    const h = partialDrain(buffered(), 20, 1_000);
    h.at(5_000).channel(3, 10).request(21, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
    h.push(3, envelope("m2"), "p-21-1").end();
    expect(check(A16, h)).toBeUndefined();
  });

  it("fires when the endpoint's removal surfaces a delivered record into the inbox", () => {
    const h = partialDrain(buffered(), 20, 1_000);
    h.at(20_000).advance();
    h.out({
      kind: "storage",
      id: 3,
      op: {
        op: "inbox_put",
        row: {
          id: "m1",
          source_message_id: "m1",
          arrived_at: "2025-01-01T00:00:00.000Z",
          sender_address: "a",
          content: "c",
          content_type: "text",
          metadata: {},
          reason: "closed_session_continuation",
          original_target_endpoint_id: "ep-1",
        },
      },
    });
    expect(check(A16, h)?.message).toMatch(/record of m1 was delivered by a reattach drain .* surfaced it/);
  });

  it("passes a record pushed again after it was appended again, or after the file was deleted", () => {
    const again = partialDrain(buffered(), 20, 1_000);
    again.out({
      kind: "storage",
      id: 4,
      op: { op: "append_buffer", endpointId: "ep-1", record: record("m1") },
    });
    again.end().in({ kind: "storage_result", id: 4, ok: true }).end();
    again.at(5_000).channel(3, 10).request(21, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
    again.push(3, envelope("m1"), "p-21-1").end();
    expect(check(A16, again)).toBeUndefined();

    const deleted = partialDrain(buffered(), 20, 1_000);
    deleted.out({ kind: "storage", id: 5, op: { op: "delete_buffer", endpointId: "ep-1" } }).end();
    deleted.at(5_000).channel(3, 10).request(21, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
    deleted.push(3, envelope("m1"), "p-21-1").end();
    expect(check(A16, deleted)).toBeUndefined();
  });

  it("passes a record pushed again whose first receipt came after its deadline", () => {
    const h = buffered().at(1_000).channel(2, 10);
    h.request(20, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
    h.push(2, envelope("m1"), "p-20-1").end();
    h.at(3_500).advance().end();
    h.pushAck(2, "p-20-1").end();
    h.at(5_000).channel(3, 10).request(21, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
    h.push(3, envelope("m1"), "p-21-1").end();
    expect(check(A16, h)).toBeUndefined();
  });
});

/** A receipt-less channel 1 of pid 10 with ep-1 active; message m1 arrives and is routed there. */
function routedToReceiptless(): History {
  const h = new History().channel(1, 10, false).registered("ep-1", 10);
  h.at(100).message(1, "m1");
  h.call("inbound_route_claim", { source_message_id: "m1", routed_to_endpoint_id: "ep-1" });
  const claim = h.lastId;
  h.end().result(claim, { ok: true, action: "route" });
  h.push(1, envelope("m1"));
  return h;
}

describe("A17 a push without receipt is the hand-off", () => {
  it("fires when the task does not post inbound_routed after a receipt-less push", () => {
    const h = routedToReceiptless().end();
    expect(check(A17, h)?.message).toMatch(
      /the task of m1 pushed it on a channel without push receipts but did not post runtime_inbound_routed/,
    );
  });

  it("passes the task that posts inbound_routed in the step of the push", () => {
    const h = routedToReceiptless();
    h.call("inbound_routed", {
      source_message_id: "m1",
      routed_to_endpoint_id: "ep-1",
      route_kind: "active_endpoint",
    });
    expect(check(A17, h.end())).toBeUndefined();
  });

  it("passes a push with a receipt, which waits for its push_ack", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10);
    h.at(100).message(1, "m1");
    h.push(1, envelope("m1"), "p-1").end();
    expect(check(A17, h)).toBeUndefined();
  });
});

/** ep-1 reattaches (request 20) and its drain delivers m1 and m2; the answer is `body`. */
function fullDrain(body: Record<string, unknown>): History {
  const h = buffered().at(1_000).channel(2, 10);
  h.request(20, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
  h.push(2, envelope("m1"), "p-1").end();
  h.pushAck(2, "p-1");
  h.push(2, envelope("m2"), "p-2").end();
  h.pushAck(2, "p-2");
  h.respond(20, 200, body);
  return h.end();
}

describe("A18 a reattach's answer tells what its drain delivered", () => {
  it("fires on a 200 answer that says restored: false", () => {
    expect(check(A18, fullDrain({ restored: false, reconnecting_buffer_count: 2 }))?.message).toMatch(
      /reattach request 20 was answered 200 with restored false .* its drain delivered 2 record\(s\)/,
    );
  });

  it("fires on a 200 answer with a wrong count", () => {
    expect(check(A18, fullDrain({ restored: true, reconnecting_buffer_count: 1 }))?.message).toMatch(
      /reconnecting_buffer_count 1, but its drain delivered 2/,
    );
  });

  it("passes restored: true with the count of delivered records, and a failed drain's 503", () => {
    expect(check(A18, fullDrain({ restored: true, reconnecting_buffer_count: 2 }))).toBeUndefined();
    expect(check(A18, partialDrain(buffered(), 20, 1_000))).toBeUndefined();
  });
});
