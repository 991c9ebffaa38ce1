import { defineChecker } from "../checker.ts";

/** A11 Exclusivity (PROTOCOL §7.3), checked at the end of the run. */
export const A11 = defineChecker({
  id: "A11",
  kind: "safety",
  kinds: ["start", "out:ipc_push", "out:storage", "quiescent"],
  statement:
    "At quiescence an undispatched id is not both an inbox row and the message of a live assignment whose target has it pushed or buffered.",
  create() {
    let delivered = new Map<string, string>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          delivered = new Map();
          return undefined;
        }
        if (ev.k === "out") {
          const o = ev.output;
          const ra =
            o.kind === "ipc_push" && o.frame.event === "message_received"
              ? o.frame.runtimeAssignment
              : o.kind === "storage" && o.op.op === "append_buffer"
                ? o.op.record.envelope.runtimeAssignment
                : undefined;
          if (ra) delivered.set(ra.assignmentId, ra.undispatchedId);
          return undefined;
        }
        if (ev.k !== "quiescent" || !ev.snapshot) return undefined;
        const inbox = new Set(ev.snapshot.inbox.ids);
        const inTransit = v.undispatchedInTransit();
        for (const a of ev.snapshot.assignments) {
          if (inTransit.has(a.undispatchedId)) continue;
          if (delivered.has(a.assignmentId) && inbox.has(a.undispatchedId)) {
            return {
              message: `${a.undispatchedId} is an inbox row and also the message of live assignment ${a.assignmentId}, already delivered to ${a.targetEndpointId}.`,
              involved: [],
            };
          }
        }
        return undefined;
      },
    };
  },
});
