/**
 * Legal histories that the delivery checkers (S1, S5, S7) once reported as violations (swarm triage),
 * each next to a history that differs in the one fact that makes it legal and is still reported.
 */

import { describe, expect, it } from "vitest";
import { S1 } from "../../sim/checkers/safety/s1-ack-soundness.ts";
import { S5 } from "../../sim/checkers/safety/s5-duplicate-suppression.ts";
import { S7 } from "../../sim/checkers/safety/s7-release-before-redelivery.ts";
import { check, History, queueCause, viewAfter } from "./support/history.ts";
import {
  withEndpoint,
  claim,
  TRANSIENT,
  bufferedThenDrained,
  surfacedAtStart,
  SETTLED,
} from "./support/legal-history-steps.ts";

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
    h.result(direct.m1!, TRANSIENT)
      .by(queueCause(["m1"]))
      .call("inbound_routed", claim("m1"));
    const queuedM1 = h.lastId;
    h.end().result(direct.m2!, TRANSIENT).end();
    // The queue's post of m1 succeeds and the queue moves on to m2 in that same step.
    h.result(queuedM1, { ok: true })
      .by(queueCause(["m2"]))
      .call("inbound_routed", claim("m2"));
    const queuedM2 = h.lastId;
    h.end();
    return { h, queuedM2 };
  }

  /** m1..m3 pushed, direct posts fail; m3's failure evicts m1 and the queue posts m2 in m3's step. */
  function evictionPromotesNextHead(causes: boolean): History {
    const h = withEndpoint(causes);
    const direct = pushedWithDirectPosts(h, ["m1", "m2", "m3"]);
    // m1's direct post fails and the idle queue posts m1; that post fails too (backoff).
    h.result(direct.m1!, TRANSIENT)
      .by(queueCause(["m1"]))
      .call("inbound_routed", claim("m1"));
    const q1 = h.lastId;
    h.end().result(q1, TRANSIENT).end();
    h.result(direct.m2!, TRANSIENT).end();
    // m3's failure overflows the queue: m1 is evicted and the queue posts m2 in m3's step.
    h.result(direct.m3!, TRANSIENT)
      .by(queueCause(["m2"]))
      .call("inbound_routed", claim("m2"));
    const q2 = h.lastId;
    h.end().result(q2, { ok: true }).end();
    return h.message(2, "m2").call("inbound_route_claim", claim("m2")).end();
  }

  it("treats a queue post promoted by an eviction in another message's failure step as the queue's (soak swarm seed 105)", () => {
    expect(check(S5, evictionPromotesNextHead(true))).toBeUndefined();
  });

  it("cannot tell that post from the task's own without causes, so S5 needs the causes capability", () => {
    // From the wire alone the post names m2 in an input step: it reads as m2's task accepting m2,
    // which would hold m2's id seen and make its legal replay a duplicate.
    expect(viewAfter(evictionPromotesNextHead(false)).syncAcceptedIds.has("m2")).toBe(true);
    expect(viewAfter(evictionPromotesNextHead(true)).syncAcceptedIds.has("m2")).toBe(false);
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

  /** m1's first output is its inbox journal write; the row is gone when the write lands. */
  function lostWhilePersisting(firstOutputIsJournalWrite: boolean): History {
    const h = new History().open().message(1, "m1");
    const row = {
      id: "m1",
      source_message_id: "m1",
      arrived_at: "",
      sender_address: "agent://peer",
      content: "c",
      content_type: "text",
      metadata: {},
      reason: "unaddressed" as const,
    };
    if (firstOutputIsJournalWrite) h.out({ kind: "storage", id: 900, op: { op: "inbox_put", row } });
    else h.out({ kind: "storage", id: 900, op: { op: "write_cursor", lastKnownSeq: 0 } });
    h.end().in({ kind: "storage_result", id: 900, ok: true }).end();
    return h.message(1, "m1").end();
  }

  it("does not judge a silent replay of a message whose first output was its inbox journal write", () => {
    expect(check(S7, lostWhilePersisting(true))).toBeUndefined();
  });

  it("still fires for a silent replay of a message whose first work was not the inbox", () => {
    expect(check(S7, lostWhilePersisting(false))?.message).toMatch(/replay of seq 1/);
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
