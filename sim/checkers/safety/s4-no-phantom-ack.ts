import { defineChecker } from "../checker.ts";
import { describe, sentFrame } from "../util.ts";

/** S4 No phantom ack on a closed socket (PROTOCOL §7.1). */
export const S4 = defineChecker({
  id: "S4",
  kind: "safety",
  kinds: ["out:connector_send"],
  statement:
    "While the connector socket is not open the cursor does not advance: no DELIVERY_ACK is written, and the next REGISTER claims no more than what was acked on an open socket.",
  create() {
    return {
      onEvent(ev, v) {
        const f = sentFrame(ev);
        if (f?.event === "DELIVERY_ACK" && !v.socketOpen) {
          return {
            message: `DELIVERY_ACK(${f.upToSeq}) was written while the connector socket was not open.`,
            involved: [describe(ev)],
          };
        }
        if (f?.event === "REGISTER" && (f.lastKnownSeq ?? 0) > v.committed) {
          return {
            message: `REGISTER.lastKnownSeq ${f.lastKnownSeq} exceeds the cursor acked on an open socket (${v.committed}).`,
            involved: [describe(ev)],
          };
        }
        return undefined;
      },
    };
  },
});
