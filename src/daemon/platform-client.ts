/**
 * The platform API port over HTTP (PROTOCOL §4.2): one function per core `api_call` op, each a
 * request plus a status mapping to `{ok:true,…}` / terminal failure / transient failure.
 *
 * Rules:
 * 1. Never throws and never rejects: every path ends in an `ApiResult`, because every `api_call`
 *    must be answered by exactly one `api_result`.
 * 2. Network errors and timeouts (`requestTimeoutMs`, default 15 s) are transient.
 * 3. Ops the reference models as "resolve or throw" (register, heartbeat, unregister, transition,
 *    claim candidates) map 2xx ⇒ ok, 4xx ⇒ terminal, anything else ⇒ transient.
 * 4. Emit ops use the table's explicit terminal statuses; every other non-2xx is transient.
 * 5. `closed_endpoint_lookup` has no route in the reference table. We chose
 *    `GET /v1/runtime-endpoints/:id`: 404 ⇒ not retired (the platform never knew it, so it cannot
 *    be a closed session), 410 ⇒ retired, 2xx ⇒ retired when the body says `retired: true` or
 *    `state: "closed"`; other statuses map like rule 3.
 * 6. A failure's `detail` is `"<error>: <message>"` from the JSON error body when there is one.
 */

import { registerWireBody } from "./register-wire.ts";
import type {
  ApiArgs,
  ApiOkBodies,
  ApiOp,
  ApiResult,
  AssignmentFailureCategory,
  ClaimCandidate,
  Failure,
} from "../broker/api.ts";
import { KeepAliveTransport, type Transport } from "./http-transport.ts";
import { type IoTimeout, ioTimeoutSignal } from "./io-deadline.ts";
import type { Logger } from "./logger.ts";

export const DEFAULT_API_REQUEST_TIMEOUT_MS = 15_000;

export interface PlatformClientOptions {
  /** Base URL of the platform, without `/v1` (e.g. `http://127.0.0.1:8080`). */
  baseUrl: string;
  /** Bearer token sent as `Authorization`. Default none (no header). */
  token?: string;
  /** Per-request timeout. Default 15 000 ms (PROTOCOL §6). */
  requestTimeoutMs?: number;
  logger?: Logger;
  /** `fetch`-shaped transport. Default: `node:http` with a keep-alive agent (http-transport.ts). */
  fetch?: Transport;
}

interface HttpAnswer {
  status: number;
  body: unknown;
}

type Mapping<K extends ApiOp> = {
  method: "GET" | "POST" | "DELETE";
  path: (args: ApiArgs[K]) => string;
  body?: (args: ApiArgs[K]) => unknown;
  map: (a: HttpAnswer) => ApiResult<K>;
};

const CATEGORIES: ReadonlySet<string> = new Set<AssignmentFailureCategory>([
  "assignment_in_progress",
  "target_unavailable_before_acceptance",
  "acceptance_rejected",
  "processing_failed_or_expired",
  "reply_handle_stale",
]);

const seg = (s: string) => encodeURIComponent(s);

const MAPPINGS: { [K in ApiOp]: Mapping<K> } = {
  register: {
    method: "POST",
    path: () => "/v1/runtime-endpoints",
    body: (a) => registerWireBody(a),
    map: (a) => {
      if (!is2xx(a.status)) return resolveOrThrow(a);
      const b = asObject(a.body);
      if (typeof b.endpoint_id !== "string" || b.endpoint_id.length === 0) {
        return failure(a, true, "invalid_response: register answer without endpoint_id");
      }
      const out: ApiOkBodies["register"] = { endpoint_id: b.endpoint_id };
      if (typeof b.heartbeat_after_seconds === "number")
        out.heartbeat_after_seconds = b.heartbeat_after_seconds;
      if (b.session_naming !== undefined) out.session_naming = b.session_naming;
      return { ok: true, ...out };
    },
  },
  heartbeat: {
    method: "POST",
    path: (a) => `/v1/runtime-endpoints/${seg(a.endpoint_id)}/heartbeat`,
    body: () => ({}),
    map: (a) => (is2xx(a.status) ? okEmpty() : resolveOrThrow(a)),
  },
  unregister: {
    method: "DELETE",
    path: (a) => `/v1/runtime-endpoints/${seg(a.endpoint_id)}`,
    map: (a) => (is2xx(a.status) ? okEmpty() : resolveOrThrow(a)),
  },
  transition_state: {
    method: "POST",
    path: (a) => `/v1/runtime-endpoints/${seg(a.endpoint_id)}/state`,
    body: (a) => ({ state: a.state, reason: a.reason, ts: a.ts }),
    map: (a) => (is2xx(a.status) ? okEmpty() : resolveOrThrow(a)),
  },
  undispatched_changed: emit("/v1/runtime/undispatched-changed", [401, 422]),
  presence_changed: emit("/v1/runtime/network-presence-changed", [401, 422]),
  inbound_routed: emit("/v1/runtime/inbound-routed", [401, 422]),
  processing_state: emit("/v1/runtime/processing-state", [401, 403, 409, 422]),
  inbound_route_claim: {
    method: "POST",
    path: () => "/v1/runtime/inbound-route-claim",
    body: (a) => a,
    map: (a) => {
      if (is2xx(a.status)) {
        const action = asObject(a.body).action;
        if (action === "route" || action === "skip") return { ok: true, action };
        return failure(a, true, "invalid_response: route claim answer without a valid action");
      }
      return failure(a, [401, 403, 422].includes(a.status));
    },
  },
  closed_endpoint_lookup: {
    method: "GET",
    path: (a) => `/v1/runtime-endpoints/${seg(a.endpoint_id)}`,
    map: (a) => {
      if (a.status === 404) return { ok: true, retired: false };
      if (a.status === 410) return { ok: true, retired: true };
      if (!is2xx(a.status)) return resolveOrThrow(a);
      const b = asObject(a.body);
      return { ok: true, retired: b.retired === true || b.state === "closed" };
    },
  },
  list_claim_candidates: {
    method: "POST",
    path: () => "/v1/runtime/claim-candidates",
    body: (a) => ({
      type: "runtime_claim_candidates",
      version: 1,
      endpoint_id: a.endpoint_id,
      endpoint_nonce: a.endpoint_nonce,
      limit: a.limit,
    }),
    map: (a) => {
      if (!is2xx(a.status)) return resolveOrThrow(a);
      const items = asObject(a.body).items;
      if (!Array.isArray(items) || !items.every(isClaimCandidate)) {
        return {
          ok: false,
          terminal: false,
          status: 502,
          code: "invalid_response",
          detail: "invalid claim candidates",
        };
      }
      return { ok: true, items: items as ClaimCandidate[] };
    },
  },
};

function emit<K extends ApiOp>(path: string, terminal: number[]): Mapping<K> {
  return {
    method: "POST",
    path: () => path,
    body: (a) => a,
    map: (a) => (is2xx(a.status) ? okEmpty<K>() : failure(a, terminal.includes(a.status))),
  };
}

export class PlatformClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly doFetch: Transport;
  private readonly transport: KeepAliveTransport | undefined;
  /**
   * The signals of the requests in flight, aborted when the daemon goes away. One controller per
   * request, not `AbortSignal.any` with a daemon-long signal: node keeps a WeakRef per dependent
   * signal in the long-lived one, two per message, and never drops them (about 60 KB per thousand
   * messages, without bound).
   */
  private readonly live = new Set<IoTimeout>();
  private closed = false;
  /** Requests in flight (port calls and control acks), so a graceful close can let them land. */
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly opts: PlatformClientOptions) {
    this.base = opts.baseUrl.replace(/\/+$/, "");
    this.timeoutMs = opts.requestTimeoutMs ?? DEFAULT_API_REQUEST_TIMEOUT_MS;
    this.transport = opts.fetch ? undefined : new KeepAliveTransport();
    this.doFetch = opts.fetch ?? this.transport!.fetch;
  }

  /** Perform one port operation. Always resolves. */
  call<K extends ApiOp>(op: K, args: ApiArgs[K]): Promise<ApiResult<K>> {
    return this.track(this.callOnce(op, args));
  }

  /**
   * Resolves once every request in flight has settled, or after `timeoutMs`, whichever is first
   * (true ⇔ all settled). A graceful close waits here before `abortAll`, so the unregisters the core
   * emits at shutdown reach the platform instead of being cut off.
   */
  async settle(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<false>((r) => {
      timer = setTimeout(() => r(false), Math.max(0, timeoutMs));
    });
    try {
      while (this.inFlight.size > 0) {
        const done = await Promise.race([Promise.allSettled([...this.inFlight]).then(() => true), deadline]);
        if (!done) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  private async callOnce<K extends ApiOp>(op: K, args: ApiArgs[K]): Promise<ApiResult<K>> {
    const m = MAPPINGS[op] as Mapping<K> | undefined;
    if (!m) return { ok: false, terminal: true, code: "unknown_op", detail: `unknown api op ${String(op)}` };
    let answer: HttpAnswer;
    try {
      answer = await this.request(m.method, m.path(args), m.body?.(args));
    } catch (err) {
      const e = err as Error;
      const timedOut = e.name === "TimeoutError" || e.name === "AbortError";
      this.opts.logger?.warn("platform_request_failed", { op, error: e.message, timedOut });
      return { ok: false, terminal: false, code: timedOut ? "timeout" : "network_error", detail: e.message };
    }
    try {
      const result = m.map(answer);
      if (!result.ok)
        this.opts.logger?.debug("platform_request_not_ok", {
          op,
          status: answer.status,
          terminal: result.terminal,
        });
      return result;
    } catch (err) {
      return failure(answer, false, `invalid_response: ${(err as Error).message}`) as ApiResult<K>;
    }
  }

  /** `POST /v1/runtime/control-ack`; failures are only logged (PROTOCOL §4.2). */
  controlAck(ack: { idempotency_key: string; status: string; detail?: string }): Promise<boolean> {
    return this.track(this.controlAckOnce(ack));
  }

  private async controlAckOnce(ack: {
    idempotency_key: string;
    status: string;
    detail?: string;
  }): Promise<boolean> {
    try {
      const a = await this.request("POST", "/v1/runtime/control-ack", ack);
      if (!is2xx(a.status))
        this.opts.logger?.warn("control_ack_rejected", { status: a.status, key: ack.idempotency_key });
      return is2xx(a.status);
    } catch (err) {
      this.opts.logger?.warn("control_ack_failed", {
        error: (err as Error).message,
        key: ack.idempotency_key,
      });
      return false;
    }
  }

  /** Abort every request in flight (they resolve as transient failures) and refuse new ones. */
  abortAll(): void {
    this.closed = true;
    for (const t of this.live) t.abort();
    this.transport?.destroy();
  }

  private async request(method: string, path: string, body: unknown): Promise<HttpAnswer> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    // The timeout is judged after the answers that already arrived (io-deadline.ts).
    const timeout = ioTimeoutSignal(this.timeoutMs);
    if (this.closed) timeout.abort();
    this.live.add(timeout);
    let text: string;
    let status: number;
    try {
      const res = await this.doFetch(`${this.base}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: timeout.signal,
      });
      status = res.status;
      text = await res.text();
    } finally {
      timeout.done();
      this.live.delete(timeout);
    }
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status, body: parsed };
  }
}

/**
 * `{ok:true}` for ops whose success body is empty. The cast is needed because `K` is generic here
 * (for `register` the same type would demand an `endpoint_id`); callers only use it for empty ops.
 */
function okEmpty<K extends ApiOp>(): ApiResult<K> {
  return { ok: true } as ApiResult<K>;
}

function is2xx(status: number): boolean {
  return status >= 200 && status < 300;
}

function asObject(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function resolveOrThrow(a: HttpAnswer): Failure {
  return failure(a, a.status >= 400 && a.status < 500);
}

function failure(a: HttpAnswer, terminal: boolean, detailOverride?: string): Failure {
  const b = asObject(a.body);
  const code = typeof b.error === "string" ? b.error : undefined;
  const message = typeof b.message === "string" ? b.message : undefined;
  const f: Failure = { ok: false, terminal, status: a.status };
  if (code !== undefined) f.code = code;
  const detail = detailOverride ?? (code !== undefined ? `${code}: ${message ?? ""}` : `HTTP ${a.status}`);
  f.detail = detail;
  const cat = b.assignment_failure_category;
  if (typeof cat === "string" && CATEGORIES.has(cat))
    f.assignmentFailureCategory = cat as AssignmentFailureCategory;
  return f;
}

function isClaimCandidate(v: unknown): boolean {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as { undispatched_id?: unknown }).undispatched_id === "string"
  );
}
