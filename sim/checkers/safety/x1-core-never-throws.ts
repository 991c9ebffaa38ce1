import { defineChecker } from "../checker.ts";

/**
 * X1: the core never lets an error escape `handle` or `advance` (it counts them instead), and an
 * exception a guard contains is still an internal error. An IPC route guard answers a route that
 * threw with 500 `internal_error`; that answer is legal only where a route reports a failed
 * platform call that way, i.e. in the step that takes in the failed `api_result`. Any other 500
 * `internal_error` answer is an exception the guard turned into an HTTP error: an internal error.
 * That step rule is the core's (a continuation runs in the step of the answer it waited for), so
 * the answers are judged only on a target that exposes causes; on another, the count alone.
 */
export const X1 = defineChecker({
  id: "X1",
  kind: "safety",
  kinds: ["start", "in", "advance", "out", "step_end"],
  statement:
    "The broker core never throws: its internal error count stays zero, and it answers an IPC request 500 internal_error only to report a failed platform call.",
  create() {
    let seen = 0;
    /** Whether the current step takes in a failed platform call's answer. */
    let platformFailed = false;
    return {
      onEvent(ev) {
        switch (ev.k) {
          case "start":
            seen = 0;
            platformFailed = false;
            return undefined;
          case "in":
            platformFailed = ev.input.kind === "api_result" && !ev.input.result.ok;
            return undefined;
          case "advance":
            platformFailed = false;
            return undefined;
          case "out": {
            const o = ev.output;
            if (o.kind !== "ipc_response" || o.status !== 500 || platformFailed || o.cause === undefined)
              return undefined;
            const body = o.body as { error?: unknown; message?: unknown } | null;
            if (body?.error !== "internal_error") return undefined;
            return {
              message: `IPC request ${o.id} was answered 500 internal_error outside a failed platform call: an exception a route guard caught (${String(body.message)}).`,
              involved: [`ipc_response#${o.id}`],
            };
          }
          default:
            break;
        }
        if (ev.k !== "step_end" || ev.internalErrors <= seen) return undefined;
        seen = ev.internalErrors;
        return {
          message: `the core caught an internal error (${ev.internalErrors} so far); see core_internal_error in its log.`,
          involved: [],
        };
      },
    };
  },
});
