/**
 * IPC request handling primitives: the error envelope, route matching, and the reply handle a
 * route uses to answer (possibly after waiting for the platform).
 *
 * Error envelope (PROTOCOL §3.1): `{error, message, ...extra}`; `extra` never overrides
 * `error`/`message`.
 */

import type { Env } from "../env.ts";
import type { HttpMethod } from "../types.ts";

export class BrokerHttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface IpcRequest {
  id: number;
  method: HttpMethod;
  /** Path without query string. */
  path: string;
  query: URLSearchParams;
  /** `true` when the raw URL carried a query string. */
  hasQuery: boolean;
  pidHeader?: string;
  body: unknown;
  /** Path parameters captured by the route pattern (e.g. `:id`). */
  params: Record<string, string>;
}

/** Answers one request exactly once; later calls are ignored (logged). */
export class Reply {
  private done = false;
  constructor(
    private readonly env: Env,
    readonly requestId: number,
  ) {}

  get answered(): boolean {
    return this.done;
  }

  ok(body: unknown, status = 200): void {
    this.send(status, body);
  }

  error(err: BrokerHttpError): void {
    this.send(err.status, { ...err.extra, error: err.code, message: err.message });
  }

  fail(status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
    this.error(new BrokerHttpError(status, code, message, extra));
  }

  private send(status: number, body: unknown): void {
    if (this.done) {
      this.env.log("warn", "ipc_double_reply", { id: this.requestId, status });
      return;
    }
    this.done = true;
    this.env.emit({ kind: "ipc_response", id: this.requestId, status, body });
  }
}

export type RouteHandler = (req: IpcRequest, reply: Reply) => void;

export interface Route {
  method: HttpMethod;
  /** Path pattern with `:name` segments, e.g. `/v1/endpoint/:id/heartbeat`. */
  pattern: string;
  /** POST routes refuse a query string (404) like the reference; GET routes may take one. */
  allowQuery?: boolean;
  handler: RouteHandler;
}

interface Compiled {
  route: Route;
  parts: string[];
}

export class Router {
  private routes: Compiled[] = [];

  add(...routes: Route[]): void {
    for (const route of routes) this.routes.push({ route, parts: route.pattern.split("/") });
  }

  /** Find a route; `undefined` ⇒ 404. `methodMismatch` ⇒ 405. */
  match(
    method: HttpMethod,
    path: string,
  ): { route: Route; params: Record<string, string> } | "method" | undefined {
    const segs = path.split("/");
    let sawPath = false;
    for (const c of this.routes) {
      if (c.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = c.parts[i]!;
        const s = segs[i]!;
        if (p.startsWith(":")) {
          if (s.length === 0) {
            ok = false;
            break;
          }
          params[p.slice(1)] = safeDecode(s);
        } else if (p !== s) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      sawPath = true;
      if (c.route.method === method) return { route: c.route, params };
    }
    return sawPath ? "method" : undefined;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// ---- small body readers used by route handlers: they throw BrokerHttpError(400) on bad types ----

export function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new BrokerHttpError(400, "bad_request", "request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}

export function optString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new BrokerHttpError(400, "bad_request", `${key} must be a string`);
  return v;
}

export function reqString(o: Record<string, unknown>, key: string, code = "bad_request"): string {
  const v = optString(o, key);
  if (v === undefined || v.length === 0) throw new BrokerHttpError(400, code, `${key} is required`);
  return v;
}

export function optPid(o: Record<string, unknown>, key = "plugin_pid"): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new BrokerHttpError(400, "plugin_pid_invalid", `${key} must be a positive integer`);
  }
  return v;
}

export function optRecord(o: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v))
    throw new BrokerHttpError(400, "bad_request", `${key} must be an object`);
  return v as Record<string, unknown>;
}
