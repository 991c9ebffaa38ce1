/**
 * The checkers for E4, I2, I3, L7 and L8 and the timers' upper bounds (E2, L4, T1), each with a hand-made history that violates its
 * invariant and the legal twin that differs in the one fact that makes it legal.
 */

import { describe, expect, it } from "vitest";
import { L4 } from "../../sim/checkers/liveness/l4-grace-closure.ts";
import { L7 } from "../../sim/checkers/liveness/l7-presence-convergence.ts";
import { L8, SHUTDOWN_WATCHDOG_MS } from "../../sim/checkers/liveness/l8-shutdown-completes.ts";
import { E2 } from "../../sim/checkers/safety/e2-grace-timer.ts";
import { E4 } from "../../sim/checkers/safety/e4-transition-order.ts";
import { I2 } from "../../sim/checkers/safety/i2-ownership.ts";
import { I3 } from "../../sim/checkers/safety/i3-push-receipts.ts";
import { T1 } from "../../sim/checkers/safety/t1-send-ack-wait.ts";
import { SIM_EPOCH_MS } from "../../sim/kernel/clock.ts";
import { check, History } from "./support/history.ts";

const iso = (t: number) => new Date(SIM_EPOCH_MS + t).toISOString();
const transition = (state: string, t: number) => ({ endpoint_id: "ep-1", state, reason: "r", ts: iso(t) });

describe("E4 transition projection order", () => {
  it("passes when an endpoint's transitions are posted and applied in the order they occurred", () => {
    const h = new History().open().at(10).call("transition_state", transition("reconnecting", 10));
    const a = h.lastId;
    h.end().at(20).result(a).end().call("transition_state", transition("active", 20));
    const b = h.lastId;
    h.end().result(b).end();
    expect(check(E4, h)).toBeUndefined();
  });

  it("passes when a transition is retried after a transient failure", () => {
    const h = new History().open().at(10).call("transition_state", transition("reconnecting", 10));
    const a = h.lastId;
    h.end().result(a, { ok: false, terminal: false }).end();
    h.at(510).call("transition_state", transition("reconnecting", 10));
    const b = h.lastId;
    h.end().result(b).end();
    expect(check(E4, h)).toBeUndefined();
  });

  it("reports an older transition posted after a newer one", () => {
    const h = new History().open().at(20).call("transition_state", transition("active", 20)).end();
    h.call("transition_state", transition("reconnecting", 10)).end();
    expect(check(E4, h)?.message).toMatch(/posted after the later transition active/);
  });

  it("reports the platform applying an older transition after a newer one", () => {
    const h = new History().open().at(10).call("transition_state", transition("reconnecting", 10));
    const a = h.lastId;
    h.end().at(20).call("transition_state", transition("active", 20));
    const b = h.lastId;
    h.end().result(b).end().result(a).end();
    expect(check(E4, h)?.message).toMatch(
      /applied transition reconnecting.* after the later transition active/,
    );
  });
});

describe("I2 ownership", () => {
  const reply = (pid: number, token: string) => ({
    endpoint_id: "ep-1",
    plugin_pid: pid,
    endpoint_owner_token: token,
    assignment_id: "as-1",
    reply_request_id: "rr-1",
    content: "hi",
  });

  it("passes when a request with the wrong owner token is refused without effect", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(50, "POST", "/v1/runtime/assignment-reply", reply(10, "forged"));
    h.respond(50, 403, { error: "endpoint_owner_token_mismatch" }).end();
    expect(check(I2, h)).toBeUndefined();
  });

  it("reports a request with the wrong pid that reaches the platform", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(50, "POST", "/v1/runtime/assignment-reply", reply(11, "tok-ep-1"));
    h.call("processing_state", { assignment_id: "as-1", state: "reply_requested" }).end();
    expect(check(I2, h)?.message).toMatch(
      /plugin_pid 11 \(owner pid 10\) had an effect: api_call processing_state/,
    );
  });

  it("reports a request with the wrong owner token that is answered 200", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.request(50, "POST", "/v1/runtime/processing-state", {
      ...reply(10, "forged"),
      state: "adapter_accepted",
    }).end();
    h.respond(50, 200, {}).end();
    expect(check(I2, h)?.message).toMatch(/wrong endpoint_owner_token was answered 200/);
  });

  it("reports a claim listing for someone else's endpoint that asks the platform", () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open();
    h.in({
      kind: "ipc_request",
      id: 60,
      method: "GET",
      path: "/v1/undispatched?endpoint_id=ep-1",
      pidHeader: "11",
      body: undefined,
    });
    h.call("list_claim_candidates", { endpoint_id: "ep-1", endpoint_nonce: "n", limit: 32 }).end();
    expect(check(I2, h)?.message).toMatch(/pid 11 \(owner pid 10\) had an effect/);
  });
});

describe("I3 push receipts", () => {
  const pushed = () => {
    const h = new History().channel(1, 10).channel(2, 20).registered("ep-1", 10).open();
    return h.at(100).push(1, { sourceMessageId: "m1" }, "p1").end();
  };

  it("passes when the push's own socket acks it in time and the broker goes on", () => {
    const h = pushed().at(200).pushAck(1, "p1");
    h.call("inbound_routed", { source_message_id: "m1", routed_to_endpoint_id: "ep-1" }).end();
    expect(check(I3, h)).toBeUndefined();
  });

  it("passes when a receipt from another socket is ignored", () => {
    const h = pushed().at(200).pushAck(2, "p1").end();
    expect(check(I3, h)).toBeUndefined();
  });

  it("reports a receipt from another socket that the broker acts on", () => {
    const h = pushed().at(200).pushAck(2, "p1");
    h.call("inbound_routed", { source_message_id: "m1", routed_to_endpoint_id: "ep-1" }).end();
    expect(check(I3, h)?.message).toMatch(
      /sent on channel 1\) arrived on channel 2, yet the broker acted on it/,
    );
  });

  it("reports a receipt on a displaced socket that the broker acts on", () => {
    const h = pushed().channel(3, 10).at(200).pushAck(1, "p1");
    h.call("inbound_routed", { source_message_id: "m1", routed_to_endpoint_id: "ep-1" }).end();
    expect(check(I3, h)?.message).toMatch(/after its channel 1 closed or was displaced/);
  });

  it("reports a receipt after the receipt deadline ran that the broker still counts (timer upper bound)", () => {
    const h = pushed().at(2_100).advance().end().at(2_200).pushAck(1, "p1");
    h.call("inbound_routed", { source_message_id: "m1", routed_to_endpoint_id: "ep-1" }).end();
    expect(check(I3, h)?.message).toMatch(/after its receipt deadline/);
  });

  it("passes when a receipt after the deadline ran is ignored", () => {
    const h = pushed().at(2_100).advance().end().at(2_200).pushAck(1, "p1").end();
    expect(check(I3, h)).toBeUndefined();
  });
});

describe("L7 presence convergence", () => {
  const presence = (state: string, t: number) => ({
    type: "network_presence_changed",
    version: 1,
    state,
    ts: SIM_EPOCH_MS + t,
  });
  const registerAck = (h: History) =>
    h.frame({ event: "REGISTER_ACK", status: "ok", protocolVersion: 4, deliverySeq: 0 });

  function healed(graceMs = 60_000): History {
    const h = new History({ presenceGraceMs: graceMs });
    h.events.push({ k: "truth", t: 0, fact: { f: "liveness_begin", budgetMs: 1_000_000 } });
    return h.open();
  }
  const end = (h: History, t: number) => {
    h.at(t).events.push({ k: "truth", t, fact: { f: "liveness_end", head: 0 } });
    return h.quiescent({});
  };

  it("passes when presence follows the connector: online, reconnecting, offline after the grace", () => {
    const h = healed().at(5);
    registerAck(h).call("presence_changed", presence("online", 5)).end();
    h.at(100)
      .in({ kind: "connector_closed", code: 1006, reason: "" })
      .call("presence_changed", presence("reconnecting", 100))
      .end();
    h.at(60_100).advance().call("presence_changed", presence("offline", 60_100)).end();
    expect(check(L7, end(h, 200_000))).toBeUndefined();
  });

  it("reports a connect without an online change", () => {
    const h = healed().at(5);
    registerAck(h).end();
    expect(check(L7, end(h, 10_000))?.message).toMatch(/connected at t=5 without an online change/);
  });

  it("reports online while the connector is disconnected", () => {
    const h = healed().at(5);
    registerAck(h).call("presence_changed", presence("online", 5)).end();
    h.at(100).in({ kind: "connector_closed", code: 1006, reason: "" }).end();
    h.at(200).advance().call("presence_changed", presence("online", 200)).end();
    expect(check(L7, end(h, 10_000))?.message).toMatch(/online at t=200 while disconnected/);
  });

  it("passes when the connector closes in the same instant as the REGISTER_ACK that brought it online", () => {
    const h = healed().at(5);
    registerAck(h).call("presence_changed", presence("online", 5)).end();
    h.in({ kind: "connector_closed", code: 1001, reason: "Going away" })
      .call("presence_changed", presence("reconnecting", 5))
      .end();
    h.at(7).in({ kind: "connector_open" }).end();
    registerAck(h.at(8)).call("presence_changed", presence("online", 8)).end();
    expect(check(L7, end(h, 10_000))).toBeUndefined();
  });

  it("reports online announced after a close in the same instant as the REGISTER_ACK", () => {
    const h = healed().at(5);
    registerAck(h).call("presence_changed", presence("online", 5)).end();
    h.in({ kind: "connector_closed", code: 1001, reason: "Going away" }).end();
    h.advance().call("presence_changed", presence("online", 5)).end();
    expect(check(L7, end(h, 10_000))?.message).toMatch(/online at t=5 while disconnected/);
  });

  it("passes an online change in the connecting step when the socket closes in a later step of the same millisecond", () => {
    const h = healed().at(27_230);
    registerAck(h).call("presence_changed", presence("online", 27_230)).end();
    h.in({ kind: "connector_closed", code: 1001, reason: "Going away" })
      .call("presence_changed", presence("reconnecting", 27_230))
      .end();
    expect(check(L7, end(h, 30_000))).toBeUndefined();
  });

  it("still reports an online change a step after a same-millisecond close, once past the step tolerance", () => {
    const h = healed().at(27_230);
    registerAck(h).call("presence_changed", presence("online", 27_230)).end();
    h.in({ kind: "connector_closed", code: 1001, reason: "Going away" }).end();
    h.at(27_240).advance().call("presence_changed", presence("online", 27_240)).end();
    expect(check(L7, end(h, 30_000))?.message).toMatch(/online at t=27240 while disconnected/);
  });

  it("reports offline coming later than presenceGraceMs plus its tolerance", () => {
    const h = healed().at(5);
    registerAck(h).call("presence_changed", presence("online", 5)).end();
    h.at(100)
      .in({ kind: "connector_closed", code: 1006, reason: "" })
      .call("presence_changed", presence("reconnecting", 100))
      .end();
    h.at(90_000).advance().call("presence_changed", presence("offline", 90_000)).end();
    expect(check(L7, end(h, 200_000))?.message).toMatch(/without going offline by t=61100/);
  });

  it("reports offline coming before presenceGraceMs of disconnection", () => {
    const h = healed().at(5);
    registerAck(h).call("presence_changed", presence("online", 5)).end();
    h.at(100).in({ kind: "connector_closed", code: 1006, reason: "" }).end();
    h.at(30_000).advance().call("presence_changed", presence("offline", 30_000)).end();
    expect(check(L7, end(h, 200_000))?.message).toMatch(/offline at t=30000, 29900 ms after the disconnect/);
  });
});

describe("L8 shutdown completes", () => {
  it("passes when stopped follows shutdown before the watchdog", () => {
    const h = new History().open().at(10).in({ kind: "shutdown" }).out({ kind: "stopped" }).end();
    expect(check(L8, h)).toBeUndefined();
  });

  it("reports a shutdown still unfinished when the watchdog's deadline passes", () => {
    const h = new History().open().at(10).in({ kind: "shutdown" }).end();
    h.at(10 + SHUTDOWN_WATCHDOG_MS)
      .advance()
      .end();
    expect(check(L8, h)?.message).toMatch(/had not completed 5000 ms later/);
  });
});

describe("timer upper bounds", () => {
  const healedAt = (h: History, t: number) => {
    h.at(t).events.push({ k: "truth", t, fact: { f: "liveness_begin", budgetMs: 1_000_000 } });
    return h;
  };
  const reconnecting = (graceMs = 10_000) => {
    const h = new History({ graceMs }).channel(1, 10).registered("ep-1", 10).open();
    return h.at(100).in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
  };

  it("E2 reports an endpoint still reconnecting when a deadline run passes graceMs plus the tolerance", () => {
    const h = reconnecting().at(11_200).advance().end();
    expect(check(E2, h)?.message).toMatch(/still reconnecting at t=11200, 11100 ms after/);
  });

  it("E2 passes when the grace close comes at graceMs, and ignores late ordinary steps after a clock jump", () => {
    const onTime = reconnecting().at(10_100).advance();
    onTime.call("unregister", { endpoint_id: "ep-1" }).end().at(20_000).advance().end();
    expect(check(E2, onTime)).toBeUndefined();
    // Events queued before a clock jump run before the overdue deadlines: not a timer verdict.
    const jumped = reconnecting().at(50_000).in({ kind: "connector_open" }).end();
    expect(check(E2, jumped)).toBeUndefined();
  });

  it("L4 reports, at the deadline, an endpoint still reconnecting in the liveness phase", () => {
    const h = healedAt(reconnecting(), 200).at(11_200).advance().end();
    expect(check(L4, h)?.message).toMatch(/ep-1 \(since t=100, due t=10100\)/);
  });

  it("L4 passes an endpoint reattached before its deadline", () => {
    const h = healedAt(reconnecting(), 200).channel(2, 10);
    h.at(5_000)
      .request(77, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 })
      .respond(77, 200, {})
      .end();
    h.at(11_200).advance().end();
    expect(check(L4, h)).toBeUndefined();
  });

  const sent = (h: History) => {
    h.request(40, "POST", "/v1/send", { to: "agent://x", content: "c" });
    return h
      .send({ event: "SEND_MESSAGE", messageId: "w-1", to: "agent://x", content: "c", contentType: "text" })
      .end();
  };
  const unknownBody = {
    error: "connector_send_outcome_unknown",
    message: "SEND_ACK timeout",
    outcome_unknown: true,
  };

  it("T1 passes a send settled outcome-unknown at the SEND_ACK timeout", () => {
    const h = sent(new History({ sendAckTimeoutMs: 5_000 }).open().at(100));
    h.at(5_100).advance().respond(40, 503, unknownBody).end().at(9_000).advance().end();
    expect(check(T1, h)).toBeUndefined();
  });

  it("T1 reports a send still waiting after the SEND_ACK timeout plus the tolerance", () => {
    const h = sent(new History({ sendAckTimeoutMs: 5_000 }).open().at(100));
    h.at(6_200).advance().end();
    expect(check(T1, h)?.message).toMatch(/SEND_MESSAGE w-1 written at t=100 got no SEND_ACK, yet at t=6200/);
  });

  it("T1 reports a send given up before the SEND_ACK timeout with the socket open", () => {
    const h = sent(new History({ sendAckTimeoutMs: 5_000 }).open().at(100));
    h.at(2_000).advance().respond(40, 503, unknownBody).end();
    expect(check(T1, h)?.message).toMatch(
      /1900 ms after SEND_MESSAGE w-1 was written, before the SEND_ACK timeout/,
    );
  });

  it("T1 passes a send acked in time and one settled early by a socket close", () => {
    const acked = sent(new History({ sendAckTimeoutMs: 5_000 }).open().at(100));
    acked.at(300).frame({ event: "SEND_ACK", messageId: "w-1", status: "sent" }).respond(40, 200, {}).end();
    acked.at(9_000).advance().end();
    expect(check(T1, acked)).toBeUndefined();
    const closed = sent(new History({ sendAckTimeoutMs: 5_000 }).open().at(100));
    closed
      .at(300)
      .in({ kind: "connector_closed", code: 1006, reason: "" })
      .respond(40, 503, unknownBody)
      .end();
    expect(check(T1, closed)).toBeUndefined();
  });
});
