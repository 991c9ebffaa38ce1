import { PROCESSING_STATES } from "../../../src/broker/api.ts";
import type { Input, Output } from "../../../src/broker/types.ts";
import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/**
 * X2 Bad input is refused cleanly (the developers' guide's bad-input rule; PROTOCOL §3.1, §3.2).
 *
 * Theory of operation:
 * 1. `badInput` recognises, from the request alone and the endpoint ids the broker has issued in
 *    this run (any process), requests that no correct broker may accept: an unknown route or method,
 *    a query string on a POST route, a body that is not a JSON object, an `initialize` without a
 *    string version and client kind or with another major version, fields of the wrong type, an
 *    endpoint id the broker never issued, a `/v1/dispatch` without its two ids, and metadata fields
 *    only the broker may set. Wrong owners are I2's.
 * 2. Such a request must be answered 4xx with a non-empty `error` code: a 2xx accepts garbage, a
 *    5xx (or `internal_error`) blames the broker for the client's mistake and invites retries.
 * 3. The step that handles it has no effect: no platform call, storage write, push, connector frame
 *    or control ack caused by it. Whatever the broker already accepted is untouched; the other
 *    checkers (L9, A10, S-series) judge that nothing it holds is lost later.
 */

/** Routes of PROTOCOL §3.2 (`:id` is one path segment). */
const ROUTES: ReadonlyArray<readonly [string, string]> = [
  ["GET", "/health"],
  ["POST", "/v1/initialize"],
  ["POST", "/v1/endpoint/register"],
  ["POST", "/v1/endpoint/:id/heartbeat"],
  ["POST", "/v1/endpoint/:id/reattach"],
  ["DELETE", "/v1/endpoint/:id"],
  ["POST", "/v1/send"],
  ["GET", "/v1/undispatched"],
  ["GET", "/v1/undispatched/presence"],
  ["POST", "/v1/runtime/assignment-claim"],
  ["POST", "/v1/runtime/assignment-reply"],
  ["POST", "/v1/runtime/processing-state"],
  ["POST", "/v1/runtime/session-conversation-history"],
  ["POST", "/v1/runtime/self-settle"],
  ["POST", "/v1/runtime/staged-delivery"],
  ["POST", "/v1/dispatch"],
  ["POST", "/v1/endpoint/:id/task-hint"],
];

/** `ROUTES` with each pattern split into its path segments once (every request is matched). */
const ROUTE_PARTS: ReadonlyArray<readonly [string, string, readonly string[]]> = ROUTES.map(
  ([m, pattern]) => [m, pattern, pattern.split("/")] as const,
);

/** Routes whose handler reads a JSON object body before anything else. */
const OBJECT_BODY = new Set([
  "/v1/initialize",
  "/v1/endpoint/register",
  "/v1/endpoint/:id/reattach",
  "/v1/send",
  "/v1/runtime/assignment-reply",
  "/v1/runtime/processing-state",
  "/v1/dispatch",
]);

const STATES: ReadonlySet<string> = new Set<string>(PROCESSING_STATES);

type Request = Extract<Input, { kind: "ipc_request" }>;

/** The route `method path` takes, or why none: literal routes win over `:id` ones. */
function matchRoute(method: string, path: string): { pattern: string; id?: string } | "no route" | "method" {
  const segs = path.split("/");
  let sawPath = false;
  let best: { pattern: string; id?: string } | undefined;
  for (let r = 0; r < ROUTE_PARTS.length; r++) {
    const [m, pattern, parts] = ROUTE_PARTS[r]!;
    if (parts.length !== segs.length) continue;
    let id: string | undefined;
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      if (parts[i] === ":id") {
        if (segs[i]!.length === 0) ok = false;
        else id = safeDecode(segs[i]!);
      } else if (parts[i] !== segs[i]) ok = false;
    }
    if (!ok) continue;
    sawPath = true;
    if (m !== method) continue;
    if (best === undefined || (best.id !== undefined && id === undefined))
      best = id === undefined ? { pattern } : { pattern, id };
  }
  return best ?? (sawPath ? "method" : "no route");
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isPid = (v: unknown) => typeof v === "number" && Number.isInteger(v) && v > 0;
const present = (v: unknown) => v !== undefined && v !== null;

/** Why a correct broker must refuse `req` from the request alone and the issued ids, or undefined. */
export function badInput(req: Request, issued: ReadonlySet<string>): string | undefined {
  const q = req.path.indexOf("?");
  const path = q >= 0 ? req.path.slice(0, q) : req.path;
  const route = matchRoute(req.method, path);
  if (route === "no route") return `no route ${path}`;
  if (route === "method") return `${req.method} on ${path}`;
  if (req.method === "POST" && q >= 0) return "a query string on a POST route";
  if (route.id !== undefined && req.method === "POST" && !issued.has(route.id))
    return `endpoint ${route.id} was never issued`;
  if (!OBJECT_BODY.has(route.pattern)) return undefined;
  const b = req.body;
  if (!isObject(b)) return "a body that is not a JSON object";
  switch (route.pattern) {
    case "/v1/initialize": {
      const v = b.client_protocol_version;
      if (typeof v !== "string" || v.length === 0) return "client_protocol_version is not a string";
      if (typeof b.client_kind !== "string" || b.client_kind.length === 0) return "no client_kind";
      if (v.split(".")[0] !== "1") return `protocol version ${v}`;
      return undefined;
    }
    case "/v1/endpoint/register":
    case "/v1/endpoint/:id/reattach":
      return isPid(b.plugin_pid) ? undefined : "plugin_pid is not a positive integer";
    case "/v1/dispatch": {
      const ok = (v: unknown) => typeof v === "string" && v.length > 0;
      return ok(b.undispatched_id) && ok(b.target_endpoint_id)
        ? undefined
        : "a dispatch without undispatched_id and target_endpoint_id";
    }
    default:
      break;
  }
  const ep = b.endpoint_id;
  if (typeof ep !== "string" || ep.length === 0) return "endpoint_id is not a string";
  if (!issued.has(ep)) return `endpoint ${ep} was never issued`;
  if (route.pattern === "/v1/send") {
    if (typeof b.content !== "string") return "content is not a string";
    if (present(b.require_live) && typeof b.require_live !== "boolean")
      return "require_live is not a boolean";
    if (present(b.metadata) && !isObject(b.metadata)) return "metadata is not an object";
    const m = isObject(b.metadata) ? b.metadata : {};
    if (m.correlation_id !== undefined) return "metadata.correlation_id set by the client";
    if (m.target_endpoint_id !== undefined) return "metadata.target_endpoint_id set by the client";
    return undefined;
  }
  if (route.pattern === "/v1/runtime/processing-state") {
    if (typeof b.state !== "string" || !STATES.has(b.state)) return `unknown state ${String(b.state)}`;
    const s = b.state_sequence;
    if (s !== undefined && !(typeof s === "number" && Number.isInteger(s) && s >= 0))
      return "state_sequence is not a non-negative integer";
    if (b.retryable !== undefined && typeof b.retryable !== "boolean") return "retryable is not a boolean";
  }
  return undefined;
}

/** Outputs that change the world (an answer or a channel close is not an effect here). */
function isEffect(o: Output): boolean {
  return o.kind !== "ipc_response" && o.kind !== "ipc_close_channel" && o.kind !== "stopped";
}

interface Pending {
  reqId: number;
  why: string;
  event: string;
}

export const X2 = defineChecker({
  id: "X2",
  kind: "safety",
  kinds: ["start", "in", "out", "step_end"],
  statement:
    "A request no correct broker may accept (malformed body, wrong type, unknown route or id, unsupported protocol version) is answered 4xx with an error code and changes nothing.",
  create() {
    const issued = new Set<string>();
    let current: Pending | undefined;
    let waiting = new Map<number, Pending>();
    const registers = new Set<number>();
    return {
      onEvent(ev) {
        switch (ev.k) {
          case "start":
            // Endpoint ids stay "issued" across broker processes: an id some process handed out is
            // one a client may legitimately still name. Open requests died with the process.
            waiting = new Map();
            registers.clear();
            current = undefined;
            return undefined;
          case "step_end":
            current = undefined;
            return undefined;
          case "in": {
            current = undefined;
            const input = ev.input;
            if (input.kind !== "ipc_request") return undefined;
            if (input.method === "POST" && input.path === "/v1/endpoint/register") registers.add(input.id);
            const why = badInput(input, issued);
            if (why === undefined) return undefined;
            current = { reqId: input.id, why, event: describe(ev) };
            waiting.set(input.id, current);
            return undefined;
          }
          case "out": {
            const o = ev.output;
            if (o.kind === "ipc_response") {
              if (registers.delete(o.id) && o.status === 200) {
                const id = (o.body as { endpoint_id?: unknown } | undefined)?.endpoint_id;
                if (typeof id === "string") issued.add(id);
              }
              const w = waiting.get(o.id);
              if (w === undefined) return undefined;
              waiting.delete(o.id);
              const code = (o.body as { error?: unknown } | undefined)?.error;
              if (o.status >= 400 && o.status < 500 && typeof code === "string" && code.length > 0)
                return undefined;
              return {
                message: `request ${o.id} (${w.why}) was answered ${o.status}${typeof code === "string" ? ` ${code}` : " without an error code"}; bad input gets a 4xx with an error code.`,
                involved: [w.event, describe(ev)],
              };
            }
            if (current === undefined || !isEffect(o)) return undefined;
            const cause = o.cause;
            if (cause !== undefined && !(cause.kind === "request" && cause.request === current.reqId))
              return undefined;
            return {
              message: `request ${current.reqId} (${current.why}) had an effect: ${o.kind}${o.kind === "api_call" ? ` ${o.op}` : ""}.`,
              involved: [current.event, describe(ev)],
            };
          }
          default:
            return undefined;
        }
      },
    };
  },
});
