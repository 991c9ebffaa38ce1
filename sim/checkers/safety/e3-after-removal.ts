import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/** E3 After removal (PROTOCOL §7.2). */
export const E3 = defineChecker({
  id: "E3",
  kind: "safety",
  kinds: ["start", "out:api_call", "out:storage", "out:ipc_push", "step_end"],
  statement:
    "Once an endpoint is removed, the platform was told (unregister) and the broker sends it no heartbeat, push, buffer append or new assignment.",
  create() {
    let unregistered = new Set<string>();
    let removed = new Set<string>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          unregistered = new Set();
          removed = new Set();
          return undefined;
        }
        if (ev.k === "step_end") {
          for (const c of v.closedInStep) {
            removed.add(c.id);
            if (!unregistered.has(c.id)) {
              return {
                message: `endpoint ${c.id} was removed but apiPort.unregister was not called for it.`,
                involved: [],
              };
            }
          }
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        let id: string | undefined;
        let what = "";
        if (o.kind === "api_call") {
          if (o.op === "unregister") {
            unregistered.add(o.args.endpoint_id);
            return undefined;
          }
          if (o.op === "heartbeat") {
            id = o.args.endpoint_id;
            what = "a heartbeat";
          } else if (o.op === "processing_state" && o.args.state === "assigned_to_runtime_target") {
            id = o.args.target_ref.projection_endpoint_id;
            what = `a new assignment (${o.args.assignment_id})`;
          }
        } else if (o.kind === "storage" && o.op.op === "append_buffer") {
          id = o.op.endpointId;
          what = "a buffer append";
        } else if (
          o.kind === "ipc_push" &&
          o.frame.event === "message_received" &&
          o.frame.runtimeAssignment
        ) {
          id = o.frame.runtimeAssignment.targetRef.projection_endpoint_id;
          what = "an assignment push";
        }
        if (id !== undefined && (removed.has(id) || v.endpoints.get(id)?.state === "closed")) {
          return {
            message: `endpoint ${id} was already removed, yet the broker sent it ${what}.`,
            involved: [describe(ev)],
          };
        }
        return undefined;
      },
    };
  },
});
