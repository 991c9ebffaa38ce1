import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

const TOKEN_STATES = new Set([
  "assigned_to_runtime_target",
  "reply_requested",
  "reply_emitted",
  "delivery_attempted",
]);

/** Idempotency keys of local dispatches (`POST /v1/dispatch`). */
const LOCAL_DISPATCH = /^local-/;

/** A8 Token discipline (PROTOCOL §7.3). */
export const A8 = defineChecker({
  id: "A8",
  kind: "safety",
  kinds: ["in:control_event", "out:api_call"],
  statement:
    "Every broker-originated assigned, reply and delivery-attempted event carries the projection token the platform issued for that assignment (for a local dispatch, the one its assigned post carried).",
  create() {
    const tokens = new Map<string, string>();
    return {
      onEvent(ev) {
        if (ev.k === "in" && ev.input.kind === "control_event") {
          const e = ev.input.event as Record<string, unknown> | null;
          if (e?.type === "dispatch_undispatched" && typeof e.idempotency_key === "string") {
            if (typeof e.broker_projection_token === "string")
              tokens.set(e.idempotency_key, e.broker_projection_token);
          }
          return undefined;
        }
        if (ev.k !== "out" || ev.output.kind !== "api_call" || ev.output.op !== "processing_state")
          return undefined;
        const a = ev.output.args;
        if (!TOKEN_STATES.has(a.state)) return undefined;
        // A local dispatch (`POST /v1/dispatch`, key `local-…`) carries a token the broker chose
        // itself (PROTOCOL §3.2): its `assigned` post issues it, and every later post must repeat it.
        if (
          a.state === "assigned_to_runtime_target" &&
          LOCAL_DISPATCH.test(a.assignment_id) &&
          !tokens.has(a.assignment_id) &&
          typeof a.broker_projection_token === "string"
        )
          tokens.set(a.assignment_id, a.broker_projection_token);
        const issued = tokens.get(a.assignment_id);
        if (issued === undefined || a.broker_projection_token !== issued) {
          return {
            message: `${a.state} for assignment ${a.assignment_id} carries token ${a.broker_projection_token ?? "none"}; the platform issued ${issued ?? "none"}.`,
            involved: [describe(ev)],
          };
        }
        return undefined;
      },
    };
  },
});
