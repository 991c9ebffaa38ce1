import { describe, expect, it } from "vitest";
import { AssignmentWorld, terminal, transient } from "../../support/assignment-world.ts";

function world(opts = {}, faults = {}) {
  const w = new AssignmentWorld(opts, faults);
  w.connect();
  return w;
}

describe("dispatch_undispatched", () => {
  it("posts assigned_to_runtime_target with sequence 1 and the projection token, then pushes with a receipt", () => {
    const w = world();
    const ch = w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1", "src-u1", {
      correlation_id: "corr-1",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    });
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    expect(w.inbox.has("u1")).toBe(false);
    expect(w.component.heldUndispatchedIds()).toEqual(["u1"]);
    const [assigned] = w.states();
    expect(assigned).toMatchObject({
      state: "assigned_to_runtime_target",
      state_sequence: 1,
      state_event_id: "a1:assigned",
      broker_projection_token: "token-a1",
      undispatched_id: "u1",
      assignment_id: "a1",
    });
    expect(w.pushes()).toHaveLength(0);
    w.answerAll();
    const [push] = w.pushes(ch);
    expect(push!.frame).toMatchObject({
      event: "message_received",
      from: "sender-of-u1",
      sourceMessageId: "src-u1",
      metadata: { dispatched_from: "u1", delivery_intent: "external_handoff", correlation_id: "corr-1" },
      runtimeAssignment: {
        undispatchedId: "u1",
        assignmentId: "a1",
        deliveryIntent: "external_handoff",
        replyCorrelationId: "corr-1",
        originalTraceId: "0af7651916cd43dd8448eb211c80319c",
      },
    });
    expect(w.acks()).toHaveLength(0);
    w.pushAck(ch, push!.pushId!);
    expect(w.acks()).toMatchObject([{ kind: "control_ack", idempotency_key: "a1", status: "applied" }]);
    expect(w.component.liveUndispatchedIds()).toEqual(["u1"]);
    expect(w.correlations.ownerOf("corr-1")).toBe("ep1");
  });

  it("appends to the buffer of a reconnecting target instead of pushing", () => {
    const w = world();
    w.addEndpoint({ id: "ep1", pid: 11, state: "reconnecting" });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.answerAll();
    const storage = w.history.filter((o) => o.kind === "storage");
    expect(storage).toHaveLength(1);
    expect(w.acks()).toHaveLength(0);
    w.env.completeStorage((storage[0] as { id: number }).id, true);
    expect(w.acks()[0]).toMatchObject({ status: "applied" });
    expect(w.buffers.records("ep1")[0]!.envelope.runtimeAssignment?.assignmentId).toBe("a1");
  });

  it("fails without a projection token and leaves the row in the inbox", () => {
    const w = world();
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1", { broker_projection_token: undefined }));
    expect(w.acks()[0]).toMatchObject({
      status: "failed",
      detail: "dispatch broker_projection_token missing",
    });
    expect(w.inbox.has("u1")).toBe(true);
    expect(w.states()).toHaveLength(0);
  });

  it("fails for an unknown undispatched id", () => {
    const w = world();
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.control(w.dispatchEvent("a1", "nope", "ep1"));
    expect(w.acks()[0]).toMatchObject({ status: "failed", detail: "unknown undispatched_id: nope" });
  });

  it("puts the row back when the source message id does not match", () => {
    const w = world();
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1", "other-src");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    expect(w.acks()[0]).toMatchObject({ status: "failed", detail: "source_message_id mismatch: src-u1" });
    expect(w.inbox.has("u1")).toBe(true);
  });

  it("puts the row back when the target is not background-exchange capable or the mode differs", () => {
    const w = world();
    w.addEndpoint({ id: "ep1", pid: 11, capabilities: [] });
    w.addEndpoint({ id: "ep2", pid: 12, mode: "adapter_managed_turn", runtimeSessionId: "rs-1" });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.control(w.dispatchEvent("a2", "u1", "ep2"));
    expect(w.acks().map((a) => a.status)).toEqual(["failed", "failed"]);
    expect(w.inbox.has("u1")).toBe(true);
  });

  it("derives an adapter_managed_turn target ref from the endpoint when the event has none", () => {
    const w = world();
    w.addEndpoint({ id: "ep2", pid: 12, mode: "adapter_managed_turn", runtimeSessionId: "rs-1" });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep2", { target_ref: undefined, target_endpoint_id: "ep2" }));
    expect(w.states()[0]!.target_ref).toEqual({
      kind: "projection_endpoint",
      projection_endpoint_id: "ep2",
      background_exchange_mode: "adapter_managed_turn",
      runtime_session_id: "rs-1",
    });
  });

  it("puts the row back when the assigned post fails and acks failed with its detail", () => {
    const w = world();
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.answerAll(terminal("assignment_in_progress"));
    expect(w.acks()[0]).toMatchObject({ status: "failed", detail: "assignment_in_progress" });
    expect(w.inbox.has("u1")).toBe(true);
    expect(w.pushes()).toHaveLength(0);
    expect([...w.component.records()]).toHaveLength(0);
  });

  it("puts an accepted row back over capacity when the inbox filled up while the assigned post was in flight, with no remove", () => {
    const w = world({ inboxCapacity: 2 });
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.addRow("x1");
    w.addRow("x2");
    w.answerAll(transient());
    expect(w.inbox.has("u1")).toBe(true);
    expect(w.inbox.size).toBe(3);
    expect(w.undispatchedEvents).toEqual([]);
    // New admissions are refused until the inbox is below its capacity again.
    expect(w.inbox.tryAdd({ ...w.inbox.get("x1")!, id: "x3" })).toBe(false);
  });

  it("loses the row silently under the planted fault silentInboxLoss (what the A10 checker must catch)", () => {
    const w = world({ inboxCapacity: 2 }, { silentInboxLoss: true });
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.addRow("x1");
    w.addRow("x2");
    w.answerAll(transient());
    expect(w.inbox.has("u1")).toBe(false);
    expect(w.undispatchedEvents).toHaveLength(0);
  });

  it("restores the target's pending assignments when the push is not received", () => {
    const w = world();
    const ch = w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.answerAll();
    w.advance(w.env.opts.pushReceiptTimeoutMs);
    expect(w.pushes(ch)).toHaveLength(1);
    expect(w.inbox.has("u1")).toBe(true);
    const lost = w.states((e) => e.state === "target_lost_before_acceptance");
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ reason_code: "ipc_push_not_received", state_sequence: 2 });
    expect(w.acks()[0]).toMatchObject({ status: "failed" });
    w.answerAll();
    expect([...w.component.records()]).toHaveLength(0);
  });

  it("re-dispatches from the record after a failed push without reusing sequence 1 (A1)", () => {
    const w = world({ controlIdempotencyRingMax: 1 });
    const ch = w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.answerAll();
    w.ackAllPushes();
    // Push out key a1 from the ring so a replay runs the handler again.
    w.addRow("u2");
    w.control(w.dispatchEvent("a2", "u2", "ep1"));
    w.answerAll();
    w.ackAllPushes();
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    const seqs = w.states((e) => e.assignment_id === "a1").map((e) => e.state_sequence);
    expect(seqs).toEqual([1, 2]);
    w.answerAll();
    expect(
      w
        .pushes(ch)
        .filter((p) => (p.frame.runtimeAssignment as { assignmentId: string }).assignmentId === "a1"),
    ).toHaveLength(2);
  });

  it("keeps inbox rows and delivered assignments exclusive at quiescence (A11)", () => {
    const w = world();
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1");
    w.addRow("u2");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.answerAll();
    w.ackAllPushes();
    const live = new Set(w.component.liveUndispatchedIds());
    expect([...w.inbox.values()].filter((r) => live.has(r.id))).toEqual([]);
    expect(live.has("u1")).toBe(true);
  });
  it("does not copy a re-dispatched record's message into the inbox when the assigned post fails (A11)", () => {
    const w = world({ controlIdempotencyRingMax: 1 });
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.answerAll();
    w.ackAllPushes();
    w.control({ type: "dispatch_nudge", version: 1, idempotency_key: "evict-a1" });
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.answerAll(transient());
    expect(w.acks().at(-1)).toMatchObject({ status: "failed" });
    expect(w.inbox.has("u1")).toBe(false);
    expect(w.component.liveUndispatchedIds()).toEqual(["u1"]);
  });
});
