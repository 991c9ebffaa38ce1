/**
 * The simulator's platform-API model (sim/actors/platform-api.ts) served over real HTTP on
 * loopback: the routes of PROTOCOL §4.2, the SSE control-event stream of §1.12 and control acks.
 *
 * Translation rules (the reverse of src/daemon/platform-client.ts):
 * 1. Each route parses its JSON body into the op's args and calls `model.handle(op, args, now)`.
 * 2. Ok ⇒ 204 for emit ops, 200 + the body (minus `ok`) otherwise. Failure ⇒ the model's status
 *    (500 when it has none) with `{error: code, message: detail, assignment_failure_category?}`.
 * 3. Control events are numbered; a subscriber sending `Last-Event-ID` gets every later event
 *    replayed first, so a reconnecting daemon misses nothing.
 * 4. A tiny dispatcher (`autoDispatch`, on by default) assigns each new undispatched row to the
 *    hinted endpoint or the first live one, by pushing `dispatch_undispatched` on the stream.
 */

import { registerArgsFromWire } from "../../src/daemon/register-wire.ts";
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ApiOp, ApiResult } from "../../src/broker/api.ts";
import { PlatformApi, type PlatformRow } from "../actors/platform-api.ts";

export interface PlatformStubOptions {
  /** Port to bind on 127.0.0.1. Default 0 (ephemeral). */
  port?: number;
  /** Bearer token the API requires. Default: none required. */
  token?: string;
  /** Assign new undispatched rows automatically. Default true. */
  autoDispatch?: boolean;
  /** Agent id answered by `GET /v1/whoami`. Default `agent-stub`. */
  agentId?: string;
  /**
   * Called first for every request (seeded faults, sim/stub/faults/); returning true means it
   * answered (or deliberately never answers) the request itself. Default: none.
   */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Sees every request with its parsed body (tests). */
  onRequest?: (r: StubRequest) => void;
}

export interface StubRequest {
  method: string;
  path: string;
  query: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

interface Route {
  method: string;
  pattern: RegExp;
  op: ApiOp;
  args: (m: RegExpMatchArray, body: Record<string, unknown>) => unknown;
  noContent?: boolean;
}

const ID = "([^/?]+)";
const ROUTES: Route[] = [
  {
    method: "POST",
    pattern: /^\/v1\/runtime-endpoints$/,
    op: "register",
    args: (_m, b) => registerArgsFromWire(b),
  },
  {
    method: "POST",
    pattern: new RegExp(`^/v1/runtime-endpoints/${ID}/heartbeat$`),
    op: "heartbeat",
    args: (m) => ({ endpoint_id: decodeURIComponent(m[1]!) }),
  },
  {
    method: "POST",
    pattern: new RegExp(`^/v1/runtime-endpoints/${ID}/state$`),
    op: "transition_state",
    args: (m, b) => ({ ...b, endpoint_id: decodeURIComponent(m[1]!) }),
  },
  {
    method: "DELETE",
    pattern: new RegExp(`^/v1/runtime-endpoints/${ID}$`),
    op: "unregister",
    args: (m) => ({ endpoint_id: decodeURIComponent(m[1]!) }),
  },
  {
    method: "GET",
    pattern: new RegExp(`^/v1/runtime-endpoints/${ID}$`),
    op: "closed_endpoint_lookup",
    args: (m) => ({ endpoint_id: decodeURIComponent(m[1]!) }),
  },
  {
    method: "POST",
    pattern: /^\/v1\/runtime\/undispatched-changed$/,
    op: "undispatched_changed",
    args: (_m, b) => b,
    noContent: true,
  },
  {
    method: "POST",
    pattern: /^\/v1\/runtime\/network-presence-changed$/,
    op: "presence_changed",
    args: (_m, b) => b,
    noContent: true,
  },
  {
    method: "POST",
    pattern: /^\/v1\/runtime\/inbound-routed$/,
    op: "inbound_routed",
    args: (_m, b) => b,
    noContent: true,
  },
  {
    method: "POST",
    pattern: /^\/v1\/runtime\/inbound-route-claim$/,
    op: "inbound_route_claim",
    args: (_m, b) => b,
  },
  {
    method: "POST",
    pattern: /^\/v1\/runtime\/processing-state$/,
    op: "processing_state",
    args: (_m, b) => b,
    noContent: true,
  },
  {
    method: "POST",
    pattern: /^\/v1\/runtime\/claim-candidates$/,
    op: "list_claim_candidates",
    args: (_m, b) => b,
  },
];

export interface ControlAckRecord {
  idempotency_key: string;
  status: string;
  detail?: string;
}

/** How long the stub keeps an idle keep-alive connection open. */
const STUB_KEEP_ALIVE_TIMEOUT_MS = 60_000;

export class PlatformStub {
  readonly model = new PlatformApi();
  readonly controlAcks: ControlAckRecord[] = [];
  /** Every control event pushed, in order; its index + 1 is its SSE id. */
  readonly controlEvents: unknown[] = [];
  private readonly server: Server;
  private readonly subscribers = new Set<ServerResponse>();
  private assignmentSeq = 0;

  constructor(private readonly opts: PlatformStubOptions = {}) {
    this.server = createServer((req, res) => {
      this.onRequest(req, res).catch((err: unknown) => {
        if (!res.headersSent) json(res, 500, { error: "internal_error", message: String(err) });
      });
    });
    // Idle keep-alive connections stay open as long as behind a typical load balancer (60 s), not
    // node's 5 s: a client reusing a connection the server is closing gets "socket hang up", and
    // on a busy loop that race is lost often enough to fail route claims by the hundred.
    this.server.keepAliveTimeout = STUB_KEEP_ALIVE_TIMEOUT_MS;
    this.server.headersTimeout = STUB_KEEP_ALIVE_TIMEOUT_MS + 1_000;
    if (opts.autoDispatch ?? true) {
      this.model.listener = {
        onRowAdded: (row) => this.autoDispatch(row),
        onProcessingState: () => {},
      };
    }
  }

  listen(): Promise<string> {
    return new Promise((resolve) => {
      this.server.listen(this.opts.port ?? 0, "127.0.0.1", () => resolve(this.url));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Push a control event to every subscriber (and keep it for Last-Event-ID replays). */
  pushControlEvent(event: unknown): void {
    this.controlEvents.push(event);
    const id = this.controlEvents.length;
    for (const res of this.subscribers) writeEvent(res, id, event);
  }

  /** Assign `row` to `endpointId` through a `dispatch_undispatched` control event. */
  dispatch(undispatchedId: string, endpointId: string): string | undefined {
    const row = this.model.rows.get(undispatchedId);
    const ep = this.model.endpoints.get(endpointId);
    if (!row || !ep || ep.retired) return undefined;
    const assignmentId = `asg-${++this.assignmentSeq}`;
    const targetRef = {
      kind: "projection_endpoint" as const,
      projection_endpoint_id: endpointId,
      background_exchange_mode: (ep.backgroundExchangeMode === "adapter_managed_turn"
        ? "adapter_managed_turn"
        : "resident_endpoint") as "resident_endpoint" | "adapter_managed_turn",
      ...(ep.backgroundExchangeMode === "adapter_managed_turn" && ep.runtimeSessionId
        ? { runtime_session_id: ep.runtimeSessionId }
        : {}),
    };
    const token = randomUUID();
    this.model.issueAssignment({
      assignmentId,
      undispatchedId,
      sourceMessageId: row.sourceMessageId ?? undispatchedId,
      targetRef,
      token,
    });
    row.status = "assigned";
    this.pushControlEvent({
      type: "dispatch_undispatched",
      version: 1,
      idempotency_key: assignmentId,
      emitted_at: Date.now(),
      undispatched_id: undispatchedId,
      source_message_id: row.sourceMessageId ?? undispatchedId,
      target_ref: targetRef,
      delivery_intent: "external_handoff",
      broker_projection_token: token,
    });
    return assignmentId;
  }

  async close(): Promise<void> {
    for (const res of this.subscribers) res.end();
    this.subscribers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private autoDispatch(row: PlatformRow): void {
    const live = this.model.liveEndpoints();
    const target = live.find((e) => e.endpointId === row.hint) ?? live[0];
    // Dispatch after the undispatched_changed answer, as the real platform does asynchronously.
    if (target) setImmediate(() => this.dispatch(row.undispatchedId, target.endpointId));
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://stub");
    if (this.opts.intercept?.(req, res)) return;
    if (this.opts.token !== undefined && req.headers.authorization !== `Bearer ${this.opts.token}`) {
      json(res, 401, { error: "unauthorized", message: "bad token" });
      return;
    }
    const text = await readBody(req);
    let body: Record<string, unknown> = {};
    if (text.length > 0) {
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        json(res, 400, { error: "invalid_json", message: "body is not JSON" });
        return;
      }
    }
    this.opts.onRequest?.({
      method: req.method ?? "GET",
      path: url.pathname,
      query: url.search,
      authorization: req.headers.authorization,
      body,
    });
    if (req.method === "GET" && url.pathname === "/v1/runtime/control-events") {
      this.subscribe(req, res);
      return;
    }
    if (req.method === "POST" && url.pathname === "/v1/runtime/control-ack") {
      this.controlAcks.push(body as unknown as ControlAckRecord);
      res.writeHead(204).end();
      return;
    }
    if (req.method === "GET" && url.pathname === "/v1/whoami") {
      json(res, 200, { subjectType: "agent-runtime", subjectId: this.opts.agentId ?? "agent-stub" });
      return;
    }
    for (const r of ROUTES) {
      const m = r.method === req.method ? url.pathname.match(r.pattern) : null;
      if (!m) continue;
      const result = this.model.handle(r.op, r.args(m, body) as never, Date.now()) as ApiResult<ApiOp>;
      if (result.ok) {
        const { ok: _ok, ...rest } = result as { ok: true } & Record<string, unknown>;
        if (r.noContent) res.writeHead(204).end();
        else json(res, 200, rest);
      } else {
        json(res, result.status ?? 500, {
          error: result.code ?? "platform_error",
          message: result.detail ?? "",
          ...(result.assignmentFailureCategory
            ? { assignment_failure_category: result.assignmentFailureCategory }
            : {}),
        });
      }
      return;
    }
    json(res, 404, { error: "not_found", message: `${req.method} ${url.pathname}` });
  }

  private subscribe(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    res.write(": subscribed\n\n");
    const last = Number(req.headers["last-event-id"] ?? "0");
    const from = Number.isInteger(last) && last > 0 ? last : 0;
    for (let i = from; i < this.controlEvents.length; i++) writeEvent(res, i + 1, this.controlEvents[i]);
    this.subscribers.add(res);
    res.on("close", () => this.subscribers.delete(res));
  }
}

function writeEvent(res: ServerResponse, id: number, event: unknown): void {
  res.write(`id: ${id}\ndata: ${JSON.stringify(event)}\n\n`);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
