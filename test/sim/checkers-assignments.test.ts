import { describe, expect, it } from "vitest";
import { A1 } from "../../sim/checkers/safety/a1-sequence-monotonicity.ts";
import { A10 } from "../../sim/checkers/safety/a10-no-silent-inbox-loss.ts";
import { A11 } from "../../sim/checkers/safety/a11-exclusivity.ts";
import { A2 } from "../../sim/checkers/safety/a2-broker-ownership.ts";
import { A3 } from "../../sim/checkers/safety/a3-reply-ordering.ts";
import { A4 } from "../../sim/checkers/safety/a4-single-wire-send.ts";
import { A5 } from "../../sim/checkers/safety/a5-stable-identity.ts";
import { A6 } from "../../sim/checkers/safety/a6-accepted-before-reply.ts";
import { A7 } from "../../sim/checkers/safety/a7-idempotency-conflict.ts";
import { A8 } from "../../sim/checkers/safety/a8-token-discipline.ts";
import { A9 } from "../../sim/checkers/safety/a9-dispatch-idempotency.ts";
import { X1 } from "../../sim/checkers/safety/x1-core-never-throws.ts";
import { check, History } from "./support/history.ts";

const state = (state: string, seq: number, extra: Record<string, unknown> = {}) => ({
  assignment_id: "asg-1",
  source_message_id: "m1",
  undispatched_id: "m1",
  state,
  state_sequence: seq,
  state_event_id: `asg-1:${state}:${seq}`,
  target_ref: {
    kind: "projection_endpoint",
    projection_endpoint_id: "ep-1",
    background_exchange_mode: "resident_endpoint",
  },
  ...extra,
});

const replyBody = (content = "hi") => ({
  endpoint_id: "ep-1",
  plugin_pid: 10,
  assignment_id: "asg-1",
  source_message_id: "m1",
  reply_request_id: "rr-1",
  content,
  contentType: "text",
});

/** A reply that went all the way: accepted, reply_requested ok, SEND_MESSAGE, SEND_ACK. */
function repliedUpToAck(): History {
  const h = new History().open();
  h.call("processing_state", state("adapter_accepted", 2));
  h.end().result(h.lastId).end();
  h.request(50, "POST", "/v1/runtime/assignment-reply", replyBody()).call(
    "processing_state",
    state("reply_requested", 3, { reply_request_id: "rr-1" }),
  );
  const rq = h.lastId;
  h.end().result(rq);
  h.send({
    event: "SEND_MESSAGE",
    messageId: "w1",
    to: "x",
    content: "hi",
    contentType: "text",
    metadata: { message_id: "w1" },
  }).end();
  return h.frame({ event: "SEND_ACK", messageId: "w1", status: "delivered" });
}

describe("A1 sequence monotonicity", () => {
  it("fires when posts accepted out of post order have decreasing sequences", () => {
    const h = new History()
      .call("processing_state", state("processing_started", 3), 1)
      .call("processing_state", state("adapter_accepted", 2), 2);
    h.end().result(2).end().result(1).end();
    expect(check(A1, h)?.message).toMatch(/does not increase/);
  });

  it("passes on increasing sequences", () => {
    const h = new History()
      .call("processing_state", state("adapter_accepted", 2), 1)
      .call("processing_state", state("processing_started", 3), 2);
    expect(check(A1, h.end().result(2).end().result(1).end())).toBeUndefined();
  });

  it("passes when the same event is posted twice while the first post is in flight", () => {
    const lost = state("target_lost_before_acceptance", 2, { state_event_id: "asg-1:target_lost" });
    const h = new History()
      .call(
        "processing_state",
        state("assigned_to_runtime_target", 1, { state_event_id: "asg-1:assigned" }),
        1,
      )
      .end()
      .result(1)
      .call("processing_state", lost, 2)
      .end()
      .call("processing_state", lost, 3);
    expect(check(A1, h.end().result(2).end().result(3).end())).toBeUndefined();
  });

  it("fires when a different event repeats an accepted sequence", () => {
    const lost = state("target_lost_before_acceptance", 2, { state_event_id: "asg-1:target_lost" });
    const h = new History()
      .call("processing_state", lost, 1)
      .end()
      .call("processing_state", lost, 2)
      .end()
      .call("processing_state", state("adapter_accepted", 2), 3);
    h.end().result(1).end().result(2).end().result(3).end();
    expect(check(A1, h)?.message).toMatch(
      /adapter_accepted with state_sequence 2 and target_lost_before_acceptance with 2/,
    );
  });
});

describe("A2 broker ownership", () => {
  it("fires when an adapter request makes the broker post a broker-owned state", () => {
    const h = new History().request(1, "POST", "/v1/runtime/processing-state", { state: "reply_emitted" });
    expect(check(A2, h.call("processing_state", state("reply_emitted", 9)))).toBeDefined();
  });

  it("passes when adapter states are forwarded", () => {
    const h = new History().request(1, "POST", "/v1/runtime/processing-state", { state: "adapter_accepted" });
    expect(check(A2, h.call("processing_state", state("adapter_accepted", 2)))).toBeUndefined();
  });
});

describe("A3 reply ordering", () => {
  it("fires when reply_emitted is posted before the SEND_ACK", () => {
    const h = new History().call("processing_state", state("reply_emitted", 4, { reply_request_id: "rr-1" }));
    expect(check(A3, h)?.message).toMatch(/before the SEND_ACK/);
  });

  it("fires when SEND_MESSAGE precedes an accepted reply_requested", () => {
    const h = new History().open().request(50, "POST", "/v1/runtime/assignment-reply", replyBody());
    h.send({ event: "SEND_MESSAGE", messageId: "w1", to: "x", content: "hi", contentType: "text" });
    expect(check(A3, h)?.message).toMatch(/before an accepted reply_requested/);
  });

  it("passes on requested → send → ack → emitted", () => {
    const h = repliedUpToAck().call(
      "processing_state",
      state("reply_emitted", 4, { reply_request_id: "rr-1" }),
    );
    expect(check(A3, h)).toBeUndefined();
  });
});

describe("A4 single wire send", () => {
  it("fires when a reply key is written twice", () => {
    const h = repliedUpToAck().end().request(51, "POST", "/v1/runtime/assignment-reply", replyBody());
    h.send({
      event: "SEND_MESSAGE",
      messageId: "w2",
      to: "x",
      content: "hi",
      contentType: "text",
      metadata: { message_id: "w1" },
    });
    expect(check(A4, h)?.message).toMatch(/twice/);
  });

  it("passes on a single send", () => {
    expect(check(A4, repliedUpToAck())).toBeUndefined();
  });
});

describe("A5 stable identity", () => {
  it("fires when the plugin gets another message id than the wire", () => {
    const h = repliedUpToAck().end().respond(50, 200, { messageId: "other", status: "delivered" });
    expect(check(A5, h)?.message).toMatch(/other/);
  });

  it("passes when wire, projection and response agree", () => {
    const h = repliedUpToAck().call(
      "processing_state",
      state("reply_emitted", 4, { reply_request_id: "rr-1", outbound_message_id: "w1" }),
    );
    expect(check(A5, h.respond(50, 200, { messageId: "w1", status: "delivered" }))).toBeUndefined();
  });
});

describe("A6 accepted before reply", () => {
  it("fires on reply_requested for an unaccepted assignment", () => {
    expect(check(A6, new History().call("processing_state", state("reply_requested", 2)))).toBeDefined();
  });

  it("passes after a successful adapter_accepted", () => {
    expect(check(A6, repliedUpToAck())).toBeUndefined();
  });
});

describe("A7 idempotency conflict", () => {
  it("fires when a conflicting reuse of a reply key is answered 200", () => {
    const h = repliedUpToAck().end().respond(50, 200, { messageId: "w1" });
    h.end()
      .request(60, "POST", "/v1/runtime/assignment-reply", replyBody("different"))
      .respond(60, 200, { messageId: "w1" });
    expect(check(A7, h)?.message).toMatch(/answered 200, not 409/);
  });

  it("fires when a same-fingerprint repeat gets a different result", () => {
    const h = repliedUpToAck().end().respond(50, 200, { messageId: "w1" });
    h.end().request(61, "POST", "/v1/runtime/assignment-reply", replyBody()).respond(61, 503, { error: "x" });
    expect(check(A7, h)?.message).toMatch(/instead of the stored result/);
  });

  it("passes on 409 for a conflict and the stored result for a repeat", () => {
    const h = repliedUpToAck().end().respond(50, 200, { messageId: "w1" });
    h.end()
      .request(60, "POST", "/v1/runtime/assignment-reply", replyBody("different"))
      .respond(60, 409, { error: "conflict" });
    h.end()
      .request(61, "POST", "/v1/runtime/assignment-reply", replyBody())
      .respond(61, 200, { messageId: "w1" });
    expect(check(A7, h)).toBeUndefined();
  });
});

describe("A7 and the endpoint gate", () => {
  it("passes a repeat and a conflict that the endpoint gate refuses before the idempotency lookup", () => {
    const h = repliedUpToAck().end().respond(50, 200, { messageId: "w1" });
    h.end()
      .request(61, "POST", "/v1/runtime/assignment-reply", replyBody())
      .respond(61, 404, { error: "unknown_endpoint" });
    h.end()
      .request(62, "POST", "/v1/runtime/assignment-reply", replyBody("different"))
      .respond(62, 409, { error: "endpoint_not_active" });
    expect(check(A7, h)).toBeUndefined();
  });

  it("still fires on a repeat answered with an error the idempotency lookup gave", () => {
    const h = repliedUpToAck().end().respond(50, 200, { messageId: "w1" });
    h.end()
      .request(61, "POST", "/v1/runtime/assignment-reply", replyBody())
      .respond(61, 409, { error: "runtime_assignment_unknown" });
    expect(check(A7, h)?.message).toMatch(/instead of the stored result/);
  });
});

describe("A8 token discipline", () => {
  const dispatch = (token: string) =>
    new History().in({
      kind: "control_event",
      event: { type: "dispatch_undispatched", idempotency_key: "asg-1", broker_projection_token: token },
    });

  it("fires when the assigned event carries another token", () => {
    expect(
      check(
        A8,
        dispatch("t1").call(
          "processing_state",
          state("assigned_to_runtime_target", 1, { broker_projection_token: "t2" }),
        ),
      ),
    ).toBeDefined();
  });

  it("passes with the issued token", () => {
    expect(
      check(
        A8,
        dispatch("t1").call(
          "processing_state",
          state("assigned_to_runtime_target", 1, { broker_projection_token: "t1" }),
        ),
      ),
    ).toBeUndefined();
  });
});

describe("A9 dispatch idempotency", () => {
  const applied = () =>
    new History()
      .in({ kind: "control_event", event: { type: "dispatch_undispatched", idempotency_key: "asg-1" } })
      .out({ kind: "control_ack", idempotency_key: "asg-1", status: "applied" })
      .end()
      .in({ kind: "control_event", event: { type: "dispatch_undispatched", idempotency_key: "asg-1" } });

  it("fires when a replayed dispatch posts again", () => {
    expect(
      check(A9, applied().call("processing_state", state("assigned_to_runtime_target", 1))),
    ).toBeDefined();
  });

  it("passes when the replay is only acked", () => {
    expect(
      check(A9, applied().out({ kind: "control_ack", idempotency_key: "asg-1", status: "applied" }).end()),
    ).toBeUndefined();
  });
});

describe("A10 no silent inbox loss", () => {
  const added = () => new History().inboxed("m1");
  const snapshot = (
    ids: string[],
    assignments: Array<{ undispatchedId: string; assignmentId: string }> = [],
  ) => ({
    inbox: { size: ids.length, capacity: 256, ids },
    assignments: assignments.map((a) => ({
      ...a,
      key: "",
      targetEndpointId: "ep-1",
      accepted: false,
      lastStateSequence: 1,
    })),
  });

  it("fires when a row vanished without trace", () => {
    expect(check(A10, added().quiescent(snapshot([])))?.message).toMatch(/inbox row m1 is gone/);
  });

  it("passes when the row is bound to a live assignment", () => {
    expect(
      check(A10, added().quiescent(snapshot([], [{ undispatchedId: "m1", assignmentId: "asg-1" }]))),
    ).toBeUndefined();
  });
});

describe("A11 exclusivity", () => {
  const pushed = () =>
    new History().push(1, {
      sourceMessageId: "m1",
      runtimeAssignment: {
        undispatchedId: "m1",
        sourceMessageId: "m1",
        assignmentId: "asg-1",
        targetRef: {},
        deliveryIntent: "external_handoff",
      },
    });
  const snapshot = (ids: string[]) => ({
    inbox: { size: ids.length, capacity: 256, ids },
    assignments: [
      {
        key: "",
        assignmentId: "asg-1",
        undispatchedId: "m1",
        targetEndpointId: "ep-1",
        accepted: false,
        lastStateSequence: 1,
      },
    ],
  });

  it("fires when a delivered assignment's row is still in the inbox", () => {
    expect(check(A11, pushed().quiescent(snapshot(["m1"])))).toBeDefined();
  });

  it("passes when the row left the inbox", () => {
    expect(check(A11, pushed().quiescent(snapshot([])))).toBeUndefined();
  });
});

describe("X1 core never throws", () => {
  it("fires when the core counted an internal error", () => {
    expect(check(X1, new History().end(1))).toBeDefined();
  });

  it("passes while the count stays zero", () => {
    expect(check(X1, new History().end(0).end(0))).toBeUndefined();
  });

  it("fires on a 500 internal_error answer a route guard gave outside a failed platform call", () => {
    const h = new History()
      .at(10)
      .in({ kind: "ipc_request", id: 7, method: "POST", path: "/v1/endpoints/ep-1/reattach", body: {} })
      .end()
      .at(20)
      .in({ kind: "storage_result", id: 3, ok: true })
      .out({ kind: "ipc_response", id: 7, status: 500, body: { error: "internal_error", message: "boom" } })
      .end();
    expect(check(X1, h)?.message).toMatch(/IPC request 7 was answered 500 internal_error .*boom/);
  });

  it("passes a 500 internal_error that reports a failed platform call in its own step", () => {
    const h = new History()
      .at(10)
      .in({ kind: "ipc_request", id: 7, method: "POST", path: "/v1/endpoints", body: {} })
      .out({ kind: "api_call", id: 1, op: "register", args: {} as never })
      .end()
      .at(20)
      .in({ kind: "api_result", id: 1, result: { ok: false, terminal: false, status: 503 } })
      .out({
        kind: "ipc_response",
        id: 7,
        status: 500,
        body: { error: "internal_error", message: "register failed: 503" },
      })
      .end()
      .at(30)
      .in({ kind: "ipc_request", id: 8, method: "POST", path: "/v1/endpoints", body: {} })
      .out({
        kind: "ipc_response",
        id: 8,
        status: 503,
        body: { error: "broker_shutting_down", message: "x" },
      })
      .end();
    expect(check(X1, h)).toBeUndefined();
  });
});
