import { describe, expect, it } from "vitest";
import type { ProcessingStateEvent } from "../../../src/broker/api.ts";
import { BrokerPair, OK } from "../../support/broker-pair.ts";

/** A connected broker with one background-exchange endpoint and one unaddressed message in the inbox. */
function world() {
  const pair = new BrokerPair();
  pair.connect();
  const ep = pair.register(100, 1, {
    capabilities: ["background_exchange_v1"],
    background_exchange_mode: "resident_endpoint",
    headless: true,
  });
  pair.message({ seq: 1, messageId: "m1", metadata: { correlation_id: "corr-9", message_id: "remote-1" } });
  pair.answerAll("undispatched_changed", OK);
  expect(pair.core.snapshot().inbox.ids).toEqual(["m1"]);
  return { pair, ep: ep.endpointId, owner: ep.ownerToken };
}

function dispatch(pair: BrokerPair, ep: string, key = "asg-1") {
  pair.dispatch(key, "m1", ep, "tok-1");
}

const states = (pair: BrokerPair) =>
  pair.allCalls("processing_state").map((c) => c.args as ProcessingStateEvent);

describe("assignments through BrokerCore", () => {
  it("dispatches an inbox row, accepts it, replies once and reports reply_emitted, all through core inputs", () => {
    const { pair, ep, owner } = world();
    dispatch(pair, ep);
    pair.answerOne("processing_state", OK);
    const [push] = pair.messagePushes(1).filter((p) => p.runtimeAssignment);
    expect(push!.runtimeAssignment).toMatchObject({ assignmentId: "asg-1", replyCorrelationId: "corr-9" });
    const acks = pair.input({
      kind: "ipc_channel_message",
      channel: 1,
      text: JSON.stringify({ event: "push_ack", push_id: push!.push_id }),
    });
    expect(acks.filter((o) => o.kind === "control_ack")).toMatchObject([
      { kind: "control_ack", idempotency_key: "asg-1", status: "applied" },
    ]);
    expect(pair.core.snapshot().inbox.ids).toEqual([]);

    const who = {
      endpoint_id: ep,
      plugin_pid: 100,
      endpoint_owner_token: owner,
      source_message_id: "m1",
      assignment_id: "asg-1",
    };
    const acc = pair.request("POST", "/v1/runtime/processing-state", {
      ...who,
      state: "adapter_accepted",
      state_sequence: 2,
    });
    pair.answerOne("processing_state", OK);
    expect(pair.response(acc)).toEqual({ status: 200, body: { ok: true } });

    const rep = pair.request("POST", "/v1/runtime/assignment-reply", {
      ...who,
      reply_request_id: "rr-1",
      content: "done",
    });
    pair.answerOne("processing_state", OK);
    const [send] = pair.sentFrames("SEND_MESSAGE");
    expect(send).toMatchObject({ event: "SEND_MESSAGE", to: "agent://sender", content: "done" });
    if (send?.event !== "SEND_MESSAGE") throw new Error("no send");
    expect(send.metadata).toMatchObject({
      in_reply_to: "remote-1",
      correlation_id: "corr-9",
      message_id: send.messageId,
    });
    pair.frame({ event: "SEND_ACK", messageId: send.messageId, status: "delivered" });
    expect(pair.response(rep)).toEqual({
      status: 200,
      body: { messageId: send.messageId, status: "delivered" },
    });
    pair.answerOne("processing_state", OK);

    expect(states(pair).map((s) => [s.state, s.state_sequence, s.broker_projection_token])).toEqual([
      ["assigned_to_runtime_target", 1, "tok-1"],
      ["adapter_accepted", 2, undefined],
      ["reply_requested", 3, "tok-1"],
      ["reply_emitted", 4, "tok-1"],
    ]);
    expect(pair.core.snapshot().assignments).toEqual([]);
    expect(pair.core.internalErrors).toBe(0);
  });

  it("restores an unaccepted assignment on shutdown and drops nothing silently", () => {
    const { pair, ep } = world();
    dispatch(pair, ep);
    pair.answerOne("processing_state", OK);
    expect(pair.core.snapshot().assignments).toHaveLength(1);
    pair.input({ kind: "shutdown" });
    const lost = states(pair).filter((s) => s.state === "target_lost_before_acceptance");
    expect(lost).toEqual([expect.objectContaining({ reason_code: "broker_shutdown", state_sequence: 2 })]);
    expect(pair.core.snapshot().inbox.ids).toEqual(["m1"]);
    expect(pair.core.internalErrors).toBe(0);
  });

  it("does not add a redelivered message to the inbox again while a live assignment owns it (A11)", () => {
    const pair = new BrokerPair();
    pair.connect();
    const ep = pair.register(100, 1, {
      capabilities: ["background_exchange_v1"],
      background_exchange_mode: "resident_endpoint",
      headless: true,
    }).endpointId;
    pair.message({ seq: 1, messageId: "m1" });
    // The platform took the add and dispatches the row before the add's answer comes back.
    dispatch(pair, ep);
    pair.answerOne("processing_state", OK);
    pair.ackAllPushes(1);
    expect(pair.core.snapshot().inbox.ids).toEqual([]);
    // The add's answer is lost: the seq is released and the connector redelivers it.
    pair.answerOne("undispatched_changed", {
      ok: false,
      terminal: false,
      detail: "platform request timed out",
    });
    expect(pair.ackedUpTo()).toBe(0);
    pair.message({ seq: 1, messageId: "m1" });
    expect(pair.core.snapshot().inbox.ids).toEqual([]);
    expect(pair.calls("undispatched_changed")).toEqual([]);
    expect(pair.logCount("undispatched_row_bound_skip")).toBe(1);
    expect(pair.ackedUpTo()).toBe(1);
    expect(pair.core.snapshot().assignments).toEqual([expect.objectContaining({ undispatchedId: "m1" })]);
  });

  it("hands a redelivered message to no endpoint while a live assignment owns it, even when its reply's correlation routes it there", () => {
    const pair = new BrokerPair();
    pair.connect();
    const reg = pair.register(100, 1, {
      capabilities: ["background_exchange_v1"],
      background_exchange_mode: "resident_endpoint",
      headless: true,
    });
    const ep = reg.endpointId;
    pair.message({ seq: 1, messageId: "m1", metadata: { correlation_id: "corr-9", message_id: "remote-1" } });
    // The platform took the add and dispatches the row; the adapter accepts and replies, and the
    // reply's SEND_ACK has not come, so the assignment stays live.
    dispatch(pair, ep);
    pair.answerOne("processing_state", OK);
    pair.ackAllPushes(1);
    const who = {
      endpoint_id: ep,
      plugin_pid: 100,
      endpoint_owner_token: reg.ownerToken,
      source_message_id: "m1",
      assignment_id: "asg-1",
    };
    pair.request("POST", "/v1/runtime/processing-state", {
      ...who,
      state: "adapter_accepted",
      state_sequence: 2,
    });
    pair.answerOne("processing_state", OK);
    pair.request("POST", "/v1/runtime/assignment-reply", {
      ...who,
      reply_request_id: "rr-1",
      content: "done",
    });
    pair.answerOne("processing_state", OK);
    expect(pair.sentFrames("SEND_MESSAGE")).toHaveLength(1);
    // The add's answer is lost: the seq is released and the connector redelivers the message, whose
    // correlation id is now in the endpoint's ring (its reply used it).
    pair.answerOne("undispatched_changed", {
      ok: false,
      terminal: false,
      detail: "platform request timed out",
    });
    expect(pair.ackedUpTo()).toBe(0);
    const pushesBefore = pair.messagePushes(1).length;
    pair.message({ seq: 1, messageId: "m1", metadata: { correlation_id: "corr-9", message_id: "remote-1" } });
    expect(pair.allCalls("inbound_route_claim")).toEqual([]);
    expect(pair.messagePushes(1)).toHaveLength(pushesBefore);
    expect(pair.storageOps().filter((o) => o.op.op === "append_buffer")).toEqual([]);
    expect(pair.logCount("undispatched_row_bound_skip")).toBe(1);
    expect(pair.ackedUpTo()).toBe(1);
    expect(pair.core.snapshot().assignments).toEqual([expect.objectContaining({ undispatchedId: "m1" })]);
    expect(pair.core.internalErrors).toBe(0);
  });

  it("acks a malformed control event failed through the core", () => {
    const { pair } = world();
    const out = pair.input({ kind: "control_event", event: { type: "dispatch_undispatched", version: 1 } });
    expect(out.filter((o) => o.kind === "control_ack")).toEqual([
      expect.objectContaining({ status: "failed", idempotency_key: "" }),
    ]);
  });
});
