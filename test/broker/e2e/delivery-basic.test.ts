import { describe, expect, it } from "vitest";
import { BrokerPair, OK, TERMINAL, TRANSIENT } from "../../support/broker-pair.ts";

const ROUTE = { ok: true, action: "route" } as const;
const SKIP = { ok: true, action: "skip" } as const;

/** A connected pair with one active endpoint `ep-100` on channel 1 (pid 100, receipts on). */
function world(opts: ConstructorParameters<typeof BrokerPair>[0] = {}) {
  const pair = new BrokerPair(opts);
  pair.connect();
  const ep = pair.register(100, 1);
  return { pair, ep: ep.endpointId };
}

describe("delivery to an active endpoint", () => {
  it("claims the route, pushes with a receipt, posts routed and only then acks the seq", () => {
    const { pair, ep } = world();
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    const claim = pair.calls("inbound_route_claim");
    expect(claim).toHaveLength(1);
    expect(claim[0]!.args).toMatchObject({
      source_message_id: "m1",
      routed_to_endpoint_id: ep,
      route_kind: "active_endpoint",
    });
    expect(pair.messagePushes()).toHaveLength(0);

    pair.answer(claim[0]!, ROUTE);
    const pushes = pair.messagePushes(1);
    expect(pushes).toHaveLength(1);
    expect(pushes[0]!.push_id).toMatch(/^push_/);
    expect(pushes[0]!.sourceMessageId).toBe("m1");
    expect(pair.calls("inbound_routed")).toHaveLength(0);

    pair.pushAck(pushes[0]!.push_id!, 1);
    expect(pair.calls("inbound_routed")).toHaveLength(1);
    expect(pair.ackedUpTo()).toBe(0);

    pair.answerOne("inbound_routed", OK);
    expect(pair.ackedUpTo()).toBe(1);
    expect(pair.core.inflightTasks.size).toBe(0);
    expect(pair.core.internalErrors).toBe(0);
  });

  it("pushes a message without messageId without a route claim and acks after the receipt", () => {
    const { pair, ep } = world();
    pair.message({ seq: 1, metadata: { target_endpoint_id: ep } });
    expect(pair.allCalls("inbound_route_claim")).toHaveLength(0);
    const [push] = pair.messagePushes(1);
    pair.pushAck(push!.push_id!, 1);
    expect(pair.allCalls("inbound_routed")).toHaveLength(0);
    expect(pair.ackedUpTo()).toBe(1);
  });

  it("counts a push as received at once on a channel without the receipt capability", () => {
    const pair = new BrokerPair();
    pair.connect();
    pair.openChannel(1, 100, []);
    const { endpointId } = pair.register(100, 1);
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: endpointId } });
    pair.answerOne("inbound_route_claim", ROUTE);
    expect(pair.messagePushes(1)[0]!.push_id).toBeUndefined();
    pair.answerOne("inbound_routed", OK);
    expect(pair.ackedUpTo()).toBe(1);
  });

  it("routes a reply to the endpoint whose correlation ring holds the correlation id", () => {
    const pair = new BrokerPair();
    pair.connect();
    const ep = pair.register(100, 1, { capabilities: ["foreground_channel_v1"] }).endpointId;
    const send = pair.request("POST", "/v1/send", { endpoint_id: ep, to: "agent://x", content: "hi" });
    const frame = pair.sentFrames("SEND_MESSAGE").at(-1)!;
    expect(frame.event).toBe("SEND_MESSAGE");
    const cid = (frame as unknown as { metadata: { correlation_id: string } }).metadata.correlation_id;
    pair.frame({
      event: "SEND_ACK",
      messageId: (frame as { messageId: string }).messageId,
      status: "delivered",
    });
    expect(pair.response(send)).toMatchObject({ status: 200, body: { status: "delivered" } });

    pair.message({ seq: 1, messageId: "r1", metadata: { correlation_id: cid } });
    expect(pair.calls("inbound_route_claim")[0]!.args.routed_to_endpoint_id).toBe(ep);
  });
});

describe("route claims", () => {
  it("acks a claim answered skip without pushing anything", () => {
    const { pair, ep } = world();
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", SKIP);
    expect(pair.messagePushes()).toHaveLength(0);
    expect(pair.allCalls("inbound_routed")).toHaveLength(0);
    expect(pair.ackedUpTo()).toBe(1);
  });

  it("neither pushes nor acks when the claim fails, and releases the seq for a redelivery", () => {
    const { pair, ep } = world();
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    expect(pair.core.connector.pendingCount).toBe(1);
    pair.answerOne("inbound_route_claim", TRANSIENT);
    expect(pair.messagePushes()).toHaveLength(0);
    expect(pair.ackedUpTo()).toBe(0);
    expect(pair.core.connector.pendingCount).toBe(0);
    expect([...pair.core.pipeline.blocked]).toEqual([1]);

    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    expect(pair.calls("inbound_route_claim")).toHaveLength(1);
  });
});

describe("redelivery and deferred acks", () => {
  it("never pushes a message twice when a redelivery hits the delivered-route cache", () => {
    const { pair, ep } = world();
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", ROUTE);
    pair.ackAllPushes(1);
    pair.answerOne("inbound_routed", TERMINAL);
    expect(pair.ackedUpTo()).toBe(0);

    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    expect(pair.calls("inbound_route_claim")).toHaveLength(0);
    const again = pair.calls("inbound_routed");
    expect(again).toHaveLength(1);
    expect(again[0]!.args).toMatchObject({ source_message_id: "m1", routed_to_endpoint_id: ep });
    pair.answer(again[0]!, OK);
    expect(pair.messagePushes()).toHaveLength(1);
    expect(pair.ackedUpTo()).toBe(1);
  });

  it("acks later through the routed emitter when the routed post failed transiently", () => {
    const { pair, ep } = world();
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", ROUTE);
    pair.ackAllPushes(1);
    pair.answerOne("inbound_routed", TRANSIENT);
    expect(pair.ackedUpTo()).toBe(0);
    expect(pair.core.snapshot().queues.routed).toBe(1);
    // The emitter posts the queued event at once (head of an idle queue).
    pair.answerOne("inbound_routed", TRANSIENT);
    expect(pair.calls("inbound_routed")).toHaveLength(0);
    pair.advance(500);
    pair.answerOne("inbound_routed", OK);
    expect(pair.ackedUpTo()).toBe(1);
    expect(pair.core.pipeline.blocked.size).toBe(0);
    expect(pair.messagePushes()).toHaveLength(1);
  });
});

describe("the undispatched inbox", () => {
  it("adds an unaddressed message to the inbox and acks once the add event is posted", () => {
    const { pair } = world();
    pair.message({ seq: 1, messageId: "m1", content: "x".repeat(100) });
    const add = pair.calls("undispatched_changed");
    expect(add).toHaveLength(1);
    expect(add[0]!.args).toMatchObject({
      action: "add",
      undispatched_id: "m1",
      source_message_id: "m1",
      reason: "no_target_endpoint",
    });
    expect((add[0]!.args as { content_preview: string }).content_preview).toHaveLength(80);
    expect(pair.core.inbox.has("m1")).toBe(true);
    expect(pair.ackedUpTo()).toBe(0);
    pair.answer(add[0]!, OK);
    expect(pair.ackedUpTo()).toBe(1);
  });

  it("does not accept a message when the inbox is full, and releases it", () => {
    const { pair } = world({ options: { inboxCapacity: 1 } });
    pair.message({ seq: 1, messageId: "m1" });
    pair.answerOne("undispatched_changed", OK);
    pair.message({ seq: 2, messageId: "m2" });
    expect(pair.calls("undispatched_changed")).toHaveLength(0);
    expect(pair.logCount("undispatched_inbox_at_capacity")).toBe(1);
    expect(pair.core.inbox.has("m2")).toBe(false);
    expect(pair.ackedUpTo()).toBe(1);
    expect(pair.core.connector.pendingCount).toBe(0);
    expect([...pair.core.pipeline.blocked]).toEqual([2]);
  });

  it("keeps the row but does not ack when the add post fails", () => {
    const { pair } = world();
    pair.message({ seq: 1, messageId: "m1" });
    pair.answerOne("undispatched_changed", TRANSIENT);
    expect(pair.core.inbox.has("m1")).toBe(true);
    expect(pair.ackedUpTo()).toBe(0);
    expect(pair.core.snapshot().queues.undispatched).toBe(0);
  });

  it("sends a correlated continuation for a non-headless endpoint without foreground channel to the inbox", () => {
    const { pair, ep } = world();
    pair.core.registry.ringAdd(ep, "c-1");
    pair.message({ seq: 1, messageId: "m1", metadata: { correlation_id: "c-1" } });
    const [add] = pair.calls("undispatched_changed");
    expect(add!.args).toMatchObject({
      reason: "correlated_continuation",
      target_endpoint_id_hint: ep,
      in_reply_to: "c-1",
    });
  });

  it("asks the platform whether an unknown target is retired and files it as a closed-session continuation", () => {
    const { pair } = world();
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: "gone" } });
    pair.answerOne("closed_endpoint_lookup", { ok: true, retired: true });
    const [add] = pair.calls("undispatched_changed");
    expect(add!.args).toMatchObject({
      reason: "closed_session_continuation",
      target_endpoint_id_hint: "gone",
    });
  });
});

describe("the planted fault ackBeforeHandoff", () => {
  it("acks a seq before its hand-off finished", () => {
    const { pair, ep } = world({ faults: { ackBeforeHandoff: true } });
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    expect(pair.ackedUpTo()).toBe(1);
    expect(pair.messagePushes()).toHaveLength(0);
  });
});
