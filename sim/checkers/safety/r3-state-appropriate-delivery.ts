import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/** R3 State-appropriate delivery (PROTOCOL §7.2). */
export const R3 = defineChecker({
  id: "R3",
  kind: "safety",
  kinds: ["out:ipc_push", "out:storage"],
  statement:
    "Pushes go only to active endpoints through their current, open channel; buffer appends happen only for reconnecting endpoints.",
  create() {
    return {
      onEvent(ev, v) {
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "ipc_push" && o.frame.event === "message_received") {
          const ch = v.channels.get(o.channel);
          if (!ch?.open) {
            return {
              message: `a message was pushed on channel ${o.channel}, which is not open.`,
              involved: [describe(ev)],
            };
          }
          const target = o.frame.runtimeAssignment?.targetRef.projection_endpoint_id;
          const on = v.endpointsOn(o.channel);
          if (target !== undefined) {
            const e = v.endpoints.get(target);
            if (e?.state !== "active" || e.channel !== o.channel) {
              return {
                message: `assignment ${o.frame.runtimeAssignment?.assignmentId} was pushed to ${target} on channel ${o.channel}, but that endpoint is ${e ? `${e.state} on channel ${e.channel}` : "not registered"}.`,
                involved: [describe(ev)],
              };
            }
          } else if (!on.some((e) => e.state === "active")) {
            return {
              message: `message ${o.frame.sourceMessageId} was pushed on channel ${o.channel}, which has no active endpoint.`,
              involved: [describe(ev)],
            };
          }
          return undefined;
        }
        if (o.kind === "storage" && o.op.op === "append_buffer") {
          const e = v.endpoints.get(o.op.endpointId);
          if (e?.state !== "reconnecting") {
            return {
              message: `a record was appended to the buffer of ${o.op.endpointId}, which is ${e?.state ?? "not registered"}, not reconnecting.`,
              involved: [describe(ev)],
            };
          }
        }
        return undefined;
      },
    };
  },
});
