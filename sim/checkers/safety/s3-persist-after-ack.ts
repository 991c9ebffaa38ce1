import { defineChecker } from "../checker.ts";
import { describe, sentFrame } from "../util.ts";

/** S3 Persist-after-ack (PROTOCOL §7.1). */
export const S3 = defineChecker({
  id: "S3",
  kind: "safety",
  kinds: ["start", "out:storage", "out:connector_send"],
  statement:
    "A cursor value is written to disk only after a DELIVERY_ACK of that value went out on an open socket, and after a restart the first REGISTER carries the last persisted value.",
  create() {
    let firstRegister = true;
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          firstRegister = true;
          return undefined;
        }
        if (ev.k === "out" && ev.output.kind === "storage" && ev.output.op.op === "write_cursor") {
          const value = ev.output.op.lastKnownSeq;
          if (!v.ackValuesOnOpen.has(value)) {
            return {
              message: `the broker wrote cursor ${value} to disk, but no DELIVERY_ACK(${value}) was written on an open socket in this process (highest ack ${v.ackedOnOpen}).`,
              involved: [describe(ev)],
            };
          }
          return undefined;
        }
        const f = sentFrame(ev);
        if (f?.event === "REGISTER" && firstRegister) {
          firstRegister = false;
          if ((f.lastKnownSeq ?? 0) !== v.initialCursor) {
            return {
              message: `the first REGISTER of process ${v.incarnation} says lastKnownSeq ${f.lastKnownSeq}, but the persisted cursor is ${v.initialCursor}.`,
              involved: [describe(ev)],
            };
          }
        }
        return undefined;
      },
    };
  },
});
