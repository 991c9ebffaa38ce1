/**
 * IPC request dispatch: raw URL → route, the 404/405 rules of §3.1, and the guarantee that a route
 * never throws out of the core. A `BrokerHttpError` becomes its status and code; anything else
 * becomes 500 `internal_error` (logged `ipc_route_error`): a platform failure a route reports that
 * way, or a failed `invariant`, which also counts as the core's internal error.
 *
 * Requests that wait for the platform stay open; `abandonAll` answers every one still open with
 * 503 `broker_shutting_down` so each `ipc_request` gets exactly one `ipc_response` (types.ts rule 5).
 */

import type { Env } from "../env.ts";
import type { HttpMethod } from "../types.ts";
import { BrokerInvariantError } from "../invariant.ts";
import { BrokerHttpError, type IpcRequest, Reply, type Router } from "./http.ts";

export interface RawIpcRequest {
  id: number;
  method: HttpMethod;
  path: string;
  pidHeader?: string;
  body: unknown;
}

export class IpcDispatcher {
  private readonly open = new Map<number, Reply>();

  constructor(
    private readonly env: Env,
    private readonly router: Router,
  ) {}

  get openRequests(): number {
    this.prune();
    return this.open.size;
  }

  dispatch(raw: RawIpcRequest): void {
    this.prune();
    const reply = new Reply(this.env, raw.id);
    const q = raw.path.indexOf("?");
    const path = q >= 0 ? raw.path.slice(0, q) : raw.path;
    const hasQuery = q >= 0;
    const match = this.router.match(raw.method, path);
    if (match === undefined) {
      reply.fail(404, "not_found", `no route for ${path}`, { path });
      return;
    }
    if (match === "method") {
      reply.fail(405, "method_not_allowed", `${raw.method} is not allowed on ${path}`, { path });
      return;
    }
    if (hasQuery && !match.route.allowQuery) {
      reply.fail(404, "not_found", `no route for ${raw.path}`, { path: raw.path });
      return;
    }
    const req: IpcRequest = {
      id: raw.id,
      method: raw.method,
      path,
      query: new URLSearchParams(hasQuery ? raw.path.slice(q + 1) : ""),
      hasQuery,
      body: raw.body,
      params: match.params,
    };
    if (raw.pidHeader !== undefined) req.pidHeader = raw.pidHeader;
    guardReply(this.env, reply, () => match.route.handler(req, reply));
    if (!reply.answered) this.open.set(raw.id, reply);
  }

  abandonAll(): void {
    for (const reply of this.open.values()) {
      if (!reply.answered)
        reply.fail(503, "broker_shutting_down", "the broker is shutting down", { retryable: true });
    }
    this.open.clear();
  }

  private prune(): void {
    for (const [id, r] of this.open) if (r.answered) this.open.delete(id);
  }
}

/** Run route code (also continuations) so that a throw becomes an HTTP answer, never an escape. */
export function guardReply(env: Env, reply: Reply, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (reply.answered) {
      env.log("error", "ipc_route_error", { id: reply.requestId, message: String(err) });
      if (err instanceof BrokerInvariantError) env.internalError(err, "ipc_route_after_reply");
      return;
    }
    if (err instanceof BrokerHttpError) {
      env.log("info", "ipc_route_rejected", { id: reply.requestId, status: err.status, code: err.code });
      reply.error(err);
      return;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    env.log("error", "ipc_route_error", { id: reply.requestId, message: e.message });
    reply.fail(500, "internal_error", e.message);
    if (e instanceof BrokerInvariantError) env.internalError(e, "ipc_route");
  }
}

/** Wrap a continuation of a route so its throws are answered too. */
export function replyCont<T>(env: Env, reply: Reply, fn: (v: T) => void): (v: T) => void {
  return (v: T) => guardReply(env, reply, () => fn(v));
}
