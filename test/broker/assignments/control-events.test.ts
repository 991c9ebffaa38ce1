import { describe, expect, it } from "vitest";
import { AssignmentWorld, transient } from "../../support/assignment-world.ts";

function world(opts = {}) {
  const w = new AssignmentWorld(opts);
  w.connect();
  w.addEndpoint({ id: "ep1", pid: 11 });
  return w;
}

describe("control events", () => {
  it("acks a malformed event failed with a clear detail instead of throwing", () => {
    const w = world();
    for (const ev of [
      null,
      42,
      "x",
      [],
      {},
      { type: "dispatch_undispatched", version: 1 },
      { idempotency_key: "k" },
    ]) {
      expect(() => w.control(ev)).not.toThrow();
    }
    const acks = w.acks();
    expect(acks).toHaveLength(7);
    for (const a of acks) {
      expect(a.status).toBe("failed");
      expect(a.detail).toMatch(/^malformed_control_event: /);
    }
    expect(acks[6]!.idempotency_key).toBe("k");
  });

  it("acks a dispatch with malformed fields failed and naming the field", () => {
    const w = world();
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1", { target_ref: { kind: "projection_endpoint" } }));
    w.control(w.dispatchEvent("a2", "u1", "ep1", { source_message_id: 7 }));
    w.control(w.dispatchEvent("a3", "u1", "ep1", { emitted_at: "now" }));
    expect(w.acks().map((a) => a.detail)).toEqual([
      "malformed dispatch_undispatched: target_ref.projection_endpoint_id must be a non-empty string",
      "malformed dispatch_undispatched: source_message_id must be a non-empty string",
      "malformed dispatch_undispatched: emitted_at must be a number",
    ]);
    expect(w.inbox.has("u1")).toBe(true);
  });

  it("fails an unsupported version and applies-and-drops an unknown type", () => {
    const w = world();
    w.control({ type: "dispatch_nudge", version: 2, idempotency_key: "k1" });
    w.control({ type: "brand_new_thing", version: 1, idempotency_key: "k2" });
    w.control({ type: "owner_session_delivery", version: 1, idempotency_key: "k3" });
    w.control({ type: "spawn_request", version: 1, idempotency_key: "k4" });
    expect(w.acks().map((a) => [a.idempotency_key, a.status, a.detail])).toEqual([
      ["k1", "failed", "unsupported_protocol_version"],
      ["k2", "applied", "unknown_variant_dropped"],
      ["k3", "failed", "no_handler:owner_session_delivery"],
      ["k4", "failed", "spawn_driver_registry_not_configured"],
    ]);
  });

  it("applies dispatch_nudge and force_unregister (unknown endpoint is fine)", () => {
    const w = world();
    w.control({
      type: "dispatch_nudge",
      version: 1,
      idempotency_key: "n1",
      undispatched_id: "u",
      target_endpoint_id: "e",
    });
    w.control({ type: "force_unregister", version: 1, idempotency_key: "f1", endpoint_id: "ghost" });
    w.control({
      type: "force_unregister",
      version: 1,
      idempotency_key: "f2",
      endpoint_id: "ep1",
      reason: "admin",
    });
    w.control({ type: "force_unregister", version: 1, idempotency_key: "f3" });
    expect(w.acks().map((a) => a.status)).toEqual(["applied", "applied", "applied", "failed"]);
    expect(w.registry.get("ep1")).toBeUndefined();
  });

  it("does not run a replayed successful key again: no new posts or pushes (A9)", () => {
    const w = world();
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.answerAll();
    w.ackAllPushes();
    const posts = w.states().length;
    const pushes = w.pushes().length;
    w.addRow("u1"); // even if the row came back, the replay must not act on it
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    expect(w.states()).toHaveLength(posts);
    expect(w.pushes()).toHaveLength(pushes);
    expect(w.acks().map((a) => a.status)).toEqual(["applied", "applied"]);
  });

  it("forgets the oldest successful key beyond the ring size", () => {
    const w = world({ controlIdempotencyRingMax: 2 });
    for (const k of ["n1", "n2", "n3"]) w.control({ type: "dispatch_nudge", version: 1, idempotency_key: k });
    const before = w.logs.filter((l) => l.event === "dispatch_nudge_received").length;
    w.control({ type: "dispatch_nudge", version: 1, idempotency_key: "n3" });
    w.control({ type: "dispatch_nudge", version: 1, idempotency_key: "n1" });
    const after = w.logs.filter((l) => l.event === "dispatch_nudge_received").length;
    expect(after - before).toBe(1);
  });

  it("gives concurrent duplicates the shared outcome, one ack each, running the handler once", () => {
    const w = world();
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    expect(w.states()).toHaveLength(1);
    expect(w.acks()).toHaveLength(0);
    w.answerAll();
    w.ackAllPushes();
    expect(w.acks().map((a) => [a.idempotency_key, a.status])).toEqual([
      ["a1", "applied"],
      ["a1", "applied"],
    ]);
  });

  it("does not remember failures, so the platform can retry the same key", () => {
    const w = world();
    w.addRow("u1");
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    w.answerAll(transient());
    w.control(w.dispatchEvent("a1", "u1", "ep1"));
    expect(w.states((e) => e.assignment_id === "a1").map((e) => e.state_sequence)).toEqual([1, 2]);
    w.answerAll();
    w.ackAllPushes();
    expect(w.acks().map((a) => a.status)).toEqual(["failed", "applied"]);
  });
});

describe("POST /v1/dispatch", () => {
  it("runs a local dispatch with a random token and answers ok once the push is received", () => {
    const w = world();
    w.addRow("u1");
    const id = w.request("POST", "/v1/dispatch", { undispatched_id: "u1", target_endpoint_id: "ep1" });
    const [assigned] = w.states();
    expect(assigned!.assignment_id).toMatch(/^local-/);
    expect(assigned!.broker_projection_token).toBeTruthy();
    w.answerAll();
    w.ackAllPushes();
    expect(w.response(id)).toEqual({ status: 200, body: { ok: true } });
    expect(w.acks()).toHaveLength(0);
  });

  it("answers 400 dispatch_body_invalid and 400 dispatch_failed", () => {
    const w = world();
    const a = w.request("POST", "/v1/dispatch", { undispatched_id: "u1" });
    expect(w.response(a)).toMatchObject({ status: 400, body: { error: "dispatch_body_invalid" } });
    const b = w.request("POST", "/v1/dispatch", { undispatched_id: "nope", target_endpoint_id: "ep1" });
    expect(w.response(b)).toMatchObject({
      status: 400,
      body: { error: "dispatch_failed", message: "unknown undispatched_id: nope" },
    });
  });
});
