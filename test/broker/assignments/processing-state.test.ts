import { describe, expect, it } from "vitest";
import { AssignmentWorld, terminal, transient } from "../../support/assignment-world.ts";

function setup(faults = {}) {
  const w = new AssignmentWorld({}, faults);
  w.connect();
  w.addEndpoint({ id: "ep1", pid: 11 });
  w.addEndpoint({ id: "ep2", pid: 12 });
  w.assign("a1", "u1", "ep1", 11, false);
  return w;
}

describe("POST /v1/runtime/processing-state", () => {
  it("answers the documented status and code for each ownership failure, without posting (I2)", () => {
    const w = setup();
    const before = w.states().length;
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ ...w.owner("nope", 11) }, 404, "unknown_endpoint"],
      [{ ...w.owner("ep1", 99) }, 403, "endpoint_pid_mismatch"],
      [{ ...w.owner("ep1", 11), endpoint_owner_token: "stolen" }, 403, "endpoint_owner_token_mismatch"],
      [{ ...w.owner("ep1", 11), assignment_id: "zzz" }, 409, "runtime_assignment_unknown"],
      [{ ...w.owner("ep2", 12) }, 403, "runtime_assignment_target_mismatch"],
      [{ ...w.owner("ep1", 11), state: "reply_emitted" }, 403, "reply_emitted_broker_owned"],
      [
        { ...w.owner("ep1", 11), state: "assigned_to_runtime_target" },
        403,
        "assigned_to_runtime_target_broker_owned",
      ],
      [{ ...w.owner("ep1", 11), state: "reply_requested" }, 403, "reply_requested_broker_owned"],
      [{ ...w.owner("ep1", 11), state: "dancing" }, 400, "bad_request"],
      [{ ...w.owner("ep1", 11), state_sequence: "7" }, 400, "bad_request"],
    ];
    for (const [over, status, code] of cases) {
      const id = w.request("POST", "/v1/runtime/processing-state", {
        source_message_id: "src-u1",
        assignment_id: "a1",
        state: "processing_started",
        ...over,
      });
      expect(w.response(id), JSON.stringify(over)).toMatchObject({ status, body: { error: code } });
    }
    expect(w.states()).toHaveLength(before);
  });

  it("answers 400 for a body that is not an object", () => {
    const w = setup();
    const id = w.request("POST", "/v1/runtime/processing-state", "nope");
    expect(w.response(id)).toMatchObject({ status: 400, body: { error: "bad_request" } });
  });

  it("forwards an adapter state with the record's target ref and answers only after the platform took it", () => {
    const w = setup();
    const id = w.reportState("ep1", 11, "u1", "a1", "processing_started", {
      state_sequence: 5,
      detail: "go",
    });
    expect(w.response(id)).toBeUndefined();
    const [ev] = w.states((e) => e.state === "processing_started");
    expect(ev).toMatchObject({
      state_sequence: 5,
      target_ref: { projection_endpoint_id: "ep1" },
      undispatched_id: "u1",
      detail: "go",
    });
    expect(ev!.broker_projection_token).toBeUndefined();
    w.answerAll();
    expect(w.response(id)).toEqual({ status: 200, body: { ok: true } });
  });

  it("maps a terminal platform failure to 409 and a transient one to 503 with the category", () => {
    const w = setup();
    const a = w.reportState("ep1", 11, "u1", "a1", "processing_started");
    w.answerAll({ ...terminal("stale"), assignmentFailureCategory: "acceptance_rejected" });
    expect(w.response(a)).toMatchObject({
      status: 409,
      body: {
        error: "runtime_processing_state_rejected",
        assignment_failure_category: "acceptance_rejected",
      },
    });
    const b = w.reportState("ep1", 11, "u1", "a1", "processing_started");
    w.answerAll(transient());
    expect(w.response(b)).toMatchObject({
      status: 503,
      body: { error: "runtime_processing_state_rejected" },
    });
  });

  it("raises an adapter sequence that would not exceed the last posted one (A1)", () => {
    const w = setup();
    w.reportState("ep1", 11, "u1", "a1", "adapter_accepted", { state_sequence: 1 });
    w.reportState("ep1", 11, "u1", "a1", "processing_started", { state_sequence: 1 });
    const seqs = w.states((e) => e.assignment_id === "a1").map((e) => e.state_sequence);
    expect(seqs).toEqual([1, 2, 3]);
  });

  it("posts adapter sequences as given under the planted fault noSequenceGuard", () => {
    const w = setup({ noSequenceGuard: true });
    w.reportState("ep1", 11, "u1", "a1", "adapter_accepted", { state_sequence: 1 });
    const seqs = w.states((e) => e.assignment_id === "a1").map((e) => e.state_sequence);
    expect(seqs).toEqual([1, 1]);
  });

  it("accepts reports from a reconnecting endpoint", () => {
    const w = setup();
    w.registry.get("ep1")!.state = "reconnecting";
    const id = w.reportState("ep1", 11, "u1", "a1", "processing_started");
    w.answerAll();
    expect(w.response(id)?.status).toBe(200);
  });

  it("marks the assignment accepted and stops its acceptance deadline on adapter_accepted", () => {
    const w = setup();
    w.reportState("ep1", 11, "u1", "a1", "adapter_accepted");
    w.answerAll();
    expect([...w.component.records()][0]).toMatchObject({ accepted: true });
    expect(w.env.armedDeadlines().some((a) => a.deadline.kind === "acceptance")).toBe(false);
  });

  it("restores the message without a target_lost post when the adapter reports a retryable failure before acceptance", () => {
    const w = setup();
    w.reportState("ep1", 11, "u1", "a1", "processing_failed", { retryable: true });
    w.answerAll();
    expect(w.inbox.has("u1")).toBe(true);
    expect([...w.component.records()]).toHaveLength(0);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(0);
  });

  it("restores on waiting_for_runtime_capability and adapter-sent target_lost before acceptance", () => {
    for (const state of ["waiting_for_runtime_capability", "target_lost_before_acceptance"]) {
      const w = setup();
      w.reportState("ep1", 11, "u1", "a1", state);
      w.answerAll();
      expect(w.inbox.has("u1"), state).toBe(true);
      expect([...w.component.records()], state).toHaveLength(0);
    }
  });

  it("forgets the assignment on a non-retryable failure, and on expired after acceptance", () => {
    const w = setup();
    w.reportState("ep1", 11, "u1", "a1", "processing_failed");
    w.answerAll();
    expect([...w.component.records()]).toHaveLength(0);
    expect(w.inbox.has("u1")).toBe(false);

    const v = new AssignmentWorld();
    v.connect();
    v.addEndpoint({ id: "ep1", pid: 11 });
    v.assign("a1", "u1", "ep1", 11, true);
    v.reportState("ep1", 11, "u1", "a1", "expired");
    v.answerAll();
    expect([...v.component.records()]).toHaveLength(0);
  });
});
