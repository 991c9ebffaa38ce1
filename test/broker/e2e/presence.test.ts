import { describe, expect, it } from "vitest";
import { BrokerPair, OK } from "../../support/broker-pair.ts";

const ROUTE = { ok: true, action: "route" } as const;

describe("network presence", () => {
  it("goes online on REGISTER_ACK, reconnecting on disconnect and offline after the presence grace", () => {
    const pair = new BrokerPair({ options: { presenceGraceMs: 5_000 } });
    pair.openChannel(1, 100);
    pair.connect();
    expect(pair.core.presence.state).toBe("online");
    pair.input({ kind: "connector_closed", code: 1006, reason: "" });
    expect(pair.core.presence.state).toBe("reconnecting");
    pair.advance(4_999);
    expect(pair.core.presence.state).toBe("reconnecting");
    pair.advance(1);
    expect(pair.core.presence.state).toBe("offline");
    const posted = pair.allCalls("presence_changed").map((c) => `${c.args.state}/${c.args.reason}`);
    expect(posted).toEqual([
      "online/connector_connected",
      "reconnecting/connector_disconnected",
      "offline/grace_timeout",
    ]);
    const pushed = pair.pushes(1).map((p) => p.frame);
    expect(pushed).toEqual([
      { event: "presence_changed", presence: "online", reason: "connector_connected" },
      { event: "presence_changed", presence: "reconnecting", reason: "connector_disconnected" },
      { event: "presence_changed", presence: "offline", reason: "grace_timeout" },
    ]);
  });

  it("says connector_reconnected and cancels the grace when the connector comes back in time", () => {
    const pair = new BrokerPair();
    pair.connect();
    pair.input({ kind: "connector_closed", code: 1006, reason: "" });
    pair.advance(60_000);
    pair.input({ kind: "connector_open" });
    pair.frame({ event: "REGISTER_ACK", status: "ok", protocolVersion: 4 });
    expect(pair.core.presence.state).toBe("online");
    expect(pair.core.env.isArmed({ kind: "presence_grace" })).toBe(false);
    expect(pair.allCalls("presence_changed").at(-1)?.args.reason).toBe("connector_reconnected");
  });

  it("defers endpoint transitions while not online and flushes them in order on reconnect", () => {
    const pair = new BrokerPair();
    pair.connect();
    const ep = pair.register(100, 1).endpointId;
    pair.input({ kind: "connector_closed", code: 1006, reason: "" });
    pair.closeChannel(1, true);
    pair.request("DELETE", `/v1/endpoint/${ep}`);
    const before = pair.allCalls("transition_state").length;
    expect(pair.core.snapshot().queues.transitions).toBe(2);
    pair.advance(60_000);
    pair.input({ kind: "connector_open" });
    pair.frame({ event: "REGISTER_ACK", status: "ok", protocolVersion: 4 });
    const flushed = pair
      .allCalls("transition_state")
      .slice(before)
      .map((c) => `${c.args.state}/${c.args.reason}`);
    expect(flushed).toEqual(["reconnecting/ipc_close", "closed/explicit_unregister"]);
  });

  it("shuts down when the connector is replaced by a new runtime", () => {
    const pair = new BrokerPair();
    pair.connect();
    const out = pair.input({ kind: "connector_closed", code: 4001, reason: "Replaced by new Runtime" });
    expect(out.at(-1)).toMatchObject({ kind: "stopped" });
    expect(pair.logCount("broker_superseded_self_terminating")).toBe(1);
  });
});

describe("E3: nothing reaches a removed endpoint", () => {
  it("does not push a message whose claim answered after the endpoint was removed", () => {
    const pair = new BrokerPair();
    pair.connect();
    const ep = pair.register(100, 1).endpointId;
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.request("DELETE", `/v1/endpoint/${ep}`);
    pair.answerOne("inbound_route_claim", ROUTE);
    expect(pair.messagePushes()).toHaveLength(0);
    expect(pair.ackedUpTo()).toBe(0);
    expect(pair.core.connector.pendingCount).toBe(0);
  });

  it("does not append to the buffer of an endpoint that closed meanwhile", () => {
    const pair = new BrokerPair({ options: { graceMs: 1_000 } });
    pair.connect();
    const ep = pair.register(100, 1).endpointId;
    pair.closeChannel(1, true);
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.advance(1_000);
    pair.answerOne("inbound_route_claim", ROUTE);
    expect(pair.log.filter((o) => o.kind === "storage" && o.op.op === "append_buffer")).toHaveLength(0);
  });
});

describe("reattach while an append is still being written", () => {
  it("waits for the append and drains the record instead of deleting it unseen", () => {
    const pair = new BrokerPair({ autoStorage: false });
    pair.connect();
    const ep = pair.register(100, 1).endpointId;
    pair.closeChannel(1, true);
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", ROUTE);
    const [append] = pair.storageOps();
    expect(append?.op.op).toBe("append_buffer");
    pair.openChannel(2, 100);
    const id = pair.request("POST", `/v1/endpoint/${ep}/reattach`, { plugin_pid: 100 });
    expect(pair.messagePushes(2)).toHaveLength(0);
    pair.answerStorage(append!, true);
    const [push] = pair.messagePushes(2);
    expect(push?.sourceMessageId).toBe("m1");
    pair.pushAck(push!.push_id!, 2);
    expect(pair.response(id)).toEqual({
      status: 200,
      body: { restored: true, reconnecting_buffer_count: 1 },
    });
    pair.answerOne("inbound_routed", OK);
    expect(pair.ackedUpTo()).toBe(1);
  });
});
