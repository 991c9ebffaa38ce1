/**
 * Legal histories that checkers once reported as violations (swarm triage), each next to a history
 * that differs in the one fact that makes it legal and is still reported.
 */

import { describe, expect, it } from "vitest";
import { UNDISPATCHED_ROW_SETTLED } from "../../src/broker/api.ts";
import { A10 } from "../../sim/checkers/safety/a10-no-silent-inbox-loss.ts";
import { E1 } from "../../sim/checkers/safety/e1-state-machine.ts";
import { E2 } from "../../sim/checkers/safety/e2-grace-timer.ts";
import { R1 } from "../../sim/checkers/safety/r1-destination-exclusivity.ts";
import { R4 } from "../../sim/checkers/safety/r4-continuation-routing.ts";
import { S1 } from "../../sim/checkers/safety/s1-ack-soundness.ts";
import { S5 } from "../../sim/checkers/safety/s5-duplicate-suppression.ts";
import { S7 } from "../../sim/checkers/safety/s7-release-before-redelivery.ts";
import { check, History } from "./support/history.ts";

const withEndpoint = () => new History().channel(1, 10).registered("ep-1", 10).open();
const claim = (m: string) => ({ source_message_id: m, routed_to_endpoint_id: "ep-1" });
const TRANSIENT = { ok: false, terminal: false };

function appendToBuffer(h: History, storageId: number, m: string): History {
  h.in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
  h.out({
    kind: "storage",
    id: storageId,
    op: {
      op: "append_buffer",
      endpointId: "ep-1",
      record: {
        id: m,
        arrived_at: "",
        envelope: { from: "a", content: "c", contentType: "text", sourceMessageId: m },
      },
    },
  });
  return h.end().in({ kind: "storage_result", id: storageId, ok: true }).end();
}

function skipped(h: History, m: string): History {
  h.call("inbound_route_claim", claim(m));
  const id = h.lastId;
  return h.end().result(id, { ok: true, action: "skip" }).end();
}

/**
 * m1 is claimed, buffered while ep-1 is reconnecting, and its routed post fails: the task ends
 * unaccepted (id released, event queued). The endpoint reattaches and the drain pushes m1.
 */
function bufferedThenDrained(): History {
  const h = withEndpoint().at(0).message(1, "m1").call("inbound_route_claim", claim("m1"));
  const c = h.lastId;
  h.end().result(c, { ok: true, action: "route" }).end();
  h.in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
  h.out({
    kind: "storage",
    id: 5,
    op: {
      op: "append_buffer",
      endpointId: "ep-1",
      record: {
        id: "m1",
        arrived_at: "",
        envelope: { from: "a", content: "c", contentType: "text", sourceMessageId: "m1" },
      },
    },
  });
  h.end().in({ kind: "storage_result", id: 5, ok: true });
  h.call("inbound_routed", { ...claim("m1"), route_kind: "reconnecting_endpoint" });
  const routed = h.lastId;
  h.end().result(routed, TRANSIENT).end();
  h.channel(2, 10).request(900, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
  return h.push(2, { sourceMessageId: "m1" }, "p-drain").end();
}

describe("R1 destination exclusivity: legal histories", () => {
  it("ignores a push receipt that arrives after the receipt timeout (§3.4)", () => {
    const h = withEndpoint().message(1, "m1").end();
    h.at(0).push(1, { sourceMessageId: "m1" }, "p1").end();
    // The kernel's `advance` at the receipt deadline settles the push as not received.
    h.at(2_000).advance().end();
    skipped(h.at(2_500), "m1");
    h.at(3_000).pushAck(1, "p1").end();
    expect(check(R1, h)).toBeUndefined();
  });

  it("still fires when a receipt within the timeout follows a skip", () => {
    const h = withEndpoint().message(1, "m1").end();
    h.at(0).push(1, { sourceMessageId: "m1" }, "p1").end();
    skipped(h.at(500), "m1");
    h.at(1_000).pushAck(1, "p1").end();
    expect(check(R1, h)?.message).toMatch(/went to skip and then to plugin 10/);
  });

  it("lets a buffered message that was never drained end in the inbox (surfaced buffer)", () => {
    const h = appendToBuffer(withEndpoint().message(1, "m1").end(), 5, "m1");
    h.advance().call("transition_state", {
      endpoint_id: "ep-1",
      state: "closed",
      reason: "grace_timeout",
      ts: "",
    });
    h.end().inboxed("m1");
    expect(check(R1, h)).toBeUndefined();
  });

  it("still fires when the buffered message was drained to the plugin and then also went to the inbox", () => {
    const h = appendToBuffer(withEndpoint().message(1, "m1").end(), 5, "m1");
    h.channel(2, 10).push(2, { sourceMessageId: "m1" }, "p2").end().pushAck(2, "p2").end();
    h.inboxed("m1");
    expect(check(R1, h)?.message).toMatch(/went to plugin 10 and then to the inbox/);
  });
});

describe("R1 destination exclusivity: an append that lands after its endpoint's removal (grace swarm seed 98)", () => {
  /** m1 claimed for reconnecting ep-1, its append out; ep-1 removed before or after it lands. */
  function appendAcrossRemoval(landsAfterRemoval: boolean): History {
    const h = withEndpoint().channel(2, 20).registered("ep-2", 20);
    h.message(1, "m1").call("inbound_route_claim", claim("m1"));
    const c = h.lastId;
    h.end().result(c, { ok: true, action: "route" }).end();
    h.in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
    const record = {
      id: "m1",
      arrived_at: "",
      envelope: { from: "a", content: "c", contentType: "text", sourceMessageId: "m1" },
    };
    h.out({ kind: "storage", id: 5, op: { op: "append_buffer", endpointId: "ep-1", record } }).end();
    const lands = () => h.in({ kind: "storage_result", id: 5, ok: true }).end();
    if (!landsAfterRemoval) lands();
    h.advance().call("transition_state", {
      endpoint_id: "ep-1",
      state: "closed",
      reason: "grace_timeout",
      ts: "",
    });
    h.call("unregister", { endpoint_id: "ep-1" }).end();
    if (landsAfterRemoval) lands();
    h.message(1, "m1").call("inbound_route_claim", {
      source_message_id: "m1",
      routed_to_endpoint_id: "ep-2",
    });
    const c2 = h.lastId;
    h.end().result(c2, { ok: true, action: "route" }).push(2, { sourceMessageId: "m1" }, "p2").end();
    return h.pushAck(2, "p2").end();
  }

  it("passes: the late append is no hand-off, and the redelivery goes to another plugin", () => {
    expect(check(R1, appendAcrossRemoval(true))).toBeUndefined();
  });

  it("still fires when the append landed while the endpoint was there", () => {
    expect(check(R1, appendAcrossRemoval(false))?.message).toMatch(/went to plugin 10 and then to plugin 20/);
  });
});

describe("R1 destination exclusivity: a skip after a destination", () => {
  it("passes when the platform answers skip for a message already in the inbox", () => {
    const h = withEndpoint().message(1, "m1").end().inboxed("m1");
    skipped(h.message(1, "m1"), "m1");
    expect(check(R1, h)).toBeUndefined();
  });

  it("still fires when a skipped message is then added to the inbox", () => {
    const h = skipped(withEndpoint().message(1, "m1"), "m1");
    h.message(1, "m1").end().inboxed("m1");
    expect(check(R1, h)?.message).toMatch(/went to skip and then to the inbox/);
  });
});

/** A start-up step that surfaces an earlier process's buffer record `m` (an add no task owns). */
function surfacedAtStart(h: History, m: string): { h: History; add: number } {
  h.in({ kind: "start" }).call("undispatched_changed", {
    type: "undispatched_changed",
    version: 1,
    action: "add",
    undispatched_id: m,
    source_message_id: m,
    reason: "closed_session_continuation",
  });
  const add = h.lastId;
  return { h: h.end(), add };
}

const SETTLED = { ok: false, terminal: true, status: 422, code: UNDISPATCHED_ROW_SETTLED };

describe("R1 destination exclusivity: a surfaced record after a skip (soak seed 9)", () => {
  it("passes when a redelivery is skipped and then the surfaced record of the old process lands in the inbox", () => {
    const { h, add } = surfacedAtStart(withEndpoint(), "m1");
    skipped(h.message(1, "m1"), "m1");
    h.result(add, { ok: true }).end();
    expect(check(R1, h)).toBeUndefined();
  });

  it("still fires when the skipped message's own task adds it to the inbox", () => {
    const { h } = surfacedAtStart(withEndpoint(), "m2");
    skipped(h.message(1, "m1"), "m1");
    h.message(1, "m1").end().inboxed("m1");
    expect(check(R1, h)?.message).toMatch(/went to skip and then to the inbox/);
  });
});

describe("S5 duplicate suppression: a surfaced record answered settled (soak seed 9)", () => {
  it("lets a redelivery of the message start pipeline work: the connector never saw it in this process", () => {
    const { h, add } = surfacedAtStart(withEndpoint(), "m1");
    h.result(add, SETTLED).end();
    h.message(1, "m1").call("undispatched_changed", {
      type: "undispatched_changed",
      version: 1,
      action: "add",
      undispatched_id: "m1",
      source_message_id: "m1",
    });
    expect(check(S5, h.end())).toBeUndefined();
  });

  it("still fires when the message's own task was answered settled before the duplicate", () => {
    const h = withEndpoint().message(1, "m1").call("undispatched_changed", {
      type: "undispatched_changed",
      version: 1,
      action: "add",
      undispatched_id: "m1",
      source_message_id: "m1",
    });
    const add = h.lastId;
    h.end().result(add, SETTLED).end();
    h.message(1, "m1").call("inbound_route_claim", claim("m1")).end();
    expect(check(S5, h)?.message).toMatch(/already accepted/);
  });
});

describe("S5 duplicate suppression: legal histories", () => {
  it("counts a push as settled at its receipt deadline: a replay at that instant is a new task", () => {
    const h = withEndpoint().at(0).message(1, "m1").end();
    h.push(1, { sourceMessageId: "m1" }, "p1").end();
    h.at(2_000).advance().end();
    h.message(1, "m1").call("inbound_route_claim", claim("m1")).end();
    expect(check(S5, h)).toBeUndefined();
  });

  it("still fires on a replay one millisecond before the receipt deadline", () => {
    const h = withEndpoint().at(0).message(1, "m1").end();
    h.push(1, { sourceMessageId: "m1" }, "p1").end();
    h.at(1_999).message(1, "m1").call("inbound_route_claim", claim("m1")).end();
    expect(check(S5, h)?.message).toMatch(/still running/);
  });

  /** Each of `ids` (seq 1, 2, …) claimed, pushed, receipted and its direct routed post sent; their ids. */
  function pushedWithDirectPosts(h: History, ids: string[]): Record<string, number> {
    const direct: Record<string, number> = {};
    ids.forEach((m, i) => {
      h.message(i + 1, m).call("inbound_route_claim", claim(m));
      const c = h.lastId;
      h.end().result(c, { ok: true, action: "route" }).push(1, { sourceMessageId: m }, `p-${m}`).end();
      h.pushAck(1, `p-${m}`).call("inbound_routed", claim(m));
      direct[m] = h.lastId;
      h.end();
    });
    return direct;
  }

  /** m1 and m2 pushed; both direct routed posts fail; the retry queue posts m1, then m2. */
  function queuedRoutedPosts(): { h: History; queuedM2: number } {
    const h = withEndpoint();
    const direct = pushedWithDirectPosts(h, ["m1", "m2"]);
    // m1's direct post fails: the idle queue posts m1 right away, in the same step.
    h.result(direct.m1!, TRANSIENT).call("inbound_routed", claim("m1"));
    const queuedM1 = h.lastId;
    h.end().result(direct.m2!, TRANSIENT).end();
    // The queue's post of m1 succeeds and the queue moves on to m2 in that same step.
    h.result(queuedM1, { ok: true }).call("inbound_routed", claim("m2"));
    const queuedM2 = h.lastId;
    h.end();
    return { h, queuedM2 };
  }

  it("treats a queue post promoted by an eviction in another message's failure step as the queue's (soak swarm seed 105)", () => {
    const h = withEndpoint();
    const direct = pushedWithDirectPosts(h, ["m1", "m2", "m3"]);
    // m1's direct post fails and the idle queue posts m1; that post fails too (backoff).
    h.result(direct.m1!, TRANSIENT).call("inbound_routed", claim("m1"));
    const q1 = h.lastId;
    h.end().result(q1, TRANSIENT).end();
    h.result(direct.m2!, TRANSIENT).end();
    // m3's failure overflows the queue: m1 is evicted and the queue posts m2 in m3's step.
    h.result(direct.m3!, TRANSIENT).call("inbound_routed", claim("m2"));
    const q2 = h.lastId;
    h.end().result(q2, { ok: true }).end();
    h.message(2, "m2").call("inbound_route_claim", claim("m2")).end();
    expect(check(S5, h)).toBeUndefined();
  });

  it("treats the retry queue's next post after an answer as a deferred ack, not the task's own", () => {
    const { h, queuedM2 } = queuedRoutedPosts();
    h.result(queuedM2, { ok: true }).end();
    // m2's task ended unaccepted and released its id; the deferred ack does not make it pending.
    h.message(2, "m2").call("inbound_route_claim", claim("m2")).end();
    expect(check(S5, h)).toBeUndefined();
  });

  it("lets a replay during the buffer drain re-post the cached routed event (§1.8 step 1)", () => {
    // Seen as grace seed 16: the unacked drain push is the reattach's, not the ended task's.
    const h = bufferedThenDrained();
    h.at(500)
      .message(1, "m1")
      .call("inbound_routed", { ...claim("m1"), route_kind: "reconnecting_endpoint" })
      .end();
    expect(check(S5, h)).toBeUndefined();
  });

  it("still fires when the unacked push is the replayed task's own hand-off", () => {
    const h = withEndpoint().at(0).message(1, "m1").call("inbound_route_claim", claim("m1"));
    const c = h.lastId;
    h.end().result(c, { ok: true, action: "route" }).push(1, { sourceMessageId: "m1" }, "p1").end();
    h.at(500).message(1, "m1").call("inbound_routed", claim("m1")).end();
    expect(check(S5, h)?.message).toMatch(/still running/);
  });

  it("still fires when the task itself accepted the message before the duplicate", () => {
    const h = withEndpoint().message(2, "m2").end().inboxed("m2");
    h.message(2, "m2").call("inbound_route_claim", claim("m2")).end();
    expect(check(S5, h)?.message).toMatch(/already accepted/);
  });
});

describe("S7 release before redelivery: legal histories", () => {
  /** m2 waits at ep-1's hand-off gate; ep-1 is then closed by grace. */
  function gatedAtClosedEndpoint(lowerClaimStillOut: boolean): History {
    const h = withEndpoint().message(1, "m1").call("inbound_route_claim", claim("m1"));
    const c1 = h.lastId;
    h.end();
    if (!lowerClaimStillOut) h.result(c1, TRANSIENT).end();
    h.message(2, "m2").call("inbound_route_claim", claim("m2"));
    const c2 = h.lastId;
    h.end().result(c2, { ok: true, action: "route" }).end();
    h.advance().call("transition_state", {
      endpoint_id: "ep-1",
      state: "closed",
      reason: "grace_timeout",
      ts: "",
    });
    return h.end();
  }

  it("does not judge a replay whose task still waits at the gate behind a lower seq's claim", () => {
    const h = gatedAtClosedEndpoint(true).message(2, "m2").end();
    expect(check(S7, h)).toBeUndefined();
  });

  it("still fires when nothing lower holds the gated task of a closed endpoint", () => {
    const h = gatedAtClosedEndpoint(false).message(2, "m2").end();
    expect(check(S7, h)?.message).toMatch(/replay of seq 2/);
  });

  it("does not judge a silent replay whose target endpoint is gone (no inbox slot to reserve)", () => {
    const h = withEndpoint().message(1, "m1", { target_endpoint_id: "ep-1" });
    h.call("inbound_route_claim", claim("m1"));
    const c = h.lastId;
    h.end().advance();
    h.call("transition_state", { endpoint_id: "ep-1", state: "closed", reason: "plugin_exit", ts: "" });
    h.end().result(c, TRANSIENT).end();
    h.message(1, "m1", { target_endpoint_id: "ep-1" }).end();
    expect(check(S7, h)).toBeUndefined();
  });

  /** m1's claim for ep-1 fails, ep-1 closes, then m2 takes an inbox row; m1 is replayed. */
  function rerouteToInbox(inboxCapacity: number, lookupOut = false): History {
    const h = new History({ inboxCapacity }).channel(1, 10).registered("ep-1", 10).open();
    // A message for an unknown endpoint whose closed-endpoint lookup is still out holds a slot.
    if (lookupOut)
      h.message(3, "m3", { target_endpoint_id: "ep-9" })
        .call("closed_endpoint_lookup", { endpoint_id: "ep-9" })
        .end();
    h.message(1, "m1").call("inbound_route_claim", claim("m1"));
    const c = h.lastId;
    h.end().result(c, TRANSIENT).end();
    h.advance().call("transition_state", {
      endpoint_id: "ep-1",
      state: "closed",
      reason: "plugin_exit",
      ts: "",
    });
    h.end().message(2, "m2");
    h.call("undispatched_changed", { action: "add", undispatched_id: "m2", source_message_id: "m2" });
    return h.end().message(1, "m1").end();
  }

  it("does not judge a silent replay rerouted from a closed endpoint to a possibly full inbox", () => {
    expect(check(S7, rerouteToInbox(1))).toBeUndefined();
  });

  it("still fires for a silent replay rerouted from a closed endpoint while the inbox has room", () => {
    expect(check(S7, rerouteToInbox(2))?.message).toMatch(/replay of seq 1/);
  });

  it("counts a pending closed-endpoint lookup's slot reservation as taken (soak swarm seed 102)", () => {
    expect(check(S7, rerouteToInbox(2, true))).toBeUndefined();
  });

  /** m1 is pushed with a receipt; the clock then jumps past the receipt deadline. */
  function replayAfterClockJump(deadlineRan: boolean): History {
    const h = withEndpoint().message(1, "m1").push(1, { sourceMessageId: "m1" }, "p1").end();
    h.at(20_000);
    if (deadlineRan) h.advance().end();
    return h.message(1, "m1").end();
  }

  it("does not judge a replay handled after a clock jump but before the overdue receipt deadline ran", () => {
    // Events queued before a forward jump are handled before the next `advance`: the broker still
    // waits for the receipt, the task is running and its payload id pending.
    expect(check(S7, replayAfterClockJump(false))).toBeUndefined();
  });

  it("still fires when the overdue receipt deadline ran before the replay", () => {
    expect(check(S7, replayAfterClockJump(true))?.message).toMatch(/replay of seq 1/);
  });

  it("does not judge a silent replay of an inbox-bound message (the inbox may be full now)", () => {
    const h = new History().open().message(1, "m1");
    h.call("undispatched_changed", { action: "add", undispatched_id: "m1", source_message_id: "m1" });
    const add = h.lastId;
    h.end().result(add, TRANSIENT).end();
    h.message(1, "m1").end();
    expect(check(S7, h)).toBeUndefined();
  });
});

describe("E1 state machine: legal histories", () => {
  const transition = (h: History, state: string, reason: string, ts: string) =>
    h.call("transition_state", { endpoint_id: "ep-1", state, reason, ts }).end();

  it("accepts a deferred projection whose predecessor the bounded queue dropped", () => {
    const h = transition(new History().at(5_000), "reconnecting", "ipc_close", "2025-01-01T00:00:01.000Z");
    expect(check(E1, h)).toBeUndefined();
  });

  it("accepts a deferred grace-timeout close after a dropped reconnecting projection", () => {
    const h = transition(new History(), "active", "register", "2025-01-01T00:00:00.000Z");
    transition(h.at(9_000), "closed", "grace_timeout", "2025-01-01T00:00:08.000Z");
    expect(check(E1, h)).toBeUndefined();
  });

  it("still fires on the same gap when the projection was posted as it happened", () => {
    const h = transition(new History().at(5_000), "reconnecting", "ipc_close", "2025-01-01T00:00:05.000Z");
    expect(check(E1, h)?.message).toMatch(/none → reconnecting/);
  });

  it("still fires on anything after closed, deferred or not", () => {
    const h = transition(new History(), "active", "register", "2025-01-01T00:00:00.000Z");
    transition(h, "closed", "explicit_unregister", "2025-01-01T00:00:00.000Z");
    transition(h.at(9_000), "active", "register", "2025-01-01T00:00:01.000Z");
    expect(check(E1, h)).toBeDefined();
  });
});

describe("E2 grace timer: legal histories", () => {
  /** ep-1 reconnecting from t=1 000 (grace 5 000); a reattach at t=7 000 is refused (404). */
  function refusedReattachThenLateClose(closeTs: string): History {
    const h = new History({ graceMs: 5_000 }).channel(1, 10).registered("ep-1", 10).open();
    h.at(1_000).in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
    h.at(7_000).channel(2, 10).request(77, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
    h.respond(77, 404, { error: "endpoint_unknown" }).end();
    // The close projection waited in the transition queue and is posted long after it happened.
    h.at(9_000).advance();
    h.call("transition_state", {
      endpoint_id: "ep-1",
      state: "closed",
      reason: "grace_timeout",
      ts: closeTs,
    });
    return h.end();
  }

  it("measures grace from the reconnect, not from a refused reattach, and uses the projection's ts", () => {
    expect(check(E2, refusedReattachThenLateClose("2025-01-01T00:00:06.000Z"))).toBeUndefined();
  });

  it("still fires when the late-posted close happened before grace ran out", () => {
    const h = refusedReattachThenLateClose("2025-01-01T00:00:04.000Z");
    expect(check(E2, h)?.message).toMatch(/3001 ms after it became reconnecting/);
  });

  /** ep-1 reconnecting from t=1 000.5 (grace 5 000), closed at `closeT` with a millisecond `ts`. */
  function fractionalClose(closeT: number): History {
    const h = new History({ graceMs: 5_000 }).channel(1, 10).registered("ep-1", 10).open();
    h.at(1_000.5).in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
    const ts = new Date(Date.parse("2025-01-01T00:00:00.000Z") + Math.floor(closeT)).toISOString();
    h.at(closeT)
      .advance()
      .call("transition_state", { endpoint_id: "ep-1", state: "closed", reason: "grace_timeout", ts });
    return h.end();
  }

  it("reads a millisecond ts as the millisecond it names, not its start (grace swarm seed 79)", () => {
    expect(check(E2, fractionalClose(6_000.5))).toBeUndefined();
  });

  it("still fires for a close half a millisecond early", () => {
    expect(check(E2, fractionalClose(6_000))?.message).toMatch(/4999.5 ms after it became reconnecting/);
  });
});

describe("R4 continuation routing: legal histories", () => {
  /** ep-1 sent with correlation c1; m1 (a continuation of c1) arrives and its frame is handled. */
  function continuationArrives(): History {
    const h = withEndpoint().request(1, "POST", "/v1/send", { endpoint_id: "ep-1" });
    h.send({
      event: "SEND_MESSAGE",
      messageId: "w1",
      to: "x",
      content: "c",
      contentType: "text",
      metadata: { source_endpoint_id: "ep-1", correlation_id: "c1" },
    });
    return h.end().message(1, "m1", { correlation_id: "c1" });
  }
  const surfacedAdd = {
    action: "add",
    undispatched_id: "m1",
    source_message_id: "m1",
    reason: "closed_session_continuation",
  };

  it("does not judge a later add of the same id that no routing decision of the frame wrote", () => {
    // The frame was a duplicate (nothing written); much later ep-1's buffer is surfaced.
    const h = continuationArrives().end().advance().call("undispatched_changed", surfacedAdd).end();
    expect(check(R4, h)).toBeUndefined();
  });

  it("still fires when the frame's own step adds the continuation with the wrong reason", () => {
    const h = continuationArrives().call("undispatched_changed", surfacedAdd).end();
    expect(check(R4, h)?.message).toMatch(/went to the inbox \(reason closed_session_continuation\)/);
  });
});

describe("S1 ack soundness: legal histories", () => {
  /** m1 went to the inbox (its add post failed) but was dispatched: an assignment now holds it. */
  function assignedAfterFailedAdd(): History {
    const h = new History().open().message(1, "m1");
    h.call("undispatched_changed", { action: "add", undispatched_id: "m1", source_message_id: "m1" });
    const add = h.lastId;
    h.end().in({ kind: "control_event", event: { type: "dispatch_undispatched", undispatched_id: "m1" } });
    h.call("processing_state", { state: "assigned_to_runtime_target", undispatched_id: "m1" }).end();
    return h.result(add, TRANSIENT).end();
  }

  it("lets a replay of a message bound to a live assignment be acked without a post (A11)", () => {
    const h = assignedAfterFailedAdd().message(1, "m1").ack(1).end();
    expect(check(S1, h)).toBeUndefined();
  });

  it("still fires when the replayed message was never assigned", () => {
    const h = new History().open().message(1, "m1");
    h.call("undispatched_changed", { action: "add", undispatched_id: "m1", source_message_id: "m1" });
    const add = h.lastId;
    h.end().result(add, TRANSIENT).end().message(1, "m1").ack(1).end();
    expect(check(S1, h)?.message).toMatch(/seq 1/);
  });
});

describe("S1 ack soundness: a binding while the task waits (crash-restart swarm seed 8)", () => {
  /** m1's task waits on a closed-endpoint lookup; meanwhile a dispatch may bind m1 to an assignment. */
  function waitingTask(assigned: boolean): History {
    const h = new History().open().message(1, "m1", { target_endpoint_id: "ep-9" });
    h.call("closed_endpoint_lookup", { endpoint_id: "ep-9" });
    const lookup = h.lastId;
    h.end();
    if (assigned) {
      h.in({ kind: "control_event", event: { type: "dispatch_undispatched", undispatched_id: "m1" } });
      h.call("processing_state", { state: "assigned_to_runtime_target", undispatched_id: "m1" }).end();
    }
    // The lookup answers; the task finds m1 bound to a live assignment and counts it accepted.
    return h.result(lookup, { ok: true, retired: true }).ack(1).end();
  }

  it("lets the task's ack through when the binding came after the frame", () => {
    expect(check(S1, waitingTask(true))).toBeUndefined();
  });

  it("still fires when nothing bound the message", () => {
    expect(check(S1, waitingTask(false))?.message).toMatch(/seq 1/);
  });
});

describe("S5 duplicate suppression: removals and drains (grace swarm seed 8)", () => {
  /** m1 claimed for ep-1 and held at its gate; ep-1 is then removed (unregister, or not). */
  function gatedThenRemoved(unregistered: boolean): History {
    const h = withEndpoint().message(1, "m1").call("inbound_route_claim", claim("m1"));
    const c = h.lastId;
    h.end().result(c, { ok: true, action: "route" }).end();
    h.advance();
    // The `closed` projection waits behind an earlier one (E4); the unregister goes out at once.
    if (unregistered) h.call("unregister", { endpoint_id: "ep-1" });
    return h.end();
  }

  it("does not count a task gated at a removed (unregistered) endpoint as running", () => {
    const h = gatedThenRemoved(true).message(1, "m1").call("inbound_route_claim", claim("m1")).end();
    expect(check(S5, h)).toBeUndefined();
  });

  it("still fires while the endpoint is there", () => {
    const h = gatedThenRemoved(false).message(1, "m1").call("inbound_route_claim", claim("m1")).end();
    expect(check(S5, h)?.message).toMatch(/still running/);
  });

  /** m1 buffered and drained on reattach; the drain push's receipt step projects `active`. */
  function drainReceipt(): History {
    const h = bufferedThenDrained();
    return h.pushAck(2, "p-drain").call("transition_state", { endpoint_id: "ep-1", state: "active" }).end();
  }

  it("does not charge the reattach's posts in a drain receipt step to the message's task", () => {
    const h = drainReceipt().message(1, "m1").call("inbound_routed", claim("m1")).end();
    expect(check(S5, h)).toBeUndefined();
  });

  it("still fires when a task's own push receipt step left a post unanswered", () => {
    const h = withEndpoint().message(1, "m1").call("inbound_route_claim", claim("m1"));
    const c = h.lastId;
    h.end().result(c, { ok: true, action: "route" }).push(1, { sourceMessageId: "m1" }, "p1").end();
    h.pushAck(1, "p1").call("inbound_routed", claim("m1")).end();
    h.message(1, "m1").call("inbound_route_claim", claim("m1")).end();
    expect(check(S5, h)?.message).toMatch(/still running/);
  });
});

describe("A10 no silent inbox loss: legal histories", () => {
  const assignedState = (state: string, seq: number) => ({
    assignment_id: "asg-1",
    source_message_id: "m1",
    undispatched_id: "m1",
    state,
    state_sequence: seq,
    state_event_id: `asg-1:${state}:${seq}`,
  });
  /** Row m1 added, dispatched to an assignment that the adapter accepted. */
  const acceptedAssignment = (): History => {
    const h = new History().inboxed("m1");
    h.call("processing_state", assignedState("assigned_to_runtime_target", 1));
    h.end().result(h.lastId).end();
    h.call("processing_state", assignedState("adapter_accepted", 2));
    return h.end().result(h.lastId).end();
  };
  const emptySnapshot = (stopped: boolean) => ({
    inbox: { size: 0, capacity: 256, ids: [] },
    assignments: [],
    stopped,
  });

  it("forgives an accepted assignment's row that the shutdown flush forgot (§5.10)", () => {
    const h = acceptedAssignment();
    h.in({ kind: "connector_closed", code: 4001, reason: "Replaced by new Runtime" }).out({
      kind: "stopped",
    });
    h.end().quiescent(emptySnapshot(true));
    expect(check(A10, h)).toBeUndefined();
  });

  it("still fires when the assignment vanished while the broker kept running", () => {
    expect(check(A10, acceptedAssignment().quiescent(emptySnapshot(false)))?.message).toMatch(
      /inbox row m1 is gone/,
    );
  });

  it("still fires after shutdown for a row the stopped broker never assigned", () => {
    const h = new History().inboxed("m1");
    h.in({ kind: "connector_closed", code: 4001, reason: "Replaced by new Runtime" }).out({
      kind: "stopped",
    });
    h.end().quiescent(emptySnapshot(true));
    expect(check(A10, h)?.message).toMatch(/inbox row m1 is gone/);
  });
});
