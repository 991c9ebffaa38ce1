/**
 * L9 end-to-end delivery across crashes, on hand-made histories: an acked inbox message that dies
 * with its broker process is reported (also when the platform gave up dispatching it); every
 * documented way to hand off or settle a message, and every live holder, keeps it quiet.
 */

import { describe, expect, it } from "vitest";
import { UNDISPATCHED_ROW_SETTLED } from "../../src/broker/api.ts";
import type { BrokerSnapshot } from "../../src/broker/snapshot.ts";
import { L9 } from "../../sim/checkers/liveness/l9-end-to-end-delivery.ts";
import { check, History } from "./support/history.ts";

function snapshot(extra: Partial<BrokerSnapshot> = {}): Partial<BrokerSnapshot> {
  return { endpoints: [], inbox: { size: 0, capacity: 256, ids: [] }, assignments: [], ...extra };
}

function converge(h: History, snap = snapshot()): History {
  h.at(h.t + 1);
  h.events.push({ k: "truth", t: h.t, fact: { f: "liveness_begin", budgetMs: 600_000 } });
  h.at(h.t + 600_000);
  h.events.push({ k: "truth", t: h.t, fact: { f: "liveness_end", head: 1 } });
  return h.quiescent(snap);
}

/** m1 arrives as seq 1, goes to the inbox (add answered ok) and is acked; then the broker crashes. */
function inboxedThenCrash(): History {
  const h = new History().open().message(1, "m1").end().inboxed("m1").ack(1).end();
  h.at(10);
  h.events.push({ k: "crash", t: h.t, incarnation: 1 });
  return h.start({}, 1, 2).open();
}

const dispatch = (key: string) =>
  ({
    kind: "control_event",
    event: {
      type: "dispatch_undispatched",
      version: 1,
      idempotency_key: key,
      undispatched_id: "m1",
      source_message_id: "m1",
    },
  }) as const;

describe("L9 end-to-end delivery across crashes", () => {
  it("fires when an acked inbox row died with the broker and the restarted one does not hold it", () => {
    const h = inboxedThenCrash();
    for (const key of ["asg-1", "asg-2"]) {
      h.in(dispatch(key)).out({
        kind: "control_ack",
        idempotency_key: key,
        status: "failed",
        detail: "unknown undispatched_id: m1",
      });
      h.end();
    }
    expect(check(L9, converge(h))?.message).toMatch(
      /1 acked message never handed to a plugin.*m1 \(seq 1; 2 dispatches failed "unknown undispatched_id"\)/,
    );
  });

  it("fires also when nothing ever dispatched the lost row (a platform that gave up stays reported)", () => {
    expect(check(L9, converge(inboxedThenCrash()))?.message).toMatch(/m1 \(seq 1\)/);
  });

  it("passes when the restarted broker restored the row into its inbox", () => {
    const h = inboxedThenCrash();
    expect(
      check(L9, converge(h, snapshot({ inbox: { size: 1, capacity: 256, ids: ["m1"] } }))),
    ).toBeUndefined();
  });

  it("passes when the row was dispatched and its push acknowledged by the plugin", () => {
    const h = inboxedThenCrash().channel(7, 70);
    h.push(7, { sourceMessageId: "m1", runtimeAssignment: { assignmentId: "asg-1" } }, "p1")
      .end()
      .pushAck(7, "p1")
      .end();
    expect(check(L9, converge(h))).toBeUndefined();
  });

  it("passes when the push receipt was lost but the adapter reported accepting the assignment", () => {
    const h = inboxedThenCrash().channel(7, 70);
    h.push(7, { sourceMessageId: "m1", runtimeAssignment: { assignmentId: "asg-1" } }, "p1").end();
    h.call("processing_state", {
      assignment_id: "asg-1",
      source_message_id: "m1",
      undispatched_id: "m1",
      state: "adapter_accepted",
      state_sequence: 2,
    }).end();
    expect(check(L9, converge(h))).toBeUndefined();
  });

  it("still fires when the push was never acknowledged", () => {
    const h = inboxedThenCrash().channel(7, 70);
    h.push(7, { sourceMessageId: "m1", runtimeAssignment: { assignmentId: "asg-1" } }, "p1").end();
    expect(check(L9, converge(h))?.message).toMatch(/m1/);
  });

  it("passes when the platform settled the message: claim skip, settled row, or acknowledged remove", () => {
    const skip = new History().open().message(1, "m1").end();
    skip.call("inbound_route_claim", { source_message_id: "m1", routed_to_endpoint_id: "ep-1" });
    skip.end().result(skip.lastId, { ok: true, action: "skip" }).ack(1).end();
    expect(check(L9, converge(skip))).toBeUndefined();

    const settled = new History().open().message(1, "m1").end();
    settled.call("undispatched_changed", { action: "add", undispatched_id: "m1", source_message_id: "m1" });
    settled
      .end()
      .result(settled.lastId, { ok: false, terminal: true, status: 422, code: UNDISPATCHED_ROW_SETTLED })
      .ack(1)
      .end();
    expect(check(L9, converge(settled))).toBeUndefined();

    const removed = inboxedThenCrash();
    removed.call("undispatched_changed", {
      action: "remove",
      undispatched_id: "m1",
      source_message_id: "m1",
    });
    removed.end().result(removed.lastId).end();
    expect(check(L9, converge(removed))).toBeUndefined();
  });

  it("passes while a live assignment or a reconnecting endpoint's buffer holds the message", () => {
    const assigned = snapshot({
      assignments: [
        {
          key: "m1|asg-1",
          assignmentId: "asg-1",
          undispatchedId: "m1",
          targetEndpointId: "ep-1",
          accepted: false,
          lastStateSequence: 1,
        },
      ],
    });
    expect(check(L9, converge(inboxedThenCrash(), assigned))).toBeUndefined();

    const h = inboxedThenCrash();
    const record = {
      id: "m1",
      arrived_at: "",
      envelope: { from: "a", content: "c", contentType: "t", sourceMessageId: "m1" },
    };
    h.out({ kind: "storage", id: 5, op: { op: "append_buffer", endpointId: "ep-1", record } })
      .end()
      .in({ kind: "storage_result", id: 5, ok: true })
      .end();
    const reconnecting = snapshot({
      endpoints: [{ endpointId: "ep-1", state: "reconnecting", pid: 1, channel: 1, bufferCount: 1 }],
    });
    expect(check(L9, converge(h, reconnecting))).toBeUndefined();
    expect(check(L9, converge(h.start({}, 1, 3), reconnecting))?.message).toMatch(/m1/);
  });

  it("ignores messages never acked and seqs the server skipped", () => {
    const h = new History().open().message(1, "m1").end().message(2, "m2").end();
    h.frame({ event: "DELIVERY_SKIP", seq: 1 }).end().inboxed("m2").ack(1).end();
    expect(check(L9, converge(h))).toBeUndefined();
  });

  it("counts a message whose adapter reported a final processing_failed as handed off", () => {
    const h = inboxedThenCrash();
    h.in(dispatch("asg-1")).call("processing_state", {
      state: "processing_failed",
      assignment_id: "asg-1",
      source_message_id: "m1",
      retryable: false,
    });
    expect(check(L9, converge(h.end()))).toBeUndefined();
  });

  it("does not count a retryable processing_failed: the message must come back to the broker", () => {
    const h = inboxedThenCrash();
    h.in(dispatch("asg-1")).call("processing_state", {
      state: "processing_failed",
      assignment_id: "asg-1",
      source_message_id: "m1",
      retryable: true,
    });
    expect(check(L9, converge(h.end()))?.message).toMatch(/1 acked message never handed to a plugin/);
  });
});
