import { describe, expect, it } from "vitest";
import { AssignmentWorld, terminal, transient } from "../../support/assignment-world.ts";

function accepted(opts = {}, faults = {}) {
  const w = new AssignmentWorld(opts, faults);
  w.connect();
  w.addEndpoint({ id: "ep1", pid: 11 });
  w.addEndpoint({ id: "ep2", pid: 12 });
  w.addRow("u1", "src-u1", { correlation_id: "corr-1", message_id: "inbound-msg-1" });
  w.assign("a1", "u1", "ep1", 11, true);
  return w;
}

const replyRequested = (w: AssignmentWorld) => w.states((e) => e.state === "reply_requested");
const replyEmitted = (w: AssignmentWorld) => w.states((e) => e.state === "reply_emitted");

describe("POST /v1/runtime/assignment-reply", () => {
  it("posts reply_requested, sends once, answers after SEND_ACK and posts reply_emitted with the same id (A3, A5, A8)", () => {
    const w = accepted();
    const id = w.reply("ep1", 11, "u1", "a1", "r1", "hello", {
      metadata: { b: 1, traceparent: "x", message_id: "forged" },
    });
    const [rr] = replyRequested(w);
    expect(rr).toMatchObject({
      reply_request_id: "r1",
      broker_projection_token: "token-a1",
      state_sequence: 3,
    });
    expect(w.sends()).toHaveLength(0);
    w.answer(w.pending("processing_state")[0]!.id);
    const [send] = w.sends();
    expect(send).toMatchObject({
      to: "sender-of-u1",
      content: "hello",
      contentType: "text",
      metadata: {
        b: 1,
        in_reply_to: "inbound-msg-1",
        correlation_id: "corr-1",
        source_endpoint_id: "ep1",
        require_live: false,
      },
    });
    expect(send!.metadata!.message_id).toBe(send!.messageId);
    expect(send!.metadata!.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(w.response(id)).toBeUndefined();
    w.sendAck(send!.messageId, "stored");
    expect(w.response(id)).toEqual({ status: 200, body: { messageId: send!.messageId, status: "stored" } });
    const [re] = replyEmitted(w);
    expect(re).toMatchObject({
      outbound_message_id: send!.messageId,
      broker_projection_token: "token-a1",
      state_sequence: 4,
    });
    w.answerAll();
    expect([...w.component.records()]).toHaveLength(0);
    expect(w.registry.ringHas("ep1", "corr-1")).toBe(true);
  });

  it("refuses a reply before adapter_accepted with no reply_requested (A6)", () => {
    const w = new AssignmentWorld();
    w.connect();
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.assign("a1", "u1", "ep1", 11, false);
    const id = w.reply("ep1", 11, "u1", "a1", "r1");
    expect(w.response(id)).toMatchObject({ status: 409, body: { error: "runtime_assignment_not_accepted" } });
    // Pending adapter_accepted post does not count either.
    w.reportState("ep1", 11, "u1", "a1", "adapter_accepted");
    const id2 = w.reply("ep1", 11, "u1", "a1", "r1");
    expect(w.response(id2)).toMatchObject({ status: 409 });
    expect(replyRequested(w)).toHaveLength(0);
  });

  it("answers the gate errors in order and requires reply_request_id", () => {
    const w = accepted();
    const codes: Array<[Record<string, unknown>, number, string]> = [
      [{ endpoint_id: "nope" }, 404, "unknown_endpoint"],
      [{ plugin_pid: 99 }, 403, "endpoint_pid_mismatch"],
      [{ endpoint_owner_token: "x" }, 403, "endpoint_owner_token_mismatch"],
      [{ reply_request_id: "" }, 400, "reply_request_id_required"],
      [{ ...w.owner("ep2", 12) }, 403, "runtime_assignment_target_mismatch"],
      [{ assignment_id: "other" }, 409, "runtime_assignment_unknown"],
    ];
    for (const [over, status, code] of codes) {
      const id = w.request("POST", "/v1/runtime/assignment-reply", {
        ...w.owner("ep1", 11),
        source_message_id: "src-u1",
        assignment_id: "a1",
        reply_request_id: "r1",
        content: "x",
        ...over,
      });
      expect(w.response(id), JSON.stringify(over)).toMatchObject({ status, body: { error: code } });
    }
    w.registry.get("ep1")!.state = "reconnecting";
    const id = w.reply("ep1", 11, "u1", "a1", "r1");
    expect(w.response(id)).toMatchObject({ status: 409, body: { error: "endpoint_not_active" } });
    expect(replyRequested(w)).toHaveLength(0);
  });

  it("marks an unknown assignment as a stale reply handle", () => {
    const w = accepted();
    const id = w.reply("ep1", 11, "u9", "a9", "r1");
    expect(w.response(id)).toMatchObject({
      status: 409,
      body: { error: "runtime_assignment_unknown", assignment_failure_category: "reply_handle_stale" },
    });
  });

  it("shares the outcome of an in-flight reply with an identical request and rejects a different one (A7)", () => {
    const w = accepted();
    const first = w.reply("ep1", 11, "u1", "a1", "r1", "hello", {
      metadata: { x: 1, y: [1, { b: 2, a: 1 }] },
    });
    const same = w.reply("ep1", 11, "u1", "a1", "r1", "hello", {
      metadata: { y: [1, { a: 1, b: 2 }], x: 1 },
    });
    const other = w.reply("ep1", 11, "u1", "a1", "r1", "HELLO");
    expect(w.response(other)).toMatchObject({
      status: 409,
      body: { error: "runtime_assignment_reply_idempotency_conflict" },
    });
    w.answerAll();
    const sends = w.sends();
    expect(sends).toHaveLength(1);
    w.sendAck(sends[0]!.messageId);
    expect(w.response(first)).toEqual(w.response(same));
    expect(w.response(first)?.status).toBe(200);
    expect(replyRequested(w)).toHaveLength(1);
  });

  it("returns a stored result verbatim and a conflict for other content afterwards (A7)", () => {
    const w = accepted();
    w.reply("ep1", 11, "u1", "a1", "r1", "hello");
    w.answerAll();
    w.sendAck(w.sends()[0]!.messageId);
    // reply_emitted still in flight: the assignment is live.
    const again = w.reply("ep1", 11, "u1", "a1", "r1", "hello");
    expect(w.response(again)).toEqual({
      status: 200,
      body: { messageId: w.sends()[0]!.messageId, status: "delivered" },
    });
    const other = w.reply("ep1", 11, "u1", "a1", "r1", "bye");
    expect(w.response(other)?.status).toBe(409);
    w.answerAll();
    // After reply_emitted the assignment is gone, but the record still answers for the owner.
    const late = w.reply("ep1", 11, "u1", "a1", "r1", "hello");
    expect(w.response(late)?.status).toBe(200);
    const wrongOwner = w.reply("ep2", 12, "u1", "a1", "r1", "hello");
    expect(w.response(wrongOwner)).toMatchObject({ status: 403 });
    expect(w.sends()).toHaveLength(1);
    expect(replyRequested(w)).toHaveLength(1);
  });

  it("answers a repeated request from a reconnecting endpoint with the stored answer, but sends nothing new (A7)", () => {
    const w = accepted();
    w.addRow("u2", "src-u2");
    w.assign("a2", "u2", "ep1", 11, true);
    w.reply("ep1", 11, "u1", "a1", "r1", "hello");
    w.answerAll();
    w.sendAck(w.sends()[0]!.messageId);
    w.reply("ep1", 11, "u2", "a2", "r2", "hello");
    w.answerAll();
    w.advance(w.env.opts.sendAckTimeoutMs); // r2: outcome unknown
    w.answerAll();
    w.registry.get("ep1")!.state = "reconnecting";

    const again = w.reply("ep1", 11, "u1", "a1", "r1", "hello");
    expect(w.response(again)).toEqual({
      status: 200,
      body: { messageId: w.sends()[0]!.messageId, status: "delivered" },
    });
    const unknown = w.reply("ep1", 11, "u2", "a2", "r2", "hello");
    expect(w.response(unknown)).toMatchObject({
      status: 503,
      body: { error: "connector_send_outcome_unknown", retryable: false },
    });
    const other = w.reply("ep1", 11, "u1", "a1", "r1", "bye");
    expect(w.response(other)).toMatchObject({
      status: 409,
      body: { error: "runtime_assignment_reply_idempotency_conflict" },
    });
    // The ownership checks still come first, and a new reply key still requires Active.
    const wrongPid = w.reply("ep1", 99, "u1", "a1", "r1", "hello");
    expect(w.response(wrongPid)).toMatchObject({ status: 403, body: { error: "endpoint_pid_mismatch" } });
    const fresh = w.reply("ep1", 11, "u1", "a1", "r3", "hello");
    expect(w.response(fresh)).toMatchObject({ status: 409, body: { error: "endpoint_not_active" } });
    expect(w.sends()).toHaveLength(2);
    expect(replyRequested(w)).toHaveLength(2);
  });

  it("answers connector_unavailable with nothing written and sends again on retry without a new reply_requested (A4, A5)", () => {
    const w = accepted();
    w.closeConnector();
    const id = w.reply("ep1", 11, "u1", "a1", "r1");
    w.answerAll();
    expect(w.response(id)).toMatchObject({
      status: 503,
      body: { error: "connector_unavailable", retryable: true },
    });
    expect(w.sends()).toHaveLength(0);
    w.connect();
    const retry = w.reply("ep1", 11, "u1", "a1", "r1");
    const sends = w.sends();
    expect(sends).toHaveLength(1);
    w.sendAck(sends[0]!.messageId);
    expect(w.response(retry)).toMatchObject({ status: 200, body: { messageId: sends[0]!.messageId } });
    expect(replyRequested(w)).toHaveLength(1);
  });

  it("never resends after SEND_ACK timeout and keeps answering outcome unknown (A4)", () => {
    const w = accepted();
    const id = w.reply("ep1", 11, "u1", "a1", "r1");
    w.answerAll();
    w.advance(w.env.opts.sendAckTimeoutMs);
    expect(w.response(id)).toMatchObject({
      status: 503,
      body: { error: "connector_send_outcome_unknown", retryable: false },
    });
    const retry = w.reply("ep1", 11, "u1", "a1", "r1");
    expect(w.response(retry)).toMatchObject({
      status: 503,
      body: { error: "connector_send_outcome_unknown" },
    });
    expect(w.sends()).toHaveLength(1);
    expect(replyEmitted(w)).toHaveLength(0);
  });

  it("treats a connection close during the send as outcome unknown", () => {
    const w = accepted();
    const id = w.reply("ep1", 11, "u1", "a1", "r1");
    w.answerAll();
    w.closeConnector();
    w.connect();
    expect(w.response(id)).toMatchObject({ status: 503, body: { error: "connector_send_outcome_unknown" } });
    w.reply("ep1", 11, "u1", "a1", "r1");
    expect(w.sends()).toHaveLength(1);
  });

  it("maps a connector ERROR frame to 502 connector_send_rejected and never sends that key again (A4)", () => {
    const w = accepted();
    const id = w.reply("ep1", 11, "u1", "a1", "r1");
    w.answerAll();
    w.connectorError(w.sends()[0]!.messageId, "recipient_blocked");
    expect(w.response(id)).toMatchObject({
      status: 502,
      body: { error: "connector_send_rejected", retryable: false, connector_code: "recipient_blocked" },
    });
    const retry = w.reply("ep1", 11, "u1", "a1", "r1");
    expect(w.response(retry)).toMatchObject({ status: 502, body: { error: "connector_send_rejected" } });
    expect(w.sends()).toHaveLength(1);
  });

  it("resends and re-requests after an outcome-unknown send under the planted fault forgetReplyRecords", () => {
    const w = accepted({}, { forgetReplyRecords: true });
    w.reply("ep1", 11, "u1", "a1", "r1");
    w.answerAll();
    w.advance(w.env.opts.sendAckTimeoutMs);
    w.reply("ep1", 11, "u1", "a1", "r1");
    w.answerAll();
    const sends = w.sends();
    expect(sends).toHaveLength(2);
    expect(sends[0]!.messageId).not.toBe(sends[1]!.messageId);
  });

  it("answers runtime_reply_request_rejected when reply_requested fails, stores nothing, and a retry posts it again", () => {
    const w = accepted();
    const id = w.reply("ep1", 11, "u1", "a1", "r1");
    w.answerAll({ ...terminal(), assignmentFailureCategory: "processing_failed_or_expired" });
    expect(w.response(id)).toMatchObject({
      status: 409,
      body: {
        error: "runtime_reply_request_rejected",
        assignment_failure_category: "processing_failed_or_expired",
      },
    });
    w.reply("ep1", 11, "u1", "a1", "r1");
    const seqs = replyRequested(w).map((e) => e.state_sequence);
    expect(seqs).toEqual([3, 4]);
    expect(w.sends()).toHaveLength(0);
  });

  it("retries reply_emitted with backoff and a fresh higher sequence each time (A1, L6)", () => {
    const w = accepted({ replyEmittedRetryInitialMs: 1000, replyEmittedRetryMaxMs: 4000 });
    w.reply("ep1", 11, "u1", "a1", "r1");
    w.answerAll();
    w.sendAck(w.sends()[0]!.messageId);
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [c] = w.pending("processing_state");
      w.answer(c!.id, transient());
      const due = w.env.nextDeadlineAt()!;
      delays.push(due - w.env.nowMs);
      w.advance(due - w.env.nowMs);
    }
    expect(delays).toEqual([1000, 2000, 4000, 4000]);
    const emitted = replyEmitted(w);
    expect(emitted.map((e) => e.state_sequence)).toEqual([4, 5, 6, 7, 8]);
    expect(new Set(emitted.map((e) => e.outbound_message_id)).size).toBe(1);
    w.answerAll();
    expect([...w.component.records()]).toHaveLength(0);
    expect(w.env.armedDeadlines().some((a) => a.deadline.kind === "reply_emitted")).toBe(false);
  });

  it("reserves sequences at post time so concurrent replies and states never collide (A1)", () => {
    const w = accepted();
    w.reply("ep1", 11, "u1", "a1", "r1", "one");
    w.reply("ep1", 11, "u1", "a1", "r2", "two");
    w.reportState("ep1", 11, "u1", "a1", "processing_started", { state_sequence: 3 });
    w.answerAll();
    for (const s of w.sends()) w.sendAck(s.messageId);
    w.answerAll();
    const seqs = w.states((e) => e.assignment_id === "a1").map((e) => e.state_sequence);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    expect(replyEmitted(w)).toHaveLength(2);
  });

  it("never creates an assignment without a projection token, so no reply can go out without one (A8)", () => {
    const w = new AssignmentWorld();
    w.connect();
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1", { broker_projection_token: "" }));
    expect(w.acks()[0]).toMatchObject({ status: "failed" });
    expect(w.states()).toHaveLength(0);
  });

  it("prunes expired reply records once their assignment is gone", () => {
    const w = accepted({ replyRecordTtlMs: 1000 });
    w.reply("ep1", 11, "u1", "a1", "r1");
    w.answerAll();
    w.sendAck(w.sends()[0]!.messageId);
    w.answerAll();
    w.advance(1000);
    const late = w.reply("ep1", 11, "u1", "a1", "r1");
    expect(w.response(late)).toMatchObject({
      status: 409,
      body: { assignment_failure_category: "reply_handle_stale" },
    });
  });
});
