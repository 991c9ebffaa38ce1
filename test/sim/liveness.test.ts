/**
 * The liveness checkers (L1–L6) on hand-made histories: each one fires on a history that did not
 * converge and stays quiet on one that did.
 */

import { describe, expect, it } from "vitest";
import { UNDISPATCHED_ROW_SETTLED } from "../../src/broker/api.ts";
import type { BrokerSnapshot } from "../../src/broker/snapshot.ts";
import { L1 } from "../../sim/checkers/liveness/l1-ack-progress.ts";
import { GAP_REQUESTS_PER_GAP_MAX, L2 } from "../../sim/checkers/liveness/l2-bounded-gap-requests.ts";
import { L3 } from "../../sim/checkers/liveness/l3-assignment-resolution.ts";
import { L4 } from "../../sim/checkers/liveness/l4-grace-closure.ts";
import { L5, L5_LENIENT } from "../../sim/checkers/liveness/l5-no-stranded-buffer.ts";
import { L6 } from "../../sim/checkers/liveness/l6-reply-emitted.ts";
import { LIVENESS_CHECKERS } from "../../sim/checkers/liveness/index.ts";
import { check, History } from "./support/history.ts";

function snapshot(extra: Partial<BrokerSnapshot> = {}): Partial<BrokerSnapshot> {
  return {
    connector: {
      socketOpen: true,
      registered: true,
      committedSeq: 0,
      acceptedGaps: [],
      pendingPayloadIds: 0,
      seenPayloadIds: 0,
    },
    endpoints: [],
    inbox: { size: 0, capacity: 256, ids: [] },
    assignments: [],
    ...extra,
  };
}

/** Close a history with a liveness phase: heal at `healT`, end at `endT` with platform head `head`. */
function converge(h: History, head: number, endT: number, snap = snapshot(), healT = h.t): History {
  h.at(healT);
  h.events.push({ k: "truth", t: healT, fact: { f: "liveness_begin", budgetMs: endT - healT } });
  h.at(endT);
  h.events.push({ k: "truth", t: endT, fact: { f: "liveness_end", head } });
  return h.quiescent(snap);
}

describe("liveness checkers", () => {
  it("each has an id, a one-sentence statement and the liveness kind", () => {
    expect(LIVENESS_CHECKERS.map((c) => c.id)).toEqual([
      "L1",
      "L2",
      "L3",
      "L4",
      "L5",
      "L6",
      "L7",
      "L8",
      "L9",
      "L10",
      "L11",
      "L12",
    ]);
    for (const c of LIVENESS_CHECKERS) {
      expect(c.kind).toBe("liveness");
      expect(c.statement).toMatch(/^[A-Z].*\.$/);
    }
  });

  it("judge nothing in a run without a liveness phase", () => {
    const h = new History().open().message(1, "m1").end().quiescent(snapshot());
    for (const c of LIVENESS_CHECKERS) expect(check(c, h)).toBeUndefined();
  });
});

describe("L1 ack progress", () => {
  it("fires when the cursor stays behind the platform head after the heal", () => {
    const h = new History().open().message(1, "m1").end().message(2, "m2").end().inboxed("m2");
    expect(check(L1, converge(h, 2, 600_000))?.message).toMatch(
      /stuck at 0 while the platform head is 2.*seq 1 \(m1\) was received but never accepted/,
    );
  });

  it("fires when the broker is not running at the end", () => {
    const h = converge(new History().open(), 3, 600_000);
    h.events[h.events.length - 1] = { k: "quiescent", t: 600_000, snapshot: undefined };
    expect(check(L1, h)?.message).toMatch(/not running/);
  });

  it("passes when the cursor reached the head", () => {
    const h = new History().open().message(1, "m1").end().inboxed("m1").ack(1);
    expect(check(L1, converge(h, 1, 600_000))).toBeUndefined();
  });
});

describe("L2 bounded gap requests", () => {
  const gapFill = (h: History, sinceSeq: number) => h.send({ event: "REQUEST_GAP_FILL", sinceSeq });

  it("fires when one gap draws more requests than its burst allows", () => {
    const h = new History().open();
    for (let i = 0; i <= GAP_REQUESTS_PER_GAP_MAX; i++) gapFill(h.at(i * 10), 4);
    expect(check(L2, h)?.message).toMatch(/9 REQUEST_GAP_FILL\(4\) frames on one socket/);
  });

  it("allows one more request per gapFillRetryMaxMs spent at the gap", () => {
    const h = new History().open();
    for (let i = 0; i < 20; i++) gapFill(h.at(i * 30_000), 4);
    expect(check(L2, h)).toBeUndefined();
  });

  it("counts each distinct gap and each new socket separately", () => {
    const h = new History().open();
    for (let i = 0; i < 6; i++) gapFill(h, 4);
    for (let i = 0; i < 6; i++) gapFill(h, 5);
    h.in({ kind: "connector_closed", code: 1006, reason: "" }).end().open();
    for (let i = 0; i < 6; i++) gapFill(h, 5);
    expect(check(L2, h)).toBeUndefined();
  });
});

describe("L3 assignment resolution", () => {
  const assigned = (h: History, id: string) =>
    h.call("processing_state", { assignment_id: id, state: "assigned_to_runtime_target", state_sequence: 1 });
  const live = (accepted: boolean) =>
    snapshot({
      assignments: [
        {
          key: "m1|asg-1",
          assignmentId: "asg-1",
          undispatchedId: "m1",
          targetEndpointId: "ep-1",
          accepted,
          lastStateSequence: 1,
        },
      ],
    });

  it("fires when an assignment stays unaccepted long past its acceptance timeout", () => {
    const h = assigned(new History().open().at(1_000), "asg-1").end();
    expect(check(L3, converge(h, 0, 600_000, live(false), 2_000))?.message).toMatch(/asg-1 \(→ ep-1/);
  });

  it("passes for an accepted assignment and for one assigned just before the end", () => {
    const h = assigned(new History().open().at(1_000), "asg-1").end();
    expect(check(L3, converge(h, 0, 600_000, live(true), 2_000))).toBeUndefined();
    const late = assigned(new History().open().at(590_000), "asg-1").end();
    expect(check(L3, converge(late, 0, 600_000, live(false), 2_000))).toBeUndefined();
  });
});

describe("L4 grace closure", () => {
  const reconnecting = (since: number) => {
    const h = new History({ graceMs: 10_000 }).channel(1, 10).registered("ep-1", 10);
    h.at(since).in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
    return h;
  };
  const snap = snapshot({
    endpoints: [{ endpointId: "ep-1", state: "reconnecting", pid: 10, channel: 1, bufferCount: 0 }],
  });

  it("fires when an endpoint is still reconnecting more than graceMs later", () => {
    expect(check(L4, converge(reconnecting(5_000), 0, 60_000, snap))?.message).toMatch(
      /ep-1 \(since t=5000\)/,
    );
  });

  it("passes while the endpoint is still within its grace", () => {
    expect(check(L4, converge(reconnecting(55_000), 0, 60_000, snap))).toBeUndefined();
  });
});

describe("L5 no stranded buffer", () => {
  const envelope = (m: string) => ({ from: "a", content: "c", contentType: "text", sourceMessageId: m });
  /** m1 (seq 1) is buffered for ep-1 and acked. */
  const buffered = () => {
    const h = new History().channel(1, 10).registered("ep-1", 10).open().message(1, "m1").end();
    h.out({
      kind: "storage",
      id: 7,
      op: {
        op: "append_buffer",
        endpointId: "ep-1",
        record: { id: "m1", arrived_at: "", envelope: envelope("m1") },
      },
    }).end();
    return h.in({ kind: "storage_result", id: 7, ok: true }).end().ack(1);
  };
  const active = snapshot({
    endpoints: [{ endpointId: "ep-1", state: "active", pid: 10, channel: 1, bufferCount: 1 }],
  });

  it("fires when an acked buffered message is never pushed nor surfaced", () => {
    expect(check(L5, converge(buffered(), 1, 600_000, active))?.message).toMatch(
      /m1 \(seq 1, buffered for ep-1.*buffer was not drained/,
    );
  });

  it("passes once the buffered message was pushed and its receipt came back", () => {
    const h = buffered().push(1, { sourceMessageId: "m1" }, "p1").end().pushAck(1, "p1").end();
    expect(check(L5, converge(h, 1, 600_000, active))).toBeUndefined();
  });

  it("reports a buffer deleted with its removed endpoint, which only the lenient variant accepts", () => {
    const h = buffered().in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: false }).end();
    const snap = snapshot();
    expect(check(L5, converge(h, 1, 600_000, snap))?.message).toMatch(/endpoint was removed/);
    expect(check(L5_LENIENT, converge(h, 1, 600_000, snap))).toBeUndefined();
  });

  it("passes once the removed endpoint's buffered message was surfaced as undispatched", () => {
    const h = buffered()
      .in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: false })
      .end()
      .inboxed("m1");
    expect(check(L5, converge(h, 1, 600_000, snapshot()))).toBeUndefined();
  });

  /** ep-1 removed (plugin exit) and m1's surfaced add answered with `result`. */
  const surfacedAddAnswered = (result: Record<string, unknown>) => {
    const h = buffered().in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: false }).end();
    h.call("undispatched_changed", {
      type: "undispatched_changed",
      version: 1,
      action: "add",
      undispatched_id: "m1",
      source_message_id: "m1",
    });
    const id = h.lastId;
    return h.end().result(id, result).end();
  };

  it("passes when the surfaced add is answered undispatched_row_settled (handled before a crash)", () => {
    const settled = { ok: false, terminal: true, status: 422, code: UNDISPATCHED_ROW_SETTLED, detail: "x" };
    expect(check(L5, converge(surfacedAddAnswered(settled), 1, 600_000, snapshot()))).toBeUndefined();
  });

  it("accepts a surfaced add refused for good while its row stays in the inbox (grace swarm seeds 57, 93)", () => {
    const refused = { ok: false, terminal: true, status: 400, code: "bad_request", detail: "x" };
    const kept = snapshot({ inbox: { size: 1, capacity: 256, ids: ["m1"] } });
    expect(check(L5, converge(surfacedAddAnswered(refused), 1, 600_000, kept))).toBeUndefined();
  });

  it("still fires when the refused row is gone from the inbox", () => {
    const refused = { ok: false, terminal: true, status: 400, code: "bad_request", detail: "x" };
    expect(check(L5, converge(surfacedAddAnswered(refused), 1, 600_000, snapshot()))?.message).toMatch(
      /row is gone from the inbox/,
    );
  });

  it("passes when the surfaced row was dispatched although no answer to its add came back ok", () => {
    // The add's answer was lost (timeout) after the platform took the row, which it then
    // dispatched; the surfacer stops posting once the row left the inbox (grace seeds 30, 31).
    const lost = () =>
      surfacedAddAnswered({ ok: false, terminal: false, detail: "platform request timed out" });
    expect(check(L5, converge(lost(), 1, 600_000, snapshot()))?.message).toMatch(/endpoint was removed/);
    const h = lost().in({
      kind: "control_event",
      event: {
        type: "dispatch_undispatched",
        version: 1,
        idempotency_key: "asg-1",
        undispatched_id: "m1",
        source_message_id: "m1",
      },
    });
    expect(check(L5, converge(h.end(), 1, 600_000, snapshot()))).toBeUndefined();
  });
});

describe("L6 reply_emitted eventually posted", () => {
  /** A reply frame for asg-1|rr-1 written at t=1000 and SEND_ACK'd at `ackT`. */
  const acked = (ackT: number) => {
    const h = new History().open().at(1_000);
    h.request(5, "POST", "/v1/runtime/assignment-reply", {
      assignment_id: "asg-1",
      reply_request_id: "rr-1",
    });
    h.send({ event: "SEND_MESSAGE", messageId: "w1", to: "a", content: "c", contentType: "text" }).end();
    return h.at(ackT).frame({ event: "SEND_ACK", messageId: "w1", status: "delivered" }).end();
  };

  it("fires when a SEND_ACK'd reply never gets an answered reply_emitted", () => {
    expect(check(L6, converge(acked(1_100), 0, 600_000))?.message).toMatch(/asg-1\|rr-1/);
  });

  it("passes once reply_emitted was answered", () => {
    const h = acked(1_100).call("processing_state", {
      assignment_id: "asg-1",
      reply_request_id: "rr-1",
      state: "reply_emitted",
      state_sequence: 5,
    });
    const id = h.lastId;
    h.end().result(id).end();
    expect(check(L6, converge(h, 0, 600_000))).toBeUndefined();
  });

  it("does not wait for a SEND_ACK that came after the ack timeout, nor for an abandoned reply", () => {
    expect(check(L6, converge(acked(20_000), 0, 600_000))).toBeUndefined();
    const h = acked(1_100);
    h.events.push({
      k: "truth",
      t: 2_000,
      fact: { f: "plugin_reply_abandoned", assignmentId: "asg-1", reason: "503" },
    });
    expect(check(L6, converge(h, 0, 600_000))).toBeUndefined();
  });
});
