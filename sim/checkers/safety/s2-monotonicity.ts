import { defineChecker } from "../checker.ts";
import { describe, sentFrame } from "../util.ts";

/** S2 Monotonicity (PROTOCOL §7.1). */
export const S2 = defineChecker({
  id: "S2",
  kind: "safety",
  kinds: ["start", "truth:cursor_persisted", "out:storage", "out:connector_send"],
  statement:
    "The cursor never goes back: DELIVERY_ACK upToSeq values and REGISTER lastKnownSeq values never decrease within a process, and persisted cursor-file values never decrease.",
  create() {
    let lastAck = -1;
    let lastRegister = -1;
    let lastWrite = -1;
    let lastPersisted = -1;
    return {
      onEvent(ev) {
        if (ev.k === "start") {
          lastAck = -1;
          lastRegister = -1;
          lastWrite = -1;
          // The file value a process starts from is what its storage read. It is lower than the last
          // write only when the file was lost or corrupt (read as absent, PROTOCOL §1.14); the
          // file's history then starts again from that value.
          lastPersisted = Math.min(lastPersisted, ev.initialCursor);
          return undefined;
        }
        if (ev.k === "truth" && ev.fact.f === "cursor_persisted") {
          const v = ev.fact.value;
          if (v < lastPersisted) {
            return {
              message: `the cursor file went from ${lastPersisted} back to ${v}.`,
              involved: [describe(ev)],
            };
          }
          lastPersisted = v;
          return undefined;
        }
        if (ev.k === "out" && ev.output.kind === "storage" && ev.output.op.op === "write_cursor") {
          const v = ev.output.op.lastKnownSeq;
          if (v < lastWrite) {
            return {
              message: `the broker asked to write cursor ${v} after ${lastWrite}.`,
              involved: [describe(ev)],
            };
          }
          lastWrite = v;
          return undefined;
        }
        const f = sentFrame(ev);
        if (f?.event === "DELIVERY_ACK") {
          if (f.upToSeq < lastAck) {
            return {
              message: `DELIVERY_ACK(${f.upToSeq}) after DELIVERY_ACK(${lastAck}).`,
              involved: [describe(ev)],
            };
          }
          lastAck = f.upToSeq;
        } else if (f?.event === "REGISTER" && f.lastKnownSeq !== undefined) {
          if (f.lastKnownSeq < lastRegister) {
            return {
              message: `REGISTER.lastKnownSeq went from ${lastRegister} back to ${f.lastKnownSeq}.`,
              involved: [describe(ev)],
            };
          }
          lastRegister = f.lastKnownSeq;
        }
        return undefined;
      },
    };
  },
});
