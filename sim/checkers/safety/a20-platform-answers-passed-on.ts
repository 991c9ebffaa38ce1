import { defineChecker } from "../checker.ts";
import { canonical, describe } from "../util.ts";

/** Request paths whose platform refusal the broker hands on, and the code it answers with. */
const REFUSAL_CODE: Readonly<Record<string, string>> = {
  "/v1/runtime/assignment-reply": "runtime_reply_request_rejected",
  "/v1/runtime/processing-state": "runtime_processing_state_rejected",
};

type Expectation =
  | { what: "register"; naming: unknown }
  | { what: "refusal"; status: number; code: string; category: unknown; state: string };

/**
 * A20 Platform answers reach the plugin as the protocol says (PROTOCOL §3.2, §5.6, §5.7; the
 * published daemon does the same). A registration whose platform `register` succeeded and that is
 * answered 200 carries the platform's `session_naming` block unchanged, and none when the platform
 * gave none. A reply request whose `reply_requested` post the platform refused is answered 409
 * (terminal refusal) or 503 (transient) `runtime_reply_request_rejected`; an adapter report the
 * platform refused, 409 or 503 `runtime_processing_state_rejected`; either carries the refusal's
 * `assignment_failure_category`, and none when it had none. The platform call is matched to the
 * request that caused it (its cause, or the request in whose step it was made).
 */
export const A20 = defineChecker({
  id: "A20",
  kind: "safety",
  kinds: ["start", "in:api_result", "out:api_call", "out:ipc_response"],
  statement:
    "A register answer's session_naming reaches the plugin unchanged (and only then), and a platform refusal of reply_requested or an adapter report answers the request 409/503 with the refusal's assignment_failure_category.",
  create() {
    /** api call id → the request that caused it (register and processing-state posts only). */
    let requestOf = new Map<number, { request: number; path: string }>();
    let expected = new Map<number, Expectation>();
    /** Requests whose first such call is mapped: later posts of the same cause are not the report. */
    let mapped = new Set<number>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          requestOf = new Map();
          expected = new Map();
          mapped = new Set();
          return undefined;
        }
        if (ev.k === "out" && ev.output.kind === "api_call") {
          const o = ev.output;
          if (o.op !== "register" && o.op !== "processing_state") return undefined;
          const c = o.cause;
          const step = v.stepInput;
          const req =
            c?.kind === "request"
              ? { request: c.request, path: c.path }
              : c === undefined && step?.kind === "ipc_request"
                ? { request: step.id, path: step.path.split("?")[0]! }
                : undefined;
          if (req !== undefined && !mapped.has(req.request)) {
            mapped.add(req.request);
            requestOf.set(o.id, req);
          }
          return undefined;
        }
        if (ev.k === "in" && ev.input.kind === "api_result") {
          const req = requestOf.get(ev.input.id);
          requestOf.delete(ev.input.id);
          const call = v.lastApiCall;
          if (req === undefined || call === undefined) return undefined;
          const r = ev.input.result as Record<string, unknown>;
          if (call.op === "register") {
            if (r.ok === true && req.path === "/v1/endpoint/register")
              expected.set(req.request, { what: "register", naming: r.session_naming });
            return undefined;
          }
          const code = REFUSAL_CODE[req.path];
          const state = String((call.args as { state?: unknown }).state);
          if (r.ok !== false || code === undefined) return undefined;
          if (req.path === "/v1/runtime/assignment-reply" && state !== "reply_requested") return undefined;
          expected.set(req.request, {
            what: "refusal",
            status: r.terminal === true ? 409 : 503,
            code,
            category: r.assignmentFailureCategory,
            state,
          });
          return undefined;
        }
        if (ev.k !== "out" || ev.output.kind !== "ipc_response") return undefined;
        const o = ev.output;
        const e = expected.get(o.id);
        if (e === undefined) return undefined;
        expected.delete(o.id);
        const body = (o.body ?? {}) as Record<string, unknown>;
        if (e.what === "register") {
          if (o.status !== 200 || canonical(body.session_naming) === canonical(e.naming)) return undefined;
          return {
            message: `registration ${o.id} was answered with session_naming ${canonical(body.session_naming)}, but the platform's register answer had ${canonical(e.naming)}.`,
            involved: [describe(ev)],
          };
        }
        if (o.status === e.status && body.error === e.code && body.assignment_failure_category === e.category)
          return undefined;
        return {
          message: `the platform refused the ${e.state} post of request ${o.id} (${e.status === 409 ? "terminal" : "transient"}${e.category === undefined ? "" : `, ${String(e.category)}`}), but the request was answered ${o.status} ${String(body.error)}${body.assignment_failure_category === undefined ? "" : ` (${String(body.assignment_failure_category)})`}; expected ${e.status} ${e.code}${e.category === undefined ? " without a category" : ` with ${String(e.category)}`}.`,
          involved: [describe(ev)],
        };
      },
    };
  },
});
