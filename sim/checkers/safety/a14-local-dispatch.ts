import type { Output } from "../../../src/broker/types.ts";
import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/** Idempotency keys of local dispatches (PROTOCOL §3.2: `local-<uuid>`). */
const LOCAL_DISPATCH = /^local-/;

interface Open {
  reqId: number;
  undispatchedId: string;
  targetId: string;
  event: string;
  assigned: boolean;
}

/**
 * A14 Local dispatch does what it names (PROTOCOL §3.2 `POST /v1/dispatch`). A dispatch request
 * names a row and a target endpoint; the broker synthesises a dispatch event for exactly those.
 * So every `assigned_to_runtime_target` of a local dispatch that answers an open request names that
 * request's row and target, and a request answered 200 had its `assigned` post made before the
 * answer (the broker answers after the dispatch was handled). A post is tied to its request by its
 * cause, or, for a target without causes, by the row when only one open request names it.
 */
export const A14 = defineChecker({
  id: "A14",
  kind: "safety",
  kinds: ["start", "in", "out"],
  statement:
    "A local dispatch (POST /v1/dispatch) assigns the row it names to the endpoint it names, and is answered 200 only after that assignment was posted.",
  create() {
    let open = new Map<number, Open>();
    const forRequest = (o: Output, row: string | undefined): Open | undefined => {
      const c = o.cause;
      if (c?.kind === "request") return open.get(c.request);
      const same = [...open.values()].filter((d) => d.undispatchedId === row);
      return same.length === 1 ? same[0] : undefined;
    };
    return {
      onEvent(ev) {
        if (ev.k === "start") {
          open = new Map();
          return undefined;
        }
        if (ev.k === "in") {
          const i = ev.input;
          if (i.kind !== "ipc_request" || i.method !== "POST" || i.path !== "/v1/dispatch") return undefined;
          const b = (typeof i.body === "object" && i.body !== null ? i.body : {}) as Record<string, unknown>;
          if (typeof b.undispatched_id !== "string" || typeof b.target_endpoint_id !== "string")
            return undefined;
          open.set(i.id, {
            reqId: i.id,
            undispatchedId: b.undispatched_id,
            targetId: b.target_endpoint_id,
            event: describe(ev),
            assigned: false,
          });
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "ipc_response") {
          const d = open.get(o.id);
          if (d === undefined) return undefined;
          open.delete(o.id);
          if (o.status !== 200 || d.assigned) return undefined;
          return {
            message: `local dispatch ${d.reqId} of row ${d.undispatchedId} to ${d.targetId} was answered 200 without an assigned_to_runtime_target post for it.`,
            involved: [d.event, describe(ev)],
          };
        }
        if (o.kind !== "api_call" || o.op !== "processing_state") return undefined;
        const a = o.args;
        if (a.state !== "assigned_to_runtime_target" || !LOCAL_DISPATCH.test(a.assignment_id))
          return undefined;
        const d = forRequest(o, a.undispatched_id);
        if (d === undefined) return undefined;
        const target = a.target_ref.projection_endpoint_id;
        if (a.undispatched_id === d.undispatchedId && target === d.targetId) {
          d.assigned = true;
          return undefined;
        }
        return {
          message: `local dispatch ${d.reqId} named row ${d.undispatchedId} and endpoint ${d.targetId}, but the broker assigned row ${a.undispatched_id ?? "(none)"} to ${target}.`,
          involved: [d.event, describe(ev)],
        };
      },
    };
  },
});
