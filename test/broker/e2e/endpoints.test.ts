import { describe, expect, it } from "vitest";
import { deadlineIds } from "../../../src/broker/deadline-kinds.ts";
import { BrokerPair, OK } from "../../support/broker-pair.ts";

const ROUTE = { ok: true, action: "route" } as const;

function world(opts: ConstructorParameters<typeof BrokerPair>[0] = {}) {
  const pair = new BrokerPair(opts);
  pair.connect();
  const ep = pair.register(100, 1).endpointId;
  return { pair, ep };
}

function transitions(pair: BrokerPair, ep: string): string[] {
  return pair
    .allCalls("transition_state")
    .filter((c) => c.args.endpoint_id === ep)
    .map((c) => `${c.args.state}/${c.args.reason}`);
}

describe("an endpoint whose plugin stream closes", () => {
  it("turns reconnecting with a grace deadline when the plugin is alive", () => {
    const { pair, ep } = world();
    pair.closeChannel(1, true);
    expect(pair.core.registry.get(ep)?.state).toBe("reconnecting");
    expect(pair.core.lifecycle.graceArmed(ep)).toBe(true);
    expect(pair.core.env.dueAt({ kind: "grace", endpointId: ep })).toBe(pair.now + 600_000);
    expect(transitions(pair, ep)).toEqual(["active/register", "reconnecting/ipc_close"]);
  });

  it("is closed and unregistered at once when the plugin is dead", () => {
    const { pair, ep } = world();
    pair.closeChannel(1, false);
    expect(pair.core.registry.get(ep)).toBeUndefined();
    expect(pair.core.lifecycle.graceArmed(ep)).toBe(false);
    expect(transitions(pair, ep)).toEqual(["active/register", "closed/plugin_exit"]);
    expect(pair.allCalls("unregister").map((c) => c.args.endpoint_id)).toEqual([ep]);
    expect(pair.log.some((o) => o.kind === "storage" && o.op.op === "delete_buffer")).toBe(true);
  });

  it("is closed, its buffer deleted and unregistered when the grace expires", () => {
    const { pair, ep } = world({ options: { graceMs: 1_000 } });
    pair.closeChannel(1, true);
    pair.advance(999);
    expect(pair.core.registry.get(ep)?.state).toBe("reconnecting");
    pair.advance(1);
    expect(pair.core.registry.get(ep)).toBeUndefined();
    expect(transitions(pair, ep)).toEqual([
      "active/register",
      "reconnecting/ipc_close",
      "closed/grace_timeout",
    ]);
    expect(pair.allCalls("unregister")).toHaveLength(1);
    expect(pair.core.env.armedDeadlines().filter((a) => deadlineIds(a.deadline).includes(ep))).toEqual([]);
  });

  it("stops heartbeats once removed", () => {
    const pair = new BrokerPair();
    pair.connect();
    const { endpointId } = pair.register(100, 1, {}, "ep-hb", 30);
    pair.advance(30_000);
    expect(pair.allCalls("heartbeat")).toHaveLength(1);
    pair.request("DELETE", `/v1/endpoint/${endpointId}`);
    pair.advance(60_000);
    expect(pair.allCalls("heartbeat")).toHaveLength(1);
    expect(transitions(pair, endpointId)).toEqual(["active/register", "closed/explicit_unregister"]);
  });
});

describe("buffering and reattach", () => {
  function buffered() {
    const { pair, ep } = world();
    pair.closeChannel(1, true);
    for (const seq of [1, 2]) {
      pair.message({ seq, messageId: `m${seq}`, metadata: { target_endpoint_id: ep } });
      const claim = pair.calls("inbound_route_claim")[0]!;
      expect(claim.args.route_kind).toBe("reconnecting_endpoint");
      pair.answer(claim, ROUTE);
      pair.answerOne("inbound_routed", OK);
    }
    return { pair, ep };
  }

  it("appends messages for a reconnecting endpoint to its buffer and acks them", () => {
    const { pair, ep } = buffered();
    const appends = pair.log.filter((o) => o.kind === "storage" && o.op.op === "append_buffer");
    expect(appends).toHaveLength(2);
    expect(pair.core.buffers.count(ep)).toBe(2);
    expect(pair.messagePushes()).toHaveLength(0);
    expect(pair.ackedUpTo()).toBe(2);
  });

  it("drains the buffer one record at a time with receipts, then deletes it and turns active", () => {
    const { pair, ep } = buffered();
    pair.openChannel(2, 100);
    const id = pair.request("POST", `/v1/endpoint/${ep}/reattach`, { plugin_pid: 100 });
    expect(pair.core.registry.get(ep)?.state).toBe("active");
    expect(pair.core.lifecycle.graceArmed(ep)).toBe(false);
    let pushes = pair.messagePushes(2);
    expect(pushes.map((p) => p.sourceMessageId)).toEqual(["m1"]);
    pair.pushAck(pushes[0]!.push_id!, 2);
    pushes = pair.messagePushes(2);
    expect(pushes.map((p) => p.sourceMessageId)).toEqual(["m1", "m2"]);
    expect(pair.response(id)).toBeUndefined();
    pair.pushAck(pushes[1]!.push_id!, 2);
    expect(pair.response(id)).toEqual({
      status: 200,
      body: { restored: true, reconnecting_buffer_count: 2 },
    });
    expect(pair.core.buffers.count(ep)).toBe(0);
    expect(transitions(pair, ep).at(-1)).toBe("active/reattach");
  });

  it("answers 503 and goes back to reconnecting with the buffer kept when a drain push is not received", () => {
    const { pair, ep } = buffered();
    pair.openChannel(2, 100);
    const id = pair.request("POST", `/v1/endpoint/${ep}/reattach`, { plugin_pid: 100 });
    pair.advance(2_000);
    expect(pair.response(id)).toMatchObject({
      status: 503,
      body: { error: "reconnecting_buffer_drain_failed", retryable: true },
    });
    expect(pair.core.registry.get(ep)?.state).toBe("reconnecting");
    expect(pair.core.lifecycle.graceArmed(ep)).toBe(true);
    expect(pair.core.buffers.count(ep)).toBe(2);
  });

  it("refuses a reattach for an active endpoint with 409", () => {
    const { pair, ep } = world();
    const id = pair.request("POST", `/v1/endpoint/${ep}/reattach`, { plugin_pid: 100 });
    expect(pair.response(id)).toMatchObject({ status: 409, body: { error: "endpoint_not_reconnecting" } });
  });
});

describe("IPC channels", () => {
  it("closes a displaced channel with 1000 replaced and ignores its later close", () => {
    const { pair, ep } = world();
    const out = pair.openChannel(2, 100);
    expect(out).toContainEqual(
      expect.objectContaining({ kind: "ipc_close_channel", channel: 1, code: 1000, reason: "replaced" }),
    );
    pair.closeChannel(1, true);
    expect(pair.core.registry.get(ep)?.state).toBe("active");
    expect(transitions(pair, ep)).toEqual(["active/register"]);
  });

  it("reports a push pending on a displaced channel as not received", () => {
    const { pair, ep } = world();
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", ROUTE);
    const [push] = pair.messagePushes(1);
    pair.openChannel(2, 100);
    pair.pushAck(push!.push_id!, 1);
    expect(pair.allCalls("inbound_routed")).toHaveLength(0);
    expect(pair.ackedUpTo()).toBe(0);
    expect(pair.logCount("ipc_push_not_received")).toBe(1);
  });

  it("ignores a receipt from another pid's socket and times the push out", () => {
    const { pair, ep } = world();
    pair.openChannel(3, 200);
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", ROUTE);
    const [push] = pair.messagePushes(1);
    pair.pushAck(push!.push_id!, 3);
    expect(pair.logCount("ipc_push_ack_pid_mismatch")).toBe(1);
    expect(pair.allCalls("inbound_routed")).toHaveLength(0);
    pair.advance(2_000);
    expect(pair.logCount("ipc_push_ack_timeout")).toBe(1);
    // A late receipt from the right socket changes nothing either.
    pair.pushAck(push!.push_id!, 1);
    expect(pair.allCalls("inbound_routed")).toHaveLength(0);
    expect(pair.ackedUpTo()).toBe(0);
  });
});

describe("R5: hand-offs to one endpoint follow seq order", () => {
  it("holds a later seq whose claim answered first until the earlier one is handed off", () => {
    const { pair, ep } = world();
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.message({ seq: 2, messageId: "m2", metadata: { target_endpoint_id: ep } });
    const [c1, c2] = pair.calls("inbound_route_claim");
    pair.answer(c2!, ROUTE);
    expect(pair.messagePushes()).toHaveLength(0);
    pair.answer(c1!, ROUTE);
    expect(pair.messagePushes().map((p) => p.sourceMessageId)).toEqual(["m1", "m2"]);
  });

  it("lets the later seq through when the earlier one ends without hand-off", () => {
    const { pair, ep } = world();
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.message({ seq: 2, messageId: "m2", metadata: { target_endpoint_id: ep } });
    const [c1, c2] = pair.calls("inbound_route_claim");
    pair.answer(c2!, ROUTE);
    pair.answer(c1!, { ok: false, terminal: false, status: 503 });
    expect(pair.messagePushes().map((p) => p.sourceMessageId)).toEqual(["m2"]);
  });

  it("does not hold back hand-offs to a different endpoint", () => {
    const { pair, ep } = world();
    const other = pair.register(200, 2).endpointId;
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.message({ seq: 2, messageId: "m2", metadata: { target_endpoint_id: other } });
    const [, c2] = pair.calls("inbound_route_claim");
    pair.answer(c2!, ROUTE);
    expect(pair.messagePushes(2).map((p) => p.sourceMessageId)).toEqual(["m2"]);
  });
});

describe("shutdown", () => {
  it("unregisters remaining endpoints, closes channels and the connector, then reports stopped", () => {
    const { pair, ep } = world();
    const pending = pair.request("GET", "/v1/undispatched", undefined, "100");
    const out = pair.input({ kind: "shutdown" });
    expect(
      out
        .filter((o) => o.kind === "api_call" && o.op === "unregister")
        .map((o) => (o as { args: unknown }).args),
    ).toEqual([{ endpoint_id: ep }]);
    expect(out).toContainEqual(
      expect.objectContaining({
        kind: "ipc_close_channel",
        channel: 1,
        code: 1001,
        reason: "broker_shutdown",
      }),
    );
    expect(out.some((o) => o.kind === "connector_close")).toBe(true);
    expect(out.at(-1)).toMatchObject({ kind: "stopped" });
    expect(pair.response(pending)?.status).toBe(503);
    expect(pair.core.nextDeadline()).toBeUndefined();
    const late = pair.request("GET", "/health");
    expect(pair.response(late)?.status).toBe(503);
    expect(pair.core.internalErrors).toBe(0);
  });
});

describe("a plugin that dies while its buffer is being drained", () => {
  it("closes the endpoint (plugin_exit) instead of leaving it reconnecting", () => {
    const pair = new BrokerPair();
    pair.connect();
    const ep = pair.register(100, 1).endpointId;
    pair.closeChannel(1, true);
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", ROUTE);
    pair.answerOne("inbound_routed", OK);
    pair.openChannel(2, 100);
    const id = pair.request("POST", `/v1/endpoint/${ep}/reattach`, { plugin_pid: 100 });
    pair.closeChannel(2, false);
    expect(pair.response(id)).toMatchObject({
      status: 503,
      body: { error: "reconnecting_buffer_drain_failed" },
    });
    expect(pair.core.registry.get(ep)).toBeUndefined();
    expect(transitions(pair, ep).at(-1)).toBe("closed/plugin_exit");
    expect(pair.core.lifecycle.graceArmed(ep)).toBe(false);
  });

  it("never projects active after closed when it dies while the drain waits for a buffer append", () => {
    const pair = new BrokerPair();
    pair.connect();
    const ep = pair.register(100, 1).endpointId;
    pair.closeChannel(1, true);
    // The append of m1 stays in flight, so the reattach drain waits for it to settle.
    pair.autoStorage = false;
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", ROUTE);
    expect(pair.core.buffers.inflight(ep)).toBe(1);
    pair.openChannel(2, 100);
    const id = pair.request("POST", `/v1/endpoint/${ep}/reattach`, { plugin_pid: 100 });
    expect(pair.response(id)).toBeUndefined();
    pair.closeChannel(2, false);
    expect(pair.response(id)).toMatchObject({
      status: 503,
      body: { error: "reconnecting_buffer_drain_failed" },
    });
    expect(pair.core.registry.get(ep)).toBeUndefined();
    expect(transitions(pair, ep).slice(-2)).toEqual(["reconnecting/ipc_close", "closed/plugin_exit"]);
    // The closed endpoint's file is deleted once, by the surfacer's path, not by the dead drain.
    expect(pair.logCount("endpoint_reattached")).toBe(0);
  });
});
