import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiArgs, ApiOp } from "../../src/broker/api.ts";
import { PlatformClient } from "../../src/daemon/platform-client.ts";

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: unknown;
}

/** A tiny platform: answers every request with the status/body the test queued. */
class TinyApi {
  server: Server;
  seen: Seen[] = [];
  answer: { status: number; body?: unknown; hang?: boolean } = { status: 204 };
  constructor() {
    this.server = createServer((req, res) => {
      readBody(req).then((text) => {
        this.seen.push({
          method: req.method!,
          url: req.url!,
          auth: req.headers.authorization,
          body: text ? JSON.parse(text) : undefined,
        });
        if (this.answer.hang) return;
        const body = this.answer.body === undefined ? "" : JSON.stringify(this.answer.body);
        res.writeHead(this.answer.status, { "content-type": "application/json" });
        res.end(body);
      });
    });
  }
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

const ARGS: { [K in ApiOp]: ApiArgs[K] } = {
  register: { nonce: "n", plugin_pid: 7, kind: "k", capabilities: [], display_label: "d" },
  heartbeat: { endpoint_id: "ep 1" },
  unregister: { endpoint_id: "ep 1" },
  transition_state: { endpoint_id: "ep 1", state: "active", reason: "register", ts: "t" },
  undispatched_changed: { type: "undispatched_changed", version: 1, action: "add", undispatched_id: "u" },
  inbound_route_claim: {
    type: "runtime_inbound_route_claim",
    version: 1,
    source_message_id: "m",
    routed_to_endpoint_id: "ep",
    route_kind: "active_endpoint",
    claimed_at: 1,
  },
  inbound_routed: {
    type: "runtime_inbound_routed",
    version: 1,
    source_message_id: "m",
    routed_to_endpoint_id: "ep",
    route_kind: "active_endpoint",
    routed_at: 1,
  },
  processing_state: {
    type: "runtime_processing_state",
    version: 1,
    source_message_id: "m",
    assignment_id: "a",
    state_event_id: "s",
    state_sequence: 1,
    target_ref: {
      kind: "projection_endpoint",
      projection_endpoint_id: "ep",
      background_exchange_mode: "resident_endpoint",
    },
    state: "adapter_accepted",
    occurred_at: 1,
  },
  presence_changed: { type: "network_presence_changed", version: 1, state: "online", ts: 1 },
  closed_endpoint_lookup: { endpoint_id: "ep 1" },
  list_claim_candidates: { endpoint_id: "ep", endpoint_nonce: "n", limit: 32 },
};

const ROUTES: Array<[ApiOp, string, string]> = [
  ["register", "POST", "/v1/runtime-endpoints"],
  ["heartbeat", "POST", "/v1/runtime-endpoints/ep%201/heartbeat"],
  ["unregister", "DELETE", "/v1/runtime-endpoints/ep%201"],
  ["transition_state", "POST", "/v1/runtime-endpoints/ep%201/state"],
  ["undispatched_changed", "POST", "/v1/runtime/undispatched-changed"],
  ["inbound_route_claim", "POST", "/v1/runtime/inbound-route-claim"],
  ["inbound_routed", "POST", "/v1/runtime/inbound-routed"],
  ["processing_state", "POST", "/v1/runtime/processing-state"],
  ["presence_changed", "POST", "/v1/runtime/network-presence-changed"],
  ["closed_endpoint_lookup", "GET", "/v1/runtime-endpoints/ep%201"],
  ["list_claim_candidates", "POST", "/v1/runtime/claim-candidates"],
];

type Verdict = "ok" | "terminal" | "transient";

describe("the platform API client", () => {
  const api = new TinyApi();
  let client: PlatformClient;
  beforeAll(async () => {
    await new Promise<void>((r) => api.server.listen(0, "127.0.0.1", r));
    client = new PlatformClient({ baseUrl: `${api.url}/`, token: "api-token", requestTimeoutMs: 2_000 });
  });
  afterAll(async () => {
    api.server.closeAllConnections();
    await new Promise<void>((r) => api.server.close(() => r()));
  });

  async function verdict(op: ApiOp, status: number, body?: unknown): Promise<Verdict> {
    api.answer = { status, body };
    const r = await client.call(op, ARGS[op]);
    return r.ok ? "ok" : r.terminal ? "terminal" : "transient";
  }

  it.each(ROUTES)("sends %s as %s %s with the bearer token", async (op, method, path) => {
    api.seen = [];
    await verdict(op, 500);
    expect(api.seen).toHaveLength(1);
    expect(api.seen[0]).toMatchObject({ method, url: path, auth: "Bearer api-token" });
  });

  it("sends claim candidates in the §4.2 body shape", async () => {
    api.seen = [];
    await verdict("list_claim_candidates", 200, { items: [] });
    expect(api.seen[0]!.body).toEqual({
      type: "runtime_claim_candidates",
      version: 1,
      endpoint_id: "ep",
      endpoint_nonce: "n",
      limit: 32,
    });
  });

  const TABLE: Array<[ApiOp, number, unknown, Verdict]> = [
    ["register", 201, { endpoint_id: "e1" }, "ok"],
    ["register", 200, {}, "terminal"],
    ["register", 409, { error: "conflict" }, "terminal"],
    ["register", 503, undefined, "transient"],
    ["heartbeat", 200, {}, "ok"],
    ["heartbeat", 404, {}, "terminal"],
    ["unregister", 204, undefined, "ok"],
    ["transition_state", 502, undefined, "transient"],
    ["undispatched_changed", 204, undefined, "ok"],
    ["undispatched_changed", 401, undefined, "terminal"],
    ["undispatched_changed", 422, undefined, "terminal"],
    ["undispatched_changed", 404, undefined, "transient"],
    ["undispatched_changed", 500, undefined, "transient"],
    ["presence_changed", 422, undefined, "terminal"],
    ["presence_changed", 429, undefined, "transient"],
    ["inbound_routed", 401, undefined, "terminal"],
    ["inbound_routed", 403, undefined, "transient"],
    ["inbound_route_claim", 200, { action: "route" }, "ok"],
    ["inbound_route_claim", 200, { action: "skip" }, "ok"],
    ["inbound_route_claim", 200, { action: "maybe" }, "terminal"],
    ["inbound_route_claim", 403, undefined, "terminal"],
    ["inbound_route_claim", 409, undefined, "transient"],
    ["processing_state", 204, undefined, "ok"],
    ["processing_state", 409, { error: "state_sequence_regressed" }, "terminal"],
    ["processing_state", 400, undefined, "transient"],
    ["closed_endpoint_lookup", 404, undefined, "ok"],
    ["closed_endpoint_lookup", 500, undefined, "transient"],
    ["list_claim_candidates", 200, { items: [{ undispatched_id: "u1" }] }, "ok"],
    ["list_claim_candidates", 200, { items: [{ nope: 1 }] }, "transient"],
    ["list_claim_candidates", 403, undefined, "terminal"],
  ];

  it.each(TABLE)("maps %s answered %i %j to %s", async (op, status, body, expected) => {
    expect(await verdict(op, status, body)).toBe(expected);
  });

  it("reads retirement from the endpoint lookup", async () => {
    api.answer = { status: 200, body: { state: "closed" } };
    expect(await client.call("closed_endpoint_lookup", ARGS.closed_endpoint_lookup)).toEqual({
      ok: true,
      retired: true,
    });
    api.answer = { status: 200, body: { state: "active" } };
    expect(await client.call("closed_endpoint_lookup", ARGS.closed_endpoint_lookup)).toEqual({
      ok: true,
      retired: false,
    });
    api.answer = { status: 404 };
    expect(await client.call("closed_endpoint_lookup", ARGS.closed_endpoint_lookup)).toEqual({
      ok: true,
      retired: false,
    });
  });

  it("carries the error code, detail and assignment failure category of a failure", async () => {
    api.answer = {
      status: 409,
      body: { error: "stale", message: "handle is stale", assignment_failure_category: "reply_handle_stale" },
    };
    expect(await client.call("processing_state", ARGS.processing_state)).toEqual({
      ok: false,
      terminal: true,
      status: 409,
      code: "stale",
      detail: "stale: handle is stale",
      assignmentFailureCategory: "reply_handle_stale",
    });
  });

  it("treats a refused connection as transient", async () => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, "127.0.0.1", r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const c = new PlatformClient({ baseUrl: `http://127.0.0.1:${port}` });
    const r = await c.call("heartbeat", ARGS.heartbeat);
    expect(r).toMatchObject({ ok: false, terminal: false, code: "network_error" });
  });

  it("treats a request that outlives its timeout as transient", async () => {
    const silent = new TinyApi();
    silent.answer = { status: 200, hang: true };
    await new Promise<void>((r) => silent.server.listen(0, "127.0.0.1", r));
    const c = new PlatformClient({ baseUrl: silent.url, requestTimeoutMs: 100 });
    const r = await c.call("heartbeat", ARGS.heartbeat);
    expect(r).toMatchObject({ ok: false, terminal: false, code: "timeout" });
    silent.server.closeAllConnections();
    await new Promise<void>((r) => silent.server.close(() => r()));
  });

  it("posts control acks to /v1/runtime/control-ack", async () => {
    api.seen = [];
    api.answer = { status: 204 };
    expect(await client.controlAck({ idempotency_key: "k1", status: "applied" })).toBe(true);
    expect(api.seen[0]).toMatchObject({
      method: "POST",
      url: "/v1/runtime/control-ack",
      body: { idempotency_key: "k1", status: "applied" },
    });
  });
});
