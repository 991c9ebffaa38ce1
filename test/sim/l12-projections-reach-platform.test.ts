/**
 * L12 projections reach the platform, on hand-made histories: a connect whose `online` the broker
 * never posts and a routed post that failed transiently and was never queued again are reported at
 * the end of the liveness phase; the posted change, the retried post, a post dropped after its
 * retries or evicted from its full queue, and a history cut by a crash are not.
 */

import { describe, expect, it } from "vitest";
import { L12 } from "../../sim/checkers/liveness/l12-projections-reach-platform.ts";
import { SIM_EPOCH_MS } from "../../sim/kernel/clock.ts";
import { check, History, queueCause } from "./support/history.ts";

const TRANSIENT = { ok: false, terminal: false, status: 503 };

/** The connector registers at `t`; with `post`, the broker posts its `online` change. */
function connect(h: History, t: number, post = true): History {
  h.at(t).frame({ event: "REGISTER_ACK", status: "ok" });
  if (post)
    h.call("presence_changed", {
      type: "network_presence_changed",
      version: 1,
      state: "online",
      ts: SIM_EPOCH_MS + t,
      reason: "connector_connected",
    });
  return h.end();
}

/** Close a history with a liveness phase ending at `endT`. */
function converge(h: History, endT: number): History {
  h.events.push({ k: "truth", t: h.t, fact: { f: "liveness_begin", budgetMs: endT - h.t } });
  h.at(endT);
  h.events.push({ k: "truth", t: endT, fact: { f: "liveness_end", head: 0 } });
  return h.quiescent({});
}

/** A pipeline task's own `inbound_routed` post for `messageId`, answered `result`. */
function routed(h: History, seq: number, messageId: string, result: Record<string, unknown>): number {
  h.message(seq, messageId).end();
  h.asTask(messageId).call("inbound_routed", {
    type: "runtime_inbound_routed",
    version: 1,
    source_message_id: messageId,
    routed_to_endpoint_id: "ep-1",
    route_kind: "active_endpoint",
    routed_at: 1,
  });
  const id = h.lastId;
  h.end().result(id, result).end();
  return id;
}

function queuePost(h: History, messageId: string, attempt: number, repeats?: number): number {
  h.by(queueCause([messageId], attempt, repeats)).call("inbound_routed", {
    type: "runtime_inbound_routed",
    version: 1,
    source_message_id: messageId,
    routed_to_endpoint_id: "ep-1",
    route_kind: "active_endpoint",
    routed_at: 1,
  });
  return h.lastId;
}

describe("L12 projections reach the platform", () => {
  it("fires when the broker went online and never posted it", () => {
    const h = connect(new History(), 10, false);
    expect(check(L12, converge(h, 600_000))?.message).toMatch(
      /presence became online at t≈9 and the platform was never told/,
    );
  });

  it("passes when the online change was posted", () => {
    expect(check(L12, converge(connect(new History(), 10), 600_000))).toBeUndefined();
  });

  it("fires when a disconnection outlasting the grace never reached the platform as offline", () => {
    const h = connect(new History(), 10);
    h.at(100).in({ kind: "connector_closed", code: 1006, reason: "" }).end();
    h.call("presence_changed", {
      type: "network_presence_changed",
      version: 1,
      state: "reconnecting",
      ts: SIM_EPOCH_MS + 100,
      reason: "connector_disconnected",
    });
    expect(check(L12, converge(h, 700_000))?.message).toMatch(/presence became offline/);
  });

  it("fires when a routed post failed transiently and its queue never posted it again", () => {
    const h = connect(new History(), 10);
    routed(h.at(20), 1, "m1", TRANSIENT);
    expect(check(L12, converge(h, 600_000))?.message).toMatch(
      /inbound_routed post #\d+ failed transiently at t=20 and was never retried/,
    );
  });

  it("fires when a queue post below the retry limit failed and was never repeated", () => {
    const h = connect(new History(), 10);
    const first = queuePost(h.at(20), "m1", 1);
    h.end().result(first, TRANSIENT).end();
    expect(check(L12, converge(h, 600_000))?.message).toMatch(/failed transiently .* never retried/);
  });

  it("passes a failed routed post that its queue posted again and repeated until it succeeded", () => {
    const h = connect(new History(), 10);
    routed(h.at(20), 1, "m1", TRANSIENT);
    const first = queuePost(h.at(21), "m1", 1);
    h.end().result(first, TRANSIENT).end();
    const second = queuePost(h.at(600), "m1", 2, first);
    h.end().result(second, { ok: true }).end();
    expect(check(L12, converge(h, 600_000))).toBeUndefined();
  });

  it("passes a queue post dropped after its last allowed attempt", () => {
    const h = connect(new History({ emitterRetriesMax: 2 }), 10);
    const first = queuePost(h.at(20), "m1", 2);
    h.end().result(first, TRANSIENT).end();
    expect(check(L12, converge(h, 600_000))).toBeUndefined();
  });

  it("passes a failed routed post evicted from its full queue by a newer item", () => {
    const h = connect(new History({ emitterQueueMax: 1 }), 10);
    routed(h.at(20), 1, "m1", TRANSIENT);
    routed(h.at(30), 2, "m2", TRANSIENT);
    const m2 = queuePost(h.at(31), "m2", 1);
    h.end().result(m2, { ok: true }).end();
    expect(check(L12, converge(h, 600_000))).toBeUndefined();
  });

  it("fires when the queue had room for the failed routed post and still never retried it", () => {
    const h = connect(new History({ emitterQueueMax: 2 }), 10);
    routed(h.at(20), 1, "m1", TRANSIENT);
    routed(h.at(30), 2, "m2", TRANSIENT);
    const m2 = queuePost(h.at(31), "m2", 1);
    h.end().result(m2, { ok: true }).end();
    expect(check(L12, converge(h, 600_000))?.message).toMatch(
      /inbound_routed post #\d+ failed transiently at t=20 and was never retried/,
    );
  });

  it("counts two failed posts of one message as two queue items when the queue overflows", () => {
    const h = connect(new History({ emitterQueueMax: 2 }), 10);
    routed(h.at(20), 1, "m1", TRANSIENT);
    routed(h.at(25), 2, "m2", TRANSIENT);
    routed(h.at(30), 2, "m2", TRANSIENT);
    const a = queuePost(h.at(31), "m2", 1);
    h.end().result(a, { ok: true }).end();
    const b = queuePost(h.at(32), "m2", 1);
    h.end().result(b, { ok: true }).end();
    expect(check(L12, converge(h, 600_000))).toBeUndefined();
  });

  it("passes a queue post whose item was evicted while the post was in flight", () => {
    const h = connect(new History({ emitterQueueMax: 1 }), 10);
    routed(h.at(20), 1, "m1", TRANSIENT);
    const first = queuePost(h.at(21), "m1", 1);
    h.end();
    routed(h.at(30), 2, "m2", TRANSIENT);
    h.at(40).result(first, TRANSIENT).end();
    const m2 = queuePost(h.at(41), "m2", 1);
    h.end().result(m2, { ok: true }).end();
    expect(check(L12, converge(h, 600_000))).toBeUndefined();
  });

  it("forgets what a crashed incarnation owed", () => {
    const h = connect(new History(), 10, false);
    routed(h.at(20), 1, "m1", TRANSIENT);
    h.at(30).events.push({ k: "crash", t: 30, incarnation: 1 });
    h.at(40).start({}, 0, 2);
    expect(check(L12, converge(h, 600_000))).toBeUndefined();
  });

  it("judges nothing without a liveness phase", () => {
    const h = connect(new History(), 10, false);
    expect(check(L12, h.quiescent({}))).toBeUndefined();
  });
});
