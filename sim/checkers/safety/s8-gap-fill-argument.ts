import { defineChecker } from "../checker.ts";
import { describe, sentFrame } from "../util.ts";

/** S8 Gap-fill argument (PROTOCOL §7.1). */
export const S8 = defineChecker({
  id: "S8",
  kind: "safety",
  kinds: ["out:connector_send"],
  statement: "Every REQUEST_GAP_FILL.sinceSeq equals the committed cursor C at the time it is sent.",
  create() {
    return {
      onEvent(ev, v) {
        const f = sentFrame(ev);
        if (f?.event !== "REQUEST_GAP_FILL") return undefined;
        if (f.sinceSeq !== v.committed) {
          return {
            message: `REQUEST_GAP_FILL(sinceSeq=${f.sinceSeq}) but the committed cursor is ${v.committed}.`,
            involved: [describe(ev)],
          };
        }
        return undefined;
      },
    };
  },
});
