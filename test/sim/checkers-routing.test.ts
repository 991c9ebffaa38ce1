import { describe, expect, it } from "vitest";
import { E1 } from "../../sim/checkers/safety/e1-state-machine.ts";
import { E2 } from "../../sim/checkers/safety/e2-grace-timer.ts";
import { E3 } from "../../sim/checkers/safety/e3-after-removal.ts";
import { R1 } from "../../sim/checkers/safety/r1-destination-exclusivity.ts";
import { R2 } from "../../sim/checkers/safety/r2-claim-before-push.ts";
import { R3 } from "../../sim/checkers/safety/r3-state-appropriate-delivery.ts";
import { R4 } from "../../sim/checkers/safety/r4-continuation-routing.ts";
import { R5 } from "../../sim/checkers/safety/r5-per-endpoint-order.ts";
import { check, History } from "./support/history.ts";

const withEndpoint = () => new History().channel(1, 10).registered("ep-1", 10).open();

describe("R1 destination exclusivity", () => {
  it("fires when one message goes to the inbox and to a plugin", () => {
    const h = withEndpoint().message(1, "m1").end().inboxed("m1");
    h.push(1, { sourceMessageId: "m1" }, "p1").end().pushAck(1, "p1");
    expect(check(R1, h)?.message).toMatch(/went to the inbox and then to plugin 10/);
  });

  it("passes when a buffered message is later pushed to the same plugin", () => {
    const h = withEndpoint().message(1, "m1").end();
    h.in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
    h.out({
      kind: "storage",
      id: 5,
      op: {
        op: "append_buffer",
        endpointId: "ep-1",
        record: {
          id: "r",
          arrived_at: "",
          envelope: { from: "a", content: "c", contentType: "text", sourceMessageId: "m1" },
        },
      },
    });
    h.end().in({ kind: "storage_result", id: 5, ok: true }).end();
    h.channel(2, 10).push(2, { sourceMessageId: "m1" }, "p2").end().pushAck(2, "p2");
    expect(check(R1, h)).toBeUndefined();
  });
});

describe("R2 claim before push", () => {
  it("fires when a message is pushed without a route claim", () => {
    const h = withEndpoint().message(1, "m1").push(1, { sourceMessageId: "m1" }, "p1");
    expect(check(R2, h)?.message).toMatch(/without a route claim/);
  });

  it("fires when the routed post precedes the hand-off", () => {
    const h = withEndpoint().message(1, "m1").call("inbound_routed", { source_message_id: "m1" });
    expect(check(R2, h)?.message).toMatch(/before the message was pushed/);
  });

  it("passes on claim, push, routed", () => {
    const h = withEndpoint().message(1, "m1").call("inbound_route_claim", { source_message_id: "m1" });
    const id = h.lastId;
    h.end().result(id, { ok: true, action: "route" }).push(1, { sourceMessageId: "m1" }, "p1").end();
    h.pushAck(1, "p1").call("inbound_routed", { source_message_id: "m1" });
    expect(check(R2, h)).toBeUndefined();
  });
});

describe("R3 state-appropriate delivery", () => {
  it("fires on a push to a channel without an active endpoint", () => {
    const h = new History().channel(1, 10).open().push(1, { sourceMessageId: "m1" }, "p1");
    expect(check(R3, h)?.message).toMatch(/no active endpoint/);
  });

  it("fires on a buffer append for an active endpoint", () => {
    const h = withEndpoint().out({
      kind: "storage",
      id: 1,
      op: {
        op: "append_buffer",
        endpointId: "ep-1",
        record: { id: "r", arrived_at: "", envelope: { from: "a", content: "c", contentType: "text" } },
      },
    });
    expect(check(R3, h)?.message).toMatch(/active, not reconnecting/);
  });

  it("passes on a push to an active endpoint and an append for a reconnecting one", () => {
    const h = withEndpoint().push(1, { sourceMessageId: "m1" }, "p1").end();
    h.in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true });
    h.out({
      kind: "storage",
      id: 1,
      op: {
        op: "append_buffer",
        endpointId: "ep-1",
        record: { id: "r", arrived_at: "", envelope: { from: "a", content: "c", contentType: "text" } },
      },
    });
    expect(check(R3, h)).toBeUndefined();
  });
});

describe("R3 after two reattaches of one endpoint in one instant", () => {
  const twoReattaches = (secondStatus: number, secondError: string) => {
    const h = withEndpoint().end();
    h.in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
    h.channel(2, 10);
    h.request(50, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 }).end();
    h.request(51, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
    h.respond(51, secondStatus, { error: secondError }).end();
    return h.push(2, { sourceMessageId: "m1" }, "p1");
  };

  it("passes a drain push when the second request was refused because the first reattached the endpoint", () => {
    expect(check(R3, twoReattaches(409, "endpoint_not_reconnecting"))).toBeUndefined();
  });

  it("still fires when the only reattach was refused", () => {
    const h = withEndpoint().end();
    h.in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
    h.channel(2, 10);
    h.request(50, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
    h.respond(50, 403, { error: "reattach_pid_mismatch" }).end();
    h.push(2, { sourceMessageId: "m1" }, "p1");
    expect(check(R3, h)?.message).toMatch(/no active endpoint/);
  });
});

describe("R4 continuation routing", () => {
  const withRing = () => {
    const h = new History()
      .channel(1, 10)
      .registered("ep-1", 10, { headless: true })
      .registered("ep-2", 10, { headless: true })
      .open();
    h.request(1, "POST", "/v1/send", { endpoint_id: "ep-1" });
    h.send({
      event: "SEND_MESSAGE",
      messageId: "w1",
      to: "x",
      content: "c",
      contentType: "text",
      metadata: { source_endpoint_id: "ep-1", correlation_id: "c1" },
    });
    return h.end().message(1, "m1", { correlation_id: "c1" });
  };

  it("fires when a continuation is claimed for another endpoint", () => {
    const h = withRing().call("inbound_route_claim", {
      source_message_id: "m1",
      routed_to_endpoint_id: "ep-2",
    });
    expect(check(R4, h)?.message).toMatch(/belongs to ep-1/);
  });

  it("passes when the continuation goes to the ring's owner", () => {
    const h = withRing().call("inbound_route_claim", {
      source_message_id: "m1",
      routed_to_endpoint_id: "ep-1",
    });
    expect(check(R4, h)).toBeUndefined();
  });
});

describe("R5 per-endpoint order", () => {
  it("fires when a later seq overtakes an earlier one in flight", () => {
    const h = withEndpoint().message(1, "m1").end().message(2, "m2").end();
    h.push(1, { sourceMessageId: "m2", metadata: { target_endpoint_id: "ep-1" } }, "p2").end();
    h.push(1, { sourceMessageId: "m1", metadata: { target_endpoint_id: "ep-1" } }, "p1").end();
    expect(check(R5, h)?.message).toMatch(/seq 1 \(m1\) was handed to ep-1 after seq 2/);
  });

  it("passes when hand-offs follow seq order", () => {
    const h = withEndpoint().message(1, "m1").end().message(2, "m2").end();
    h.push(1, { sourceMessageId: "m1" }, "p1").end().push(1, { sourceMessageId: "m2" }, "p2").end();
    expect(check(R5, h)).toBeUndefined();
  });

  it("passes when the earlier seq arrives only after the later one was handed off", () => {
    const h = withEndpoint().message(2, "m2").end().push(1, { sourceMessageId: "m2" }, "p2").end();
    h.message(1, "m1").end().push(1, { sourceMessageId: "m1" }, "p1").end();
    expect(check(R5, h)).toBeUndefined();
  });
});

describe("E1 state machine", () => {
  const transition = (h: History, state: string, reason: string) =>
    h.call("transition_state", { endpoint_id: "ep-1", state, reason, ts: "" });

  it("fires on a transition the table does not allow", () => {
    expect(
      check(
        E1,
        transition(transition(new History().online().at(10), "active", "register"), "active", "reattach"),
      ),
    ).toBeDefined();
  });

  it("fires on a wrong reason", () => {
    expect(
      check(
        E1,
        transition(
          transition(new History().online().at(10), "active", "register"),
          "closed",
          "grace_timeout",
        ),
      ),
    ).toBeDefined();
  });

  it("passes on register, close, reattach, grace timeout", () => {
    let h = transition(new History(), "active", "register");
    h = transition(
      transition(transition(h, "reconnecting", "ipc_close"), "active", "reattach"),
      "reconnecting",
      "ipc_close",
    );
    expect(check(E1, transition(h, "closed", "grace_timeout"))).toBeUndefined();
  });
});

describe("E2 grace timer", () => {
  const reconnecting = () =>
    withEndpoint().at(100).in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
  const graceClose = (h: History) =>
    h
      .advance()
      .call("transition_state", { endpoint_id: "ep-1", state: "closed", reason: "grace_timeout", ts: "" });

  it("fires when grace expires early", () => {
    expect(check(E2, graceClose(reconnecting().at(200)))?.message).toMatch(/100 ms after/);
  });

  it("fires when an active endpoint is closed by grace timeout", () => {
    expect(check(E2, graceClose(withEndpoint().at(700_000)))?.message).toMatch(/while it was active/);
  });

  it("passes when grace expires on time", () => {
    expect(check(E2, graceClose(reconnecting().at(600_100)))).toBeUndefined();
  });
});

describe("E3 after removal", () => {
  it("fires on a heartbeat for a removed endpoint", () => {
    const h = withEndpoint()
      .request(7, "DELETE", "/v1/endpoint/ep-1")
      .call("unregister", { endpoint_id: "ep-1" })
      .end();
    h.advance().call("heartbeat", { endpoint_id: "ep-1" });
    expect(check(E3, h)?.message).toMatch(/heartbeat/);
  });

  it("fires when a removed endpoint is not unregistered", () => {
    const h = withEndpoint().request(7, "DELETE", "/v1/endpoint/ep-1").respond(7, 200, { ok: true }).end();
    expect(check(E3, h)?.message).toMatch(/unregister was not called/);
  });

  it("passes on a clean removal", () => {
    const h = withEndpoint()
      .request(7, "DELETE", "/v1/endpoint/ep-1")
      .call("unregister", { endpoint_id: "ep-1" })
      .end();
    expect(check(E3, h.advance().call("heartbeat", { endpoint_id: "ep-2" }).end())).toBeUndefined();
  });
});
