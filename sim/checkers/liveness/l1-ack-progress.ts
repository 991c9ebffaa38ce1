import { defineChecker } from "../checker.ts";
import { Phase } from "./phase.ts";

/** L1 Ack progress (PROTOCOL §7.4), judged at the end of the liveness phase. */
export const L1 = defineChecker({
  id: "L1",
  kind: "liveness",
  kinds: ["truth:liveness_begin", "truth:liveness_end", "quiescent"],
  statement:
    "Once faults are healed, the broker's committed cursor reaches the head of its stream on the platform (DELIVERY_SKIP seqs count as handled).",
  create() {
    const phase = new Phase();
    return {
      onEvent(ev, v) {
        if (phase.observe(ev) || !phase.isVerdict(ev)) return undefined;
        const head = phase.end!.head;
        if (!ev.snapshot) {
          return {
            message: `the broker is not running at the end of the liveness phase (platform head is seq ${head}).`,
          };
        }
        const c = v.committed;
        if (c >= head) return undefined;
        const blocked = c + 1;
        const id = v.idOfSeq.get(blocked);
        const conn = ev.snapshot.connector;
        const why = !conn.socketOpen
          ? "the connector socket is not open"
          : !conn.registered
            ? "the connector is not registered"
            : id === undefined
              ? `seq ${blocked} never reached this broker process`
              : `seq ${blocked} (${id}) was received but never accepted`;
        return {
          message: `the committed cursor is stuck at ${c} while the platform head is ${head} after ${ev.t - (phase.beganAt ?? ev.t)} ms of healed time: ${why}.`,
          involved: [
            `connector: open=${conn.socketOpen} registered=${conn.registered} committed=${conn.committedSeq} gaps=[${conn.acceptedGaps.join(",")}]`,
          ],
        };
      },
    };
  },
});
