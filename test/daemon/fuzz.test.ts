import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningBroker } from "../../src/daemon/index.ts";
import { DaemonWorld, type PluginClient, until } from "../support/daemon-world.ts";

/**
 * Throws more than 10,000 malformed inputs at a running daemon over loopback — HTTP requests,
 * plugin stream frames and connector frames — and then checks that it is still alive, never
 * answered 500, logged no internal error, and still delivers and acks every real message.
 */

const HTTP_CASES = 4_000;
const STREAM_CASES = 4_000;
const CONNECTOR_CASES = 2_500;
const CONCURRENCY = 32;

const PATHS = [
  "/health",
  "/v1/initialize",
  "/v1/endpoint/register",
  "/v1/endpoint/ep-1/heartbeat",
  "/v1/endpoint/ep-1/reattach",
  "/v1/endpoint/nope",
  "/v1/send",
  "/v1/runtime/assignment-reply",
  "/v1/runtime/processing-state",
  "/v1/runtime/assignment-claim",
  "/v1/undispatched",
  "/v1/undispatched/presence",
  "/v1/dispatch",
  "/v1/endpoint/x/task-hint",
];

const FIELDS = [
  "plugin_pid",
  "endpoint_id",
  "endpoint_owner_token",
  "kind",
  "workspace",
  "capabilities",
  "runtime_session_id",
  "background_exchange_mode",
  "to",
  "content",
  "metadata",
  "assignment_id",
  "source_message_id",
  "reply_request_id",
  "state",
  "state_sequence",
  "undispatched_id",
  "target_endpoint_id",
  "client_protocol_version",
  "client_kind",
];

const junkValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

const junkObject = fc.dictionary(fc.constantFrom(...FIELDS), junkValue, { maxKeys: 6 });

const body = fc.oneof(
  fc.string({ maxLength: 60 }),
  fc.json({ maxDepth: 2 }),
  junkObject.map((o) => JSON.stringify(o)),
  fc.constantFrom("{", "[", '{"a":', "\u0000", "null", "[]", "1e999999", '"\\ud800"'),
);

const httpCase = fc.record({
  method: fc.constantFrom("GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD"),
  path: fc.oneof(
    fc.constantFrom(...PATHS),
    fc
      .constantFrom(...PATHS)
      .chain((p) => fc.string({ maxLength: 8 }).map((q) => `${p}?${encodeURIComponent(q)}`)),
    fc.webPath(),
  ),
  pid: fc.option(fc.oneof(fc.string({ maxLength: 8 }), fc.integer().map(String)), { nil: undefined }),
  body,
});

const streamFrame = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.json({ maxDepth: 2 }),
  fc
    .record({ event: fc.constantFrom("push_ack", "ping", "x"), push_id: junkValue })
    .map((o) => JSON.stringify(o)),
);

/** Connector frames that are malformed by construction: a known type with one field broken. */
const connectorFrame = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.json({ maxDepth: 2 }).filter((t) => !t.includes('"type"')),
  fc
    .tuple(
      fc.dictionary(fc.string({ maxLength: 8 }), junkValue, { maxKeys: 4 }),
      fc.constantFrom(
        { event: "MESSAGE_RECEIVED", from: 5, content: "x", contentType: "text", metadata: {}, seq: 1 },
        { event: "MESSAGE_RECEIVED", from: "a", content: null, contentType: "text", metadata: {} },
        { event: "MESSAGE_RECEIVED", from: "a", content: "x", contentType: "text", metadata: {}, seq: "7" },
        { event: "SEND_ACK", messageId: 42, status: "delivered" },
        { event: "DELIVERY_CURSOR", deliverySeq: -1 },
        { event: "DELIVERY_CURSOR", deliverySeq: "3" },
        { event: "DELIVERY_SKIP", seq: 2, reason: "because" },
        { event: "DELIVERY_PENDING", count: "x", upTo: 1 },
        { event: "DELIVERY_STATUS", messageId: 1, status: 2 },
        { event: "ERROR", code: 1, message: null },
        { type: "NOT_A_FRAME" },
      ),
    )
    .map(([junk, frame]) => JSON.stringify({ ...junk, ...frame })),
);

describe("the running daemon under malformed input", () => {
  let world: DaemonWorld;
  let broker: RunningBroker;
  let plugin: PluginClient;
  let endpointId: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => unhandled.push(err);

  beforeAll(async () => {
    process.on("unhandledRejection", onUnhandled);
    world = await new DaemonWorld().listen();
    broker = await world.startBroker({ logLevel: "warn" });
    await until(() => world.connector.model.registeredSocket !== undefined, "the broker to register");
    plugin = world.plugin(broker);
    await plugin.openStream();
    const reg = await plugin.request("POST", "/v1/endpoint/register", {
      plugin_pid: plugin.pid,
      kind: "fuzz",
    });
    endpointId = reg.body.endpoint_id as string;
  });
  afterAll(async () => {
    process.off("unhandledRejection", onUnhandled);
    await world.close();
  });

  it("survives more than 10,000 malformed requests and frames and still delivers every real message", async () => {
    const statuses = new Map<number, number>();
    const httpCases = fc.sample(httpCase, { numRuns: HTTP_CASES, seed: 7 });
    const streamFrames = fc.sample(streamFrame, { numRuns: STREAM_CASES, seed: 8 });
    const connectorFrames = fc.sample(connectorFrame, { numRuns: CONNECTOR_CASES, seed: 9 });
    expect(httpCases.length + streamFrames.length + connectorFrames.length).toBeGreaterThanOrEqual(10_000);

    let real = 0;
    const appendReal = () => {
      real++;
      world.connector.append({ content: `real-${real}`, metadata: { target_endpoint_id: endpointId } });
    };

    for (let i = 0; i < httpCases.length; i += CONCURRENCY) {
      const batch = httpCases.slice(i, i + CONCURRENCY);
      const answers = await Promise.all(
        batch.map(async (c) => {
          const res = await fetch(`${broker.ipcUrl}${c.path}`, {
            method: c.method,
            headers: {
              authorization: `Bearer ${broker.bearerToken}`,
              "content-type": "application/json",
              ...(c.pid !== undefined ? { "x-plugin-pid": encodeURIComponent(c.pid) } : {}),
            },
            body: c.method === "GET" || c.method === "HEAD" ? undefined : c.body,
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer();
          return res.status;
        }),
      );
      for (const s of answers) statuses.set(s, (statuses.get(s) ?? 0) + 1);
      const batchNo = i / CONCURRENCY;
      if (batchNo % 10 === 0) appendReal();
      // Interleave the other two kinds so all three surfaces are hit at the same time.
      for (const f of streamFrames.splice(0, 32)) plugin.ws!.send(f);
      for (const f of connectorFrames.splice(0, 20)) world.connector.sendRaw(f);
    }
    for (const f of streamFrames) plugin.ws!.send(f);
    for (const f of connectorFrames) world.connector.sendRaw(f);
    appendReal();

    expect(statuses.get(500) ?? 0).toBe(0);
    // The cases reached past the gate: the core answered some, the body parser refused others.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(0);
    expect(statuses.get(404) ?? 0).toBeGreaterThan(0);
    await until(() => world.connector.ackedSeq === real, `every real message (${real}) to be acked`, 2_000);
    const contents = plugin.messages().map((m) => m.content);
    for (let i = 1; i <= real; i++) expect(contents).toContain(`real-${i}`);
    const health = await fetch(`${broker.ipcUrl}/health`);
    expect(health.status).toBe(200);
    expect(plugin.ws!.readyState).toBe(1);
    expect(broker.core.internalErrors).toBe(0);
    expect(unhandled).toEqual([]);
  });
});
