/**
 * Legal histories that the routing checkers (R1, R4) once reported as violations (swarm triage),
 * each next to a history that differs in the one fact that makes it legal and is still reported.
 */

import { describe, expect, it } from "vitest";
import { R1 } from "../../sim/checkers/safety/r1-destination-exclusivity.ts";
import { R4 } from "../../sim/checkers/safety/r4-continuation-routing.ts";
import { check, type History } from "./support/history.ts";
import {
  withEndpoint,
  claim,
  appendToBuffer,
  skipped,
  surfacedAtStart,
} from "./support/legal-history-steps.ts";

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
