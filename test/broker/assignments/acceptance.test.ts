import { describe, expect, it } from "vitest";
import { AssignmentWorld, terminal, transient } from "../../support/assignment-world.ts";

function dispatched(opts = {}, faults = {}) {
  const w = new AssignmentWorld(opts, faults);
  w.connect();
  w.addEndpoint({ id: "ep1", pid: 11 });
  w.assign("a1", "u1", "ep1", 11, false);
  return w;
}

const timeout = 30_000;

describe("acceptance timeout and restore", () => {
  it("restores an unaccepted assignment into the inbox and posts target_lost after the timeout", () => {
    const w = dispatched();
    w.advance(timeout - 1);
    expect(w.inbox.has("u1")).toBe(false);
    w.advance(1);
    expect(w.inbox.has("u1")).toBe(true);
    const lost = w.states((e) => e.state === "target_lost_before_acceptance");
    expect(lost).toEqual([
      expect.objectContaining({
        state_event_id: "a1:target_lost",
        state_sequence: 2,
        reason_code: "adapter_acceptance_timeout",
      }),
    ]);
    expect(lost[0]!.broker_projection_token).toBeUndefined();
    w.answerAll();
    expect([...w.component.records()]).toHaveLength(0);
  });

  it("does not put a message back that another assignment's adapter accepted meanwhile (A11)", () => {
    const w = dispatched();
    w.addEndpoint({ id: "ep2", pid: 12 });
    // A copy of u1's row came back through another path, and a second dispatch handed it to ep2,
    // whose adapter accepted it.
    w.assign("a2", "u1", "ep2", 12, true);
    w.advance(timeout);
    expect(w.inbox.has("u1")).toBe(false);
    expect(w.logs.some((l) => l.event === "runtime_assignment_restore_held_elsewhere")).toBe(true);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(1);
    w.answerAll();
    expect([...w.component.records()].map((r) => r.assignmentId)).toEqual(["a2"]);
  });

  it("puts the message back when the other assignment holding it is not accepted either", () => {
    const w = dispatched();
    w.addEndpoint({ id: "ep2", pid: 12 });
    w.assign("a2", "u1", "ep2", 12, false);
    w.advance(timeout);
    expect(w.inbox.has("u1")).toBe(true);
  });

  it("does not time out an accepted assignment", () => {
    const w = new AssignmentWorld();
    w.connect();
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.assign("a1", "u1", "ep1", 11, true);
    w.advance(timeout * 3);
    expect(w.inbox.has("u1")).toBe(false);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(0);
  });

  it("keeps the assignment and retries every timeout period while the inbox is full (capacity-full reinsertion)", () => {
    const w = dispatched({ inboxCapacity: 2 });
    w.addRow("x1");
    w.addRow("x2");
    w.advance(timeout);
    expect(w.inbox.has("u1")).toBe(false);
    expect([...w.component.records()]).toHaveLength(1);
    expect(w.logs.some((l) => l.event === "runtime_assignment_reinsert_failed_at_capacity")).toBe(true);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(0);
    w.inbox.take("x1");
    w.advance(timeout);
    expect(w.inbox.has("u1")).toBe(true);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(1);
  });

  it("drops the row silently under the planted fault silentInboxLoss", () => {
    const w = dispatched({ inboxCapacity: 2 }, { silentInboxLoss: true });
    w.addRow("x1");
    w.addRow("x2");
    w.advance(timeout);
    expect([...w.component.records()]).toHaveLength(0);
    expect(w.inbox.has("u1")).toBe(false);
    expect(w.undispatchedEvents).toHaveLength(0);
  });

  it("re-posts target_lost with a strictly higher sequence after a failed post (A1)", () => {
    const w = dispatched();
    w.advance(timeout);
    w.answerAll(transient());
    expect(w.inbox.has("u1")).toBe(true);
    expect([...w.component.records()]).toHaveLength(1);
    w.advance(timeout);
    const seqs = w.states((e) => e.assignment_id === "a1").map((e) => e.state_sequence);
    expect(seqs).toEqual([1, 2, 3]);
    w.answerAll();
    expect([...w.component.records()]).toHaveLength(0);
    expect([...w.inbox.values()].filter((r) => r.id === "u1")).toHaveLength(1);
  });

  it("takes the restored row back out of the inbox when the adapter accepts before target_lost lands (A11)", () => {
    const w = dispatched();
    w.advance(timeout);
    w.answerAll(transient());
    expect(w.inbox.has("u1")).toBe(true);
    w.reportState("ep1", 11, "u1", "a1", "adapter_accepted", { state_sequence: 2 });
    w.answerAll();
    expect(w.inbox.has("u1")).toBe(false);
    expect([...w.component.records()][0]).toMatchObject({ accepted: true });
    w.advance(timeout);
    expect(w.inbox.has("u1")).toBe(false);
  });

  it("restores on endpoint removal with reason endpoint_lost", () => {
    const w = dispatched();
    w.removeEndpoint("ep1");
    expect(w.inbox.has("u1")).toBe(true);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")[0]).toMatchObject({
      reason_code: "endpoint_lost",
    });
  });

  it("restores every endpoint's pending assignments on shutdown and forgets everything", () => {
    const w = dispatched();
    w.component.onShutdown();
    expect(w.inbox.has("u1")).toBe(true);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")[0]).toMatchObject({
      reason_code: "broker_shutdown",
    });
    expect([...w.component.records()]).toHaveLength(0);
    expect(w.env.armedDeadlines().filter((a) => a.deadline.kind === "acceptance")).toEqual([]);
  });

  it("restores the target's assignments when a buffer append fails", () => {
    const w = new AssignmentWorld();
    w.connect();
    w.addEndpoint({ id: "ep1", pid: 11, state: "reconnecting" });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.answerAll();
    const st = w.history.find((o) => o.kind === "storage") as { id: number };
    w.env.completeStorage(st.id, false, "EIO");
    w.sync();
    expect(w.inbox.has("u1")).toBe(true);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")[0]).toMatchObject({
      reason_code: "reconnecting_buffer_failed",
    });
    expect(w.acks()[0]).toMatchObject({ status: "failed" });
  });
});

describe("one live binding per message (A11)", () => {
  it("refuses to hand a restored copy to another assignment while its target_lost is unconfirmed", () => {
    const w = dispatched();
    w.addEndpoint({ id: "ep2", pid: 12 });
    w.advance(timeout);
    w.answerAll(transient()); // target_lost failed: record and inbox row coexist
    expect(w.inbox.has("u1")).toBe(true);
    w.control(w.dispatchEvent("b1", "u1", "ep2"));
    expect(w.acks().at(-1)).toMatchObject({ status: "failed" });
    expect(w.acks().at(-1)!.detail).toMatch(/restore pending/);
    expect(w.inbox.has("u1")).toBe(true);
    // The late acceptance wins: the copy leaves the inbox, nothing is delivered twice.
    w.reportState("ep1", 11, "u1", "a1", "adapter_accepted");
    w.answerAll();
    expect(w.inbox.has("u1")).toBe(false);
    expect(w.component.liveUndispatchedIds()).toEqual(["u1"]);
  });

  it("records a row's removal in the inbox journal when the adapter accepts, before any push receipt", () => {
    const w = new AssignmentWorld();
    w.connect();
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.answerAll();
    expect(w.journalOps.filter((o) => o.op === "inbox_remove")).toEqual([]);
    // The receipt is late; a crash now must not restore a row the plugin already has.
    w.reportState("ep1", 11, "u1", "a1", "adapter_accepted");
    w.answerAll();
    expect(w.journalOps.filter((o) => o.op === "inbox_remove")).toEqual([{ op: "inbox_remove", id: "u1" }]);
    expect(w.inbox.departed("u1")).toBe(true);
  });

  it("refuses a replayed dispatch of the same key while its restored copy waits for target_lost", () => {
    const w = new AssignmentWorld();
    w.connect();
    w.addEndpoint({ id: "ep1", pid: 11 });
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.answerAll();
    w.advance(2_000); // no push receipt: restore, target_lost in flight, the copy is in the inbox
    expect(w.acks()).toEqual([expect.objectContaining({ status: "failed" })]);
    expect(w.inbox.has("u1")).toBe(true);
    w.control(w.dispatchEvent("a1", "u1", "ep1")); // the platform replays the failed key
    expect(w.acks().at(-1)).toMatchObject({ status: "failed" });
    expect(w.acks().at(-1)!.detail).toMatch(/restore pending/);
    expect(w.states((e) => e.state === "assigned_to_runtime_target")).toHaveLength(1);
    expect(w.inbox.has("u1")).toBe(true);
    // The adapter accepts late, the restore fails: the accepted record owns the message, and no
    // held copy can come back to life when the replayed dispatch's answer arrives.
    const req = w.reportState("ep1", 11, "u1", "a1", "adapter_accepted");
    w.answer(w.pending("processing_state")[0]!.id, transient());
    w.answerAll();
    expect(w.response(req)).toMatchObject({ status: 200 });
    expect(w.inbox.has("u1")).toBe(false);
    expect([...w.component.records()]).toEqual([
      expect.objectContaining({ key: expect.stringContaining("a1"), accepted: true }),
    ]);
    expect(w.states((e) => e.state === "assigned_to_runtime_target")).toHaveLength(1);
  });

  it("ends an assignment whose target_lost the platform took, and refuses the acceptance that waited for it", () => {
    const w = dispatched();
    w.advance(timeout); // target_lost in flight
    const req = w.reportState("ep1", 11, "u1", "a1", "adapter_accepted");
    // The acceptance is not posted while target_lost is in flight: the platform could apply the
    // two in either order, and only one order re-queues the row.
    expect(w.states((e) => e.state === "adapter_accepted")).toHaveLength(0);
    expect(w.response(req)).toBeUndefined();
    const [lost] = w.pending("processing_state");
    w.answer(lost!.id);
    expect([...w.component.records()]).toHaveLength(0);
    expect(w.inbox.has("u1")).toBe(true);
    expect(w.response(req)).toMatchObject({ status: 409, body: { error: "runtime_assignment_unknown" } });
    expect(w.states((e) => e.state === "adapter_accepted")).toHaveLength(0);
  });

  it("posts a waiting acceptance after a failed target_lost, and the acceptance wins", () => {
    const w = dispatched();
    w.advance(timeout);
    const req = w.reportState("ep1", 11, "u1", "a1", "adapter_accepted", { state_sequence: 2 });
    w.answer(w.pending("processing_state")[0]!.id, transient());
    const [accepted] = w.pending("processing_state");
    expect(accepted!.args).toMatchObject({ state: "adapter_accepted", state_sequence: 3 });
    w.answer(accepted!.id);
    expect(w.response(req)).toMatchObject({ status: 200 });
    expect(w.inbox.has("u1")).toBe(false);
    expect([...w.component.records()][0]).toMatchObject({ accepted: true });
    w.advance(timeout * 2);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(1);
  });
});

describe("late acceptance race (L1, A10, A11)", () => {
  it("does not restore while an adapter_accepted post is in flight, and restores nothing once it is taken", () => {
    const w = dispatched();
    w.advance(timeout - 10);
    const req = w.reportState("ep1", 11, "u1", "a1", "adapter_accepted", { state_sequence: 2 });
    w.advance(10); // the acceptance deadline falls due while the post is in flight
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(0);
    expect(w.inbox.has("u1")).toBe(false);
    expect(w.logs.some((l) => l.event === "runtime_assignment_restore_deferred")).toBe(true);
    w.answerAll();
    expect(w.response(req)).toMatchObject({ status: 200 });
    w.advance(timeout * 3);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(0);
    expect(w.inbox.has("u1")).toBe(false);
    expect([...w.component.records()][0]).toMatchObject({ accepted: true });
  });

  it("restores as usual once the in-flight adapter_accepted post is refused", () => {
    const w = dispatched();
    w.advance(timeout - 10);
    const req = w.reportState("ep1", 11, "u1", "a1", "adapter_accepted", { state_sequence: 2 });
    w.advance(10);
    const [accepted] = w.pending("processing_state");
    w.answer(accepted!.id, terminal("runtime_assignment_rejected"));
    expect(w.response(req)).toMatchObject({ status: 409 });
    expect(w.inbox.has("u1")).toBe(true);
    const lost = w.states((e) => e.state === "target_lost_before_acceptance");
    expect(lost).toEqual([
      expect.objectContaining({ reason_code: "adapter_acceptance_timeout", state_sequence: 3 }),
    ]);
    w.answerAll();
    expect([...w.component.records()]).toHaveLength(0);
  });

  it("defers an endpoint-removal restore behind an in-flight acceptance too", () => {
    const w = dispatched();
    w.reportState("ep1", 11, "u1", "a1", "adapter_accepted", { state_sequence: 2 });
    w.removeEndpoint("ep1");
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(0);
    w.answer(w.pending("processing_state")[0]!.id, terminal("state_sequence_regression"));
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toEqual([
      expect.objectContaining({ reason_code: "endpoint_lost" }),
    ]);
    expect(w.inbox.has("u1")).toBe(true);
  });
});

describe("an ambiguous acceptance is resolved before a restore (acceptance rule 6)", () => {
  /** The adapter's acceptance post fails without a definite answer just as the deadline falls due. */
  function ambiguous() {
    const w = dispatched();
    w.advance(timeout - 10);
    const req = w.reportState("ep1", 11, "u1", "a1", "adapter_accepted", { state_sequence: 2 });
    w.advance(10);
    const [first] = w.pending("processing_state");
    w.answer(first!.id, transient());
    expect(w.response(req)).toMatchObject({ status: 503 });
    return { w, first: first!.args as Record<string, unknown> };
  }

  it("re-posts the same adapter_accepted event instead of posting target_lost", () => {
    const { w, first } = ambiguous();
    const [again] = w.pending("processing_state");
    expect(again!.args).toMatchObject({
      state: "adapter_accepted",
      state_event_id: first.state_event_id,
      state_sequence: first.state_sequence,
    });
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(0);
    expect(w.inbox.has("u1")).toBe(false);
  });

  it("counts the assignment accepted when the re-post is taken, and never restores it", () => {
    const { w } = ambiguous();
    w.answerAll();
    w.advance(timeout * 3);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(0);
    expect(w.inbox.has("u1")).toBe(false);
    expect([...w.component.records()][0]).toMatchObject({ accepted: true });
  });

  it("restores once the re-post is refused", () => {
    const { w } = ambiguous();
    w.answer(w.pending("processing_state")[0]!.id, terminal("runtime_assignment_rejected"));
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toEqual([
      expect.objectContaining({ reason_code: "adapter_acceptance_timeout" }),
    ]);
    expect(w.inbox.has("u1")).toBe(true);
  });

  it("retries a re-post that fails without an answer after the emitter backoff, still without restoring", () => {
    const { w } = ambiguous();
    w.answer(w.pending("processing_state")[0]!.id, transient());
    expect(w.pending("processing_state")).toHaveLength(0);
    w.advance(500);
    expect(w.pending("processing_state")).toHaveLength(1);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(0);
    w.answerAll();
    expect([...w.component.records()][0]).toMatchObject({ accepted: true });
  });

  it("resolves an acceptance that failed earlier when a later endpoint removal restores", () => {
    const w = dispatched();
    w.reportState("ep1", 11, "u1", "a1", "adapter_accepted", { state_sequence: 2 });
    w.answer(w.pending("processing_state")[0]!.id, transient());
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(0);
    w.removeEndpoint("ep1");
    expect(w.pending("processing_state").map((c) => (c.args as Record<string, unknown>).state)).toEqual([
      "adapter_accepted",
    ]);
    w.answer(w.pending("processing_state")[0]!.id, terminal("runtime_assignment_rejected"));
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toEqual([
      expect.objectContaining({ reason_code: "endpoint_lost" }),
    ]);
  });
});
