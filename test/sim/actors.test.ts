import { describe, expect, it } from "vitest";
import { ConnectorServer, DEFAULT_CONNECTOR_SERVER_OPTIONS } from "../../sim/actors/connector-server.ts";
import { PlatformApi } from "../../sim/actors/platform-api.ts";

const spec = (n: number) => ({ from: "a", content: `m${n}`, contentType: "text", metadata: {} });
const frames = (s: ConnectorServer) => s.takeOutputs().flatMap((o) => (o.kind === "frame" ? [o.frame] : []));

describe("connector server model", () => {
  it("replays everything above lastKnownSeq after REGISTER and acks with its delivered mark", () => {
    const s = new ConnectorServer(DEFAULT_CONNECTOR_SERVER_OPTIONS);
    for (let i = 1; i <= 5; i++) s.append(spec(i), 0);
    s.onOpen(1);
    s.onFrame(1, JSON.stringify({ event: "REGISTER", protocolVersion: 4, lastKnownSeq: 3 }), 0);
    const out = frames(s);
    expect(out[0]).toMatchObject({ event: "REGISTER_ACK", status: "ok", deliverySeq: 0 });
    expect(out.slice(1).map((f) => f.seq)).toEqual([4, 5]);
  });

  it("serves gap fills at most once per interval", () => {
    const s = new ConnectorServer({ ...DEFAULT_CONNECTOR_SERVER_OPTIONS, gapFillMinIntervalMs: 1_000 });
    for (let i = 1; i <= 3; i++) s.append(spec(i), 0);
    s.onOpen(1);
    s.onFrame(1, JSON.stringify({ event: "REGISTER", protocolVersion: 4, lastKnownSeq: 3 }), 0);
    s.takeOutputs();
    s.onFrame(1, JSON.stringify({ event: "REQUEST_GAP_FILL", sinceSeq: 1 }), 10);
    expect(frames(s).map((f) => f.seq)).toEqual([2, 3]);
    s.onFrame(1, JSON.stringify({ event: "REQUEST_GAP_FILL", sinceSeq: 2 }), 20);
    const deferred = s.takeOutputs();
    expect(deferred.some((o) => o.kind === "frame" && o.frame.event === "MESSAGE_RECEIVED")).toBe(false);
    expect(deferred).toContainEqual({ kind: "timer", atMs: 1_010, tag: "gap_fill" });
    s.onTimer("gap_fill", 1_010);
    expect(frames(s).map((f) => f.seq)).toEqual([3]);
  });

  it("answers SEND_MESSAGE with SEND_ACK and records it", () => {
    const s = new ConnectorServer(DEFAULT_CONNECTOR_SERVER_OPTIONS);
    s.onOpen(1);
    s.onFrame(
      1,
      JSON.stringify({ event: "SEND_MESSAGE", messageId: "w1", to: "x", content: "hi", contentType: "text" }),
      5,
    );
    expect(frames(s)).toEqual([{ event: "SEND_ACK", messageId: "w1", status: "delivered" }]);
    expect(s.outbound[0]).toMatchObject({ messageId: "w1", to: "x", atMs: 5 });
  });
});

describe("platform API model", () => {
  const target = {
    kind: "projection_endpoint" as const,
    projection_endpoint_id: "ep-1",
    background_exchange_mode: "resident_endpoint" as const,
  };
  const ev = (state: string, seq: number, token?: string) => ({
    type: "runtime_processing_state" as const,
    version: 1 as const,
    source_message_id: "m1",
    assignment_id: "asg-1",
    state_event_id: `asg-1:${state}:${seq}`,
    state_sequence: seq,
    target_ref: target,
    state: state as "adapter_accepted",
    occurred_at: 0,
    broker_projection_token: token,
  });

  it("rejects a state_sequence regression with a terminal 409 but accepts an exact retry", () => {
    const api = new PlatformApi();
    api.issueAssignment({
      assignmentId: "asg-1",
      undispatchedId: "m1",
      sourceMessageId: "m1",
      targetRef: target,
      token: "t",
    });
    expect(api.handle("processing_state", ev("assigned_to_runtime_target", 1, "t"), 0).ok).toBe(true);
    expect(api.handle("processing_state", ev("processing_started", 3), 0).ok).toBe(true);
    expect(api.handle("processing_state", ev("processing_started", 3), 0).ok).toBe(true);
    expect(api.handle("processing_state", ev("adapter_accepted", 2), 0)).toMatchObject({
      ok: false,
      terminal: true,
      status: 409,
    });
  });

  it("records a state_sequence regression when told to accept whatever arrives", () => {
    const api = new PlatformApi({ sequenceCheck: "accept" });
    api.issueAssignment({
      assignmentId: "asg-1",
      undispatchedId: "m1",
      sourceMessageId: "m1",
      targetRef: target,
      token: "t",
    });
    expect(api.handle("processing_state", ev("processing_started", 3), 0).ok).toBe(true);
    expect(api.handle("processing_state", ev("adapter_accepted", 2), 0).ok).toBe(true);
    const a = api.assignments.get("asg-1")!;
    expect(a.accepted.map((x) => x.seq)).toEqual([3, 2]);
    expect(a.lastSequence).toBe(3);
  });

  it("refuses broker-owned states without the issued token", () => {
    const api = new PlatformApi();
    api.issueAssignment({
      assignmentId: "asg-1",
      undispatchedId: "m1",
      sourceMessageId: "m1",
      targetRef: target,
      token: "t",
    });
    expect(api.handle("processing_state", ev("assigned_to_runtime_target", 1, "wrong"), 0)).toMatchObject({
      ok: false,
      status: 403,
    });
  });

  it("issues endpoint ids, retires them on unregister and answers route claims", () => {
    const api = new PlatformApi();
    const r = api.handle(
      "register",
      { nonce: "n", plugin_pid: 1, kind: "k", capabilities: [], display_label: "k" },
      0,
    );
    expect(r).toMatchObject({ ok: true, endpoint_id: "ep-1" });
    api.handle("unregister", { endpoint_id: "ep-1" }, 0);
    expect(api.handle("closed_endpoint_lookup", { endpoint_id: "ep-1" }, 0)).toMatchObject({
      ok: true,
      retired: true,
    });
    const claim = {
      type: "runtime_inbound_route_claim" as const,
      version: 1 as const,
      source_message_id: "m1",
      routed_to_endpoint_id: "ep-2",
      route_kind: "active_endpoint" as const,
      claimed_at: 0,
    };
    expect(api.handle("inbound_route_claim", claim, 0)).toMatchObject({ action: "route" });
    api.handle(
      "inbound_routed",
      {
        type: "runtime_inbound_routed",
        version: 1,
        source_message_id: "m1",
        routed_to_endpoint_id: "ep-2",
        route_kind: "active_endpoint",
        routed_at: 0,
      },
      0,
    );
    expect(api.handle("inbound_route_claim", claim, 0)).toMatchObject({ action: "skip" });
  });
});
