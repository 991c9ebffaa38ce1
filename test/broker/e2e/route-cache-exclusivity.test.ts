import { describe, expect, it } from "vitest";
import { BrokerPair, OK, TERMINAL, TRANSIENT } from "../../support/broker-pair.ts";

const ROUTE = { ok: true, action: "route" } as const;

/** Push m1 (seq 1) to an active endpoint, get the receipt, and let the routed post fail. */
function pushedButNotAccepted(routedResult: typeof TERMINAL | typeof TRANSIENT) {
  const pair = new BrokerPair();
  pair.connect();
  const ep = pair.register(100, 1).endpointId;
  pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
  pair.answerOne("inbound_route_claim", ROUTE);
  pair.ackAllPushes(1);
  pair.answerOne("inbound_routed", routedResult);
  expect(pair.ackedUpTo()).toBe(0);
  return { pair, ep };
}

describe("a redelivered message that was already handed to a removed endpoint (R1)", () => {
  it("re-posts its routed event instead of adding it to the inbox", () => {
    const { pair, ep } = pushedButNotAccepted(TERMINAL);
    const del = pair.request("DELETE", `/v1/endpoint/${ep}`);
    expect(pair.response(del)?.status).toBe(200);
    expect(pair.core.registry.get(ep)).toBeUndefined();

    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    expect(pair.allCalls("closed_endpoint_lookup")).toHaveLength(0);
    expect(pair.allCalls("undispatched_changed")).toHaveLength(0);
    expect(pair.core.inbox.has("m1")).toBe(false);
    const again = pair.calls("inbound_routed");
    expect(again).toHaveLength(1);
    expect(again[0]!.args).toMatchObject({ source_message_id: "m1", routed_to_endpoint_id: ep });

    pair.answer(again[0]!, OK);
    expect(pair.ackedUpTo()).toBe(1);
    expect(pair.messagePushes()).toHaveLength(1);
  });

  it("keeps the one outcome while the routed event still waits in the retry queue", () => {
    const { pair, ep } = pushedButNotAccepted(TRANSIENT);
    pair.request("DELETE", `/v1/endpoint/${ep}`);
    // The queued retry of the routed event is out; the redelivery must not pick a second destination.
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    for (const c of pair.calls("closed_endpoint_lookup")) pair.answer(c, { ok: true, retired: true });
    expect(pair.allCalls("undispatched_changed")).toHaveLength(0);
    expect(pair.core.inbox.has("m1")).toBe(false);
    pair.answerAll("inbound_routed", OK);
    expect(pair.ackedUpTo()).toBe(1);
  });
});
