import { defineChecker } from "../checker.ts";

/** X1: the core never lets an error escape `handle` or `advance` (it counts them instead). */
export const X1 = defineChecker({
  id: "X1",
  kind: "safety",
  kinds: ["start", "step_end"],
  statement: "The broker core never throws: its internal error count stays zero.",
  create() {
    let seen = 0;
    return {
      onEvent(ev) {
        if (ev.k === "start") {
          seen = 0;
          return undefined;
        }
        if (ev.k !== "step_end" || ev.internalErrors <= seen) return undefined;
        seen = ev.internalErrors;
        return {
          message: `the core caught an internal error (${ev.internalErrors} so far); see core_internal_error in its log.`,
          involved: [],
        };
      },
    };
  },
});
