import { defineChecker } from "../checker.ts";
import { describe, sentFrame } from "../util.ts";

/** S1 Ack soundness (PROTOCOL §7.1). */
export const S1 = defineChecker({
  id: "S1",
  kind: "safety",
  kinds: ["start", "out:connector_send"],
  statement:
    "Every DELIVERY_ACK(u) covers only seqs the pipeline accepted or the server skipped: each s with max(C_before, Srv) < s ≤ u is in Acc ∪ Skip.",
  create() {
    let before = 0;
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          before = ev.initialCursor;
          return undefined;
        }
        const f = sentFrame(ev);
        if (f?.event !== "DELIVERY_ACK") return undefined;
        const lo = Math.max(before, v.serverDelivered);
        for (let s = lo + 1; s <= f.upToSeq; s++) {
          if (v.acceptedSeqs.has(s) || v.skipSeqs.has(s)) continue;
          const id = v.idOfSeq.get(s);
          return {
            message:
              `DELIVERY_ACK(${f.upToSeq}) covers seq ${s} (message ${id ?? "never received"}), which this ` +
              `broker process neither accepted nor saw skipped (cursor before ${before}, server delivered ${v.serverDelivered}).`,
            involved: [describe(ev)],
          };
        }
        if (f.upToSeq > before) before = f.upToSeq;
        return undefined;
      },
    };
  },
});
