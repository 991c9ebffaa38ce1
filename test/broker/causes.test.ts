import { describe, expect, it } from "vitest";
import { resolveOptions } from "../../src/broker/options.ts";
import type { Cause, Output } from "../../src/broker/types.ts";
import { BrokerPair, OK, TRANSIENT } from "../support/broker-pair.ts";

const ROUTE = { ok: true, action: "route" } as const;

function world() {
  const pair = new BrokerPair();
  pair.connect();
  const ep = pair.register(100, 1).endpointId;
  return { pair, ep };
}

function routedPosts(pair: BrokerPair): Array<Extract<Output, { kind: "api_call" }>> {
  return pair.log.filter(
    (o): o is Extract<Output, { kind: "api_call" }> => o.kind === "api_call" && o.op === "inbound_routed",
  );
}

describe("causal outputs of the core", () => {
  it("stamps every output with a cause", () => {
    const { pair, ep } = world();
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", ROUTE);
    pair.ackAllPushes(1);
    pair.answerOne("inbound_routed", OK);
    pair.advance(60_000);
    expect(pair.log.length).toBeGreaterThan(5);
    expect(pair.log.filter((o) => o.cause === undefined)).toEqual([]);
  });

  it("names the task, its message and seq on every step of a hand-off, the receipt's included", () => {
    const { pair, ep } = world();
    const mark = pair.log.length;
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", ROUTE);
    pair.ackAllPushes(1);
    const work = pair.log
      .slice(mark)
      .filter((o) => o.kind === "api_call" || o.kind === "ipc_push" || o.kind === "storage");
    expect(work.map((o) => o.kind)).toEqual(["api_call", "ipc_push", "api_call"]);
    for (const o of work) expect(o.cause).toMatchObject({ kind: "task", messageId: "m1", seq: 1 });
  });

  it("gives a retry queue's posts the queue, the attempt and the post each attempt repeats", () => {
    const { pair, ep } = world();
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", ROUTE);
    pair.ackAllPushes(1);
    pair.answerOne("inbound_routed", TRANSIENT);
    pair.answerOne("inbound_routed", TRANSIENT);
    pair.advance(500);
    const [direct, first, second] = routedPosts(pair);
    expect(direct!.cause).toMatchObject({ kind: "task", messageId: "m1" });
    expect(first!.cause).toEqual({ kind: "queue", queue: "routed_emitter", attempt: 1, ids: ["m1"] });
    expect(second!.cause).toEqual({
      kind: "queue",
      queue: "routed_emitter",
      attempt: 2,
      repeats: first!.id,
      ids: ["m1"],
    });
    pair.answerOne("inbound_routed", OK);
    // The deferred ack the queue's success releases is the queue's work too.
    const ack = pair.log
      .filter((o) => o.kind === "connector_send" && o.frame.event === "DELIVERY_ACK")
      .at(-1);
    expect(ack?.cause).toMatchObject({ kind: "queue", attempt: 2 });
  });

  it("charges a reattach drain's pushes and its buffer delete to the reattach request", () => {
    const { pair, ep } = world();
    pair.closeChannel(1, true);
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", ROUTE);
    pair.answerOne("inbound_routed", OK);
    pair.openChannel(2, 100);
    const id = pair.request("POST", `/v1/endpoint/${ep}/reattach`, { plugin_pid: 100 });
    const push = pair.messagePushes(2)[0]!;
    const mark = pair.log.length;
    pair.pushAck(push.push_id!, 2);
    const drainPush = pair.log.find((o) => o.kind === "ipc_push" && o.channel === 2);
    const request: Cause = {
      kind: "request",
      request: id,
      method: "POST",
      path: `/v1/endpoint/${ep}/reattach`,
    };
    expect(drainPush?.cause).toEqual(request);
    const del = pair.log.slice(mark).find((o) => o.kind === "storage" && o.op.op === "delete_buffer");
    expect(del?.cause).toEqual(request);
  });

  it("runs a deadline under a timer cause naming its kind and id", () => {
    const { pair, ep } = world();
    pair.closeChannel(1, true);
    const out = pair.advance(resolveOptions({}).graceMs);
    const closed = out.find((o) => o.kind === "api_call" && o.op === "transition_state");
    expect(closed?.cause).toEqual({ kind: "timer", deadline: { kind: "grace", endpointId: ep } });
  });

  it("lists armed deadlines and unanswered requests as data in the snapshot", () => {
    const { pair, ep } = world();
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    const snap = pair.core.snapshot();
    const claim = pair.calls("inbound_route_claim")[0]!;
    expect(snap.pendingRequests).toContainEqual({
      id: claim.id,
      kind: "api_call",
      op: "inbound_route_claim",
      cause: expect.objectContaining({ kind: "task", messageId: "m1" }),
    });
    pair.closeChannel(1, true);
    const graceAt = pair.core.env.nowMs + resolveOptions({}).graceMs;
    expect(pair.core.snapshot().deadlines).toContainEqual({
      deadline: { kind: "grace", endpointId: ep },
      atMs: graceAt,
    });
  });
});
