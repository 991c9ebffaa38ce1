import { describe, expect, it } from "vitest";
import { UNDISPATCHED_ROW_SETTLED, type UndispatchedChangedEvent } from "../../../src/broker/api.ts";
import type { BufferRecord } from "../../../src/broker/types.ts";
import { BrokerPair, OK, type PairOptions, TERMINAL, TRANSIENT } from "../../support/broker-pair.ts";

const ROUTE = { ok: true, action: "route" } as const;
const SETTLED = {
  ok: false,
  terminal: true,
  status: 422,
  code: UNDISPATCHED_ROW_SETTLED,
  detail: "settled",
} as const;

/**
 * An endpoint `ep-100` gone reconnecting with `ids` buffered (claimed, appended, routed, acked);
 * with `routed` a failure, the routed posts fail and the seqs stay unacked.
 */
function buffered(ids: string[], opts: PairOptions = {}, routed: unknown = OK) {
  const pair = new BrokerPair(opts);
  pair.connect();
  const ep = pair.register(100, 1).endpointId;
  pair.closeChannel(1, true);
  ids.forEach((id, i) => {
    pair.message({
      seq: i + 1,
      messageId: id,
      metadata: { target_endpoint_id: ep, correlation_id: `c-${id}` },
    });
    pair.answerOne("inbound_route_claim", ROUTE);
    pair.answerOne("inbound_routed", routed);
  });
  expect(pair.core.buffers.count(ep)).toBe(ids.length);
  expect(pair.ackedUpTo()).toBe(routed === OK ? ids.length : 0);
  return { pair, ep };
}

function adds(pair: BrokerPair): UndispatchedChangedEvent[] {
  return pair
    .allCalls("undispatched_changed")
    .map((c) => c.args as UndispatchedChangedEvent)
    .filter((a) => a.action === "add");
}

function deletes(pair: BrokerPair): string[] {
  return pair.log.flatMap((o) =>
    o.kind === "storage" && o.op.op === "delete_buffer" ? [o.op.endpointId] : [],
  );
}

const REMOVALS: Array<[string, (pair: BrokerPair, ep: string) => void]> = [
  ["the grace timeout", (pair) => pair.advance(600_000)],
  ["an explicit unregister", (pair, ep) => pair.request("DELETE", `/v1/endpoint/${ep}`, undefined, "100")],
  [
    "force_unregister",
    (pair, ep) =>
      pair.input({
        kind: "control_event",
        event: { type: "force_unregister", version: 1, idempotency_key: "f1", endpoint_id: ep },
      }),
  ],
  [
    "the plugin dying during a reattach",
    (pair, ep) => {
      pair.openChannel(2, 100);
      pair.request("POST", `/v1/endpoint/${ep}/reattach`, { plugin_pid: 100 });
      pair.closeChannel(2, false);
    },
  ],
];

describe("L5: a removed endpoint's buffered messages are surfaced as undispatched", () => {
  for (const [how, remove] of REMOVALS) {
    it(`moves them into the inbox after ${how} and deletes the file only once the adds are posted`, () => {
      const { pair, ep } = buffered(["m1", "m2"]);
      remove(pair, ep);
      expect(pair.core.registry.get(ep)).toBeUndefined();
      expect(pair.core.inbox.ids()).toEqual(["m1", "m2"]);
      expect(pair.core.inbox.get("m1")).toMatchObject({
        source_message_id: "m1",
        reason: "closed_session_continuation",
        original_target_endpoint_id: ep,
        original_correlation_id: "c-m1",
      });
      expect(adds(pair).map((a) => [a.undispatched_id, a.reason, a.target_endpoint_id_hint])).toEqual([
        ["m1", "closed_session_continuation", ep],
        ["m2", "closed_session_continuation", ep],
      ]);
      expect(adds(pair)[0]).toMatchObject({ source_message_id: "m1", in_reply_to: "c-m1" });
      expect(deletes(pair)).toEqual([]);

      pair.answerAll("undispatched_changed", OK);
      expect(deletes(pair)).toEqual([ep]);
      expect(pair.core.surfacer.pending).toBe(0);
      expect(pair.core.internalErrors).toBe(0);
    });
  }

  it("waits for free inbox slots instead of dropping records, oldest first", () => {
    const { pair, ep } = buffered(["m1", "m2", "m3"], { options: { inboxCapacity: 2 } });
    const worker = pair.register(200, 3, {
      capabilities: ["background_exchange_v1"],
      background_exchange_mode: "resident_endpoint",
    }).endpointId;
    /** Dispatching a row to the worker takes it out of the inbox. */
    const dispatch = (key: string, id: string) => {
      pair.dispatch(key, id, worker);
      expect(pair.core.inbox.has(id)).toBe(false);
    };
    pair.message({ seq: 4, messageId: "u1" });
    pair.answerOne("undispatched_changed", OK);
    pair.request("DELETE", `/v1/endpoint/${ep}`, undefined, "100");
    expect(pair.core.inbox.ids()).toEqual(["u1", "m1"]);
    expect(pair.logCount("buffer_surface_inbox_full")).toBe(1);
    expect(pair.core.surfacer.pending).toBe(3);
    pair.answerAll("undispatched_changed", OK);
    expect(deletes(pair)).toEqual([]);

    // Dispatching rows frees slots; the waiting records follow in file order on the retry.
    dispatch("k1", "u1");
    pair.advance(1_000);
    expect(pair.core.inbox.ids()).toEqual(["m1", "m2"]);
    dispatch("k2", "m1");
    pair.answerAll("undispatched_changed", OK);
    pair.advance(1_000);
    expect(pair.core.inbox.ids()).toEqual(["m2", "m3"]);
    expect(deletes(pair)).toEqual([]);
    pair.answerAll("undispatched_changed", OK);
    expect(deletes(pair)).toEqual([ep]);
    expect(adds(pair).map((a) => a.undispatched_id)).toEqual(["u1", "m1", "m2", "m3"]);
  });

  it("retries a failed add post with backoff and keeps the file until it lands", () => {
    const { pair, ep } = buffered(["m1"]);
    pair.advance(600_000);
    pair.answerOne("undispatched_changed", TRANSIENT);
    expect(deletes(pair)).toEqual([]);
    pair.advance(499);
    expect(pair.calls("undispatched_changed")).toHaveLength(0);
    pair.advance(1);
    pair.answerOne("undispatched_changed", TRANSIENT);
    pair.advance(1_000);
    pair.answerOne("undispatched_changed", OK);
    expect(deletes(pair)).toEqual([ep]);
    expect(adds(pair)).toHaveLength(3);
  });

  it("gives up posting a row the platform refuses for good, keeping the row", () => {
    const { pair, ep } = buffered(["m1"]);
    pair.advance(600_000);
    pair.answerOne("undispatched_changed", TERMINAL);
    expect(deletes(pair)).toEqual([ep]);
    expect(pair.core.inbox.has("m1")).toBe(true);
  });

  it("does not surface records the reattach drain already delivered", () => {
    const { pair, ep } = buffered(["m1", "m2"]);
    pair.openChannel(2, 100);
    pair.request("POST", `/v1/endpoint/${ep}/reattach`, { plugin_pid: 100 });
    const [first] = pair.messagePushes(2);
    pair.pushAck(first!.push_id!, 2);
    pair.closeChannel(2, false);
    expect(pair.core.inbox.ids()).toEqual(["m2"]);
  });

  it("re-posts the inbox add, not the stale routed event, when a surfaced message is redelivered", () => {
    // m1 is buffered but its routed post fails, so seq 1 stays unacked; the endpoint is removed
    // and m1 surfaces into the inbox; the connector then redelivers it (grace swarm seed 93).
    const { pair, ep } = buffered(["m1"], {}, TERMINAL);
    pair.advance(600_000);
    expect(pair.core.inbox.ids()).toEqual(["m1"]);
    pair.answerAll("undispatched_changed", OK);
    const routedBefore = pair.allCalls("inbound_routed").length;
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    expect(pair.allCalls("inbound_routed")).toHaveLength(routedBefore);
    expect(adds(pair).filter((a) => a.undispatched_id === "m1")).toHaveLength(2);
    pair.answerAll("undispatched_changed", OK);
    expect(pair.ackedUpTo()).toBe(1);
  });

  it("deletes the file at once when nothing was buffered", () => {
    const pair = new BrokerPair();
    pair.connect();
    const ep = pair.register(100, 1).endpointId;
    pair.closeChannel(1, false);
    expect(deletes(pair)).toEqual([ep]);
    expect(adds(pair)).toEqual([]);
  });
});

describe("L5: buffer files of an earlier process are surfaced at start-up", () => {
  const record = (id: string, extra: Partial<BufferRecord["envelope"]> = {}): BufferRecord => ({
    id,
    arrived_at: "2024-01-01T00:00:00.000Z",
    envelope: {
      from: "agent://a",
      content: `hello ${id}`,
      contentType: "text",
      sourceMessageId: id,
      ...extra,
    },
  });

  it("adds every record to the inbox on start and deletes each file after its adds are posted", () => {
    const pair = new BrokerPair({
      initialBuffers: [
        { endpointId: "ep-old-1", records: [record("m1"), record("m2")] },
        { endpointId: "ep-old-2", records: [record("m3")] },
      ],
    });
    pair.connect();
    expect(pair.core.inbox.ids()).toEqual(["m1", "m2", "m3"]);
    expect(pair.core.inbox.get("m3")).toMatchObject({
      reason: "closed_session_continuation",
      original_target_endpoint_id: "ep-old-2",
      arrived_at: "2024-01-01T00:00:00.000Z",
    });
    expect(deletes(pair)).toEqual([]);
    const [a1, a2, a3] = pair.calls("undispatched_changed");
    pair.answer(a3!, OK);
    expect(deletes(pair)).toEqual(["ep-old-2"]);
    pair.answer(a1!, OK);
    pair.answer(a2!, OK);
    expect(deletes(pair)).toEqual(["ep-old-2", "ep-old-1"]);
  });

  it("keeps the buffer file when a surfaced row's inbox journal write failed", () => {
    const pair = new BrokerPair({
      autoStorage: false,
      initialBuffers: [{ endpointId: "ep-old", records: [record("m1"), record("m2")] }],
    });
    pair.connect();
    const puts = pair.storageOps().filter((o) => o.op.op === "inbox_put");
    expect(puts).toHaveLength(2);
    pair.answerAll("undispatched_changed", OK);
    // Posted, but not yet durable: the file stays until both writes are answered.
    expect(deletes(pair)).toEqual([]);
    pair.answerStorage(puts[0]!, true);
    pair.answerStorage(puts[1]!, false);
    expect(deletes(pair)).toEqual([]);
    expect(pair.logCount("buffer_surface_delete_skipped")).toBe(1);
  });

  it("deletes the buffer file once every surfaced row is posted and durable", () => {
    const pair = new BrokerPair({
      autoStorage: false,
      initialBuffers: [{ endpointId: "ep-old", records: [record("m1")] }],
    });
    pair.connect();
    const put = pair.storageOps().find((o) => o.op.op === "inbox_put")!;
    pair.answerStorage(put, true);
    expect(deletes(pair)).toEqual([]);
    pair.answerOne("undispatched_changed", OK);
    expect(deletes(pair)).toEqual(["ep-old"]);
  });

  it("takes a surfaced row out of the inbox again when the platform answers undispatched_row_settled", () => {
    // The record was surfaced, dispatched and handled before a crash left its file behind: the
    // platform will never dispatch the row again, so it must not hold an inbox slot (soak seed 3).
    const pair = new BrokerPair({
      options: { inboxCapacity: 1 },
      initialBuffers: [{ endpointId: "ep-old", records: [record("m1")] }],
    });
    pair.connect();
    expect(pair.core.inbox.ids()).toEqual(["m1"]);
    pair.answerOne("undispatched_changed", SETTLED);
    expect(pair.core.inbox.ids()).toEqual([]);
    expect(pair.logCount("buffer_surface_row_settled")).toBe(1);
    expect(deletes(pair)).toEqual(["ep-old"]);
    pair.message({ seq: 1, messageId: "m2" });
    expect(pair.core.inbox.ids()).toEqual(["m2"]);
  });

  it("keeps a surfaced message in the inbox when the connector redelivers it, instead of routing it again", () => {
    const pair = new BrokerPair({ initialBuffers: [{ endpointId: "ep-old", records: [record("m1")] }] });
    pair.connect();
    const ep = pair.register(100, 1).endpointId;
    pair.answerOne("undispatched_changed", OK);
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    expect(pair.allCalls("inbound_route_claim")).toHaveLength(0);
    expect(pair.messagePushes()).toHaveLength(0);
    expect(pair.core.inbox.get("m1")).toMatchObject({
      reason: "closed_session_continuation",
      original_target_endpoint_id: "ep-old",
    });
    pair.answerOne("undispatched_changed", OK);
    expect(pair.ackedUpTo()).toBe(1);
  });

  it("drops a record still waiting for an inbox slot when the connector redelivers its message, so it has one destination", () => {
    const pair = new BrokerPair({
      options: { inboxCapacity: 1 },
      initialBuffers: [{ endpointId: "ep-old", records: [record("m0"), record("m1")] }],
    });
    pair.connect();
    expect(pair.core.inbox.ids()).toEqual(["m0"]);
    const ep = pair.register(100, 1).endpointId;
    const worker = pair.register(200, 2, {
      capabilities: ["background_exchange_v1"],
      background_exchange_mode: "resident_endpoint",
    }).endpointId;
    pair.message({ seq: 1, messageId: "m1", metadata: { target_endpoint_id: ep } });
    pair.answerOne("inbound_route_claim", ROUTE);
    expect(pair.messagePushes()).toHaveLength(1);
    pair.ackAllPushes(1);

    // A free inbox slot does not bring the pushed message back as a row.
    pair.answerAll("undispatched_changed", OK);
    pair.dispatch("k1", "m0", worker);
    pair.advance(1_000);
    expect(pair.core.inbox.has("m1")).toBe(false);
    expect(adds(pair).map((a) => a.undispatched_id)).toEqual(["m0"]);
    expect(pair.logCount("buffer_surface_superseded")).toBe(1);
    expect(deletes(pair)).toEqual(["ep-old"]);
  });

  it("surfaces an earlier process's assignment envelope as the row it was dispatched from", () => {
    // The assignment died with that process and its row was settled when the record was appended;
    // dropping the record with the file would lose the message (soak swarm seed 20, L9).
    const assignment = {
      undispatchedId: "m9",
      sourceMessageId: "m9",
      assignmentId: "a9",
      targetRef: {
        kind: "projection_endpoint" as const,
        projection_endpoint_id: "ep-old",
        background_exchange_mode: "resident_endpoint" as const,
      },
      deliveryIntent: "external_handoff" as const,
    };
    const pair = new BrokerPair({
      initialBuffers: [
        {
          endpointId: "ep-old",
          records: [
            record("x9", {
              runtimeAssignment: assignment,
              sourceMessageId: "m9",
              metadata: { dispatched_from: "m9", delivery_intent: "external_handoff", k: "v" },
            }),
          ],
        },
      ],
    });
    pair.connect();
    expect(pair.core.inbox.ids()).toEqual(["m9"]);
    expect(pair.core.inbox.get("m9")?.metadata).toMatchObject({ k: "v" });
    expect(pair.core.inbox.get("m9")?.metadata).not.toHaveProperty("dispatched_from");
    expect(adds(pair).map((a) => [a.undispatched_id, a.source_message_id])).toEqual([["m9", "m9"]]);
    pair.answerOne("undispatched_changed", OK);
    expect(deletes(pair)).toEqual(["ep-old"]);
  });

  it("skips a waiting record once a live assignment holds its message, checked when the record's turn comes", () => {
    // m9 is surfaced from one file and dispatched; an older copy of it in a second file waits for
    // a slot meanwhile. Surfacing that copy would make m9 an inbox row and the message of a live,
    // delivered assignment at once, which a second dispatch would then bind twice (A11).
    const pair = new BrokerPair({
      options: { inboxCapacity: 2 },
      initialBuffers: [
        { endpointId: "ep-old-1", records: [record("m9"), record("f1"), record("f2")] },
        {
          endpointId: "ep-old-2",
          records: [
            record("x9", {
              sourceMessageId: "m9",
              runtimeAssignment: {
                undispatchedId: "m9",
                sourceMessageId: "m9",
                assignmentId: "a-old",
                targetRef: {
                  kind: "projection_endpoint",
                  projection_endpoint_id: "ep-old-2",
                  background_exchange_mode: "resident_endpoint",
                },
                deliveryIntent: "external_handoff",
              },
            }),
          ],
        },
      ],
    });
    pair.connect();
    const worker = pair.register(200, 3, {
      capabilities: ["background_exchange_v1"],
      background_exchange_mode: "resident_endpoint",
    }).endpointId;
    expect(pair.core.inbox.ids()).toEqual(["m9", "f1"]);
    pair.answerAll("undispatched_changed", OK);

    pair.dispatch("k1", "m9", worker);
    pair.answerAll("processing_state", OK);
    pair.ackAllPushes(3);
    expect(pair.messagePushes(3).map((p) => p.sourceMessageId)).toEqual(["m9"]);
    pair.advance(1_000);
    expect(pair.core.inbox.ids()).toEqual(["f1", "f2"]);
    pair.answerAll("undispatched_changed", OK);

    // A slot frees while the assignment of m9 is live and delivered: the copy is not surfaced.
    pair.dispatch("k2", "f1", worker);
    pair.answerAll("processing_state", OK);
    pair.advance(1_000);
    expect(pair.core.inbox.ids()).toEqual(["f2"]);
    expect(pair.logCount("buffer_surface_bound_skipped")).toBe(1);
    expect(adds(pair).filter((a) => a.undispatched_id === "m9")).toHaveLength(1);
    expect(deletes(pair).sort()).toEqual(["ep-old-1", "ep-old-2"]);
    expect(pair.core.surfacer.pending).toBe(0);
  });

  it("leaves this process's assignment envelopes of a removed endpoint to the assignments component", () => {
    const { pair, ep } = buffered([]);
    const assignment = {
      undispatchedId: "u9",
      sourceMessageId: "m9",
      assignmentId: "a9",
      targetRef: {
        kind: "projection_endpoint" as const,
        projection_endpoint_id: ep,
        background_exchange_mode: "resident_endpoint" as const,
      },
      deliveryIntent: "external_handoff" as const,
    };
    pair.core.surfacer.surface(ep, [record("x9", { runtimeAssignment: assignment })], "endpoint_removed");
    expect(pair.core.inbox.size).toBe(0);
    expect(pair.logCount("buffer_surface_assignment_skipped")).toBe(1);
  });

  it("does not surface a record whose message a live assignment holds, and leaves the restore to it", () => {
    // A surfaced copy would be a second row: dispatched elsewhere and accepted, it would leave the
    // first assignment's timeout restoring a row the platform never dispatches again (L1).
    const pair = new BrokerPair();
    pair.connect();
    const worker = pair.register(200, 3, {
      capabilities: ["background_exchange_v1"],
      background_exchange_mode: "resident_endpoint",
    }).endpointId;
    pair.message({ seq: 1, messageId: "u1" });
    pair.answerOne("undispatched_changed", OK);
    pair.dispatch("a1", "u1", worker);
    pair.answerAll("processing_state", OK);
    expect(pair.messagePushes(3).map((p) => p.sourceMessageId)).toEqual(["u1"]);
    expect(pair.core.inbox.size).toBe(0);
    pair.core.surfacer.surface("ep-old", [record("u1")], "endpoint_removed");
    expect(pair.core.inbox.size).toBe(0);
    expect(adds(pair).map((a) => a.undispatched_id)).toEqual(["u1"]);
    expect(pair.logCount("buffer_surface_bound_skipped")).toBe(1);
    pair.advance(30_000);
    expect(deletes(pair)).toEqual(["ep-old"]);
    expect(pair.core.inbox.ids()).toEqual(["u1"]);
    expect(pair.core.internalErrors).toBe(0);
  });
});
