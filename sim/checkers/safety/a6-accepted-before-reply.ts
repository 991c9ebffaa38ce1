import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/** A6 Accepted-before-reply (PROTOCOL §7.3). */
export const A6 = defineChecker({
  id: "A6",
  kind: "safety",
  kinds: ["start", "in:api_result", "out:api_call"],
  statement: "No reply_requested is posted for an assignment that has not had a successful adapter_accepted.",
  create() {
    let accepted = new Set<string>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          accepted = new Set();
          return undefined;
        }
        if (ev.k === "in" && ev.input.kind === "api_result" && ev.input.result.ok) {
          const call = v.lastApiCall;
          if (call?.op === "processing_state") {
            const a = call.args as { state: string; assignment_id: string };
            if (a.state === "adapter_accepted") accepted.add(a.assignment_id);
          }
          return undefined;
        }
        if (ev.k === "out" && ev.output.kind === "api_call" && ev.output.op === "processing_state") {
          const a = ev.output.args;
          if (a.state === "reply_requested" && !accepted.has(a.assignment_id)) {
            return {
              message: `reply_requested was posted for assignment ${a.assignment_id}, which was never accepted by its adapter.`,
              involved: [describe(ev)],
            };
          }
        }
        return undefined;
      },
    };
  },
});
