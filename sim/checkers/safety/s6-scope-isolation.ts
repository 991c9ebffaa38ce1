import { defineChecker } from "../checker.ts";
import { describe, sentFrame } from "../util.ts";

const SCOPED_IN = new Set(["MESSAGE_RECEIVED", "DELIVERY_CURSOR", "DELIVERY_SKIP"]);

/** S6 Scope isolation (PROTOCOL §7.1). */
export const S6 = defineChecker({
  id: "S6",
  kind: "safety",
  kinds: ["in:connector_frame", "out", "step_end"],
  statement:
    "Frames for a foreign runtimeSessionId change nothing (no output at all), and every REGISTER, DELIVERY_ACK and REQUEST_GAP_FILL carries the configured scope.",
  create() {
    let foreign: string | undefined;
    return {
      onEvent(ev, v) {
        const scope = v.options?.runtimeSessionId;
        if (ev.k === "in") {
          foreign = undefined;
          const f = v.stepFrame;
          if (f && SCOPED_IN.has(String(f.event)) && (f.runtimeSessionId ?? undefined) !== scope) {
            foreign = describe(ev);
          }
          return undefined;
        }
        if (ev.k === "step_end") {
          foreign = undefined;
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        if (foreign !== undefined) {
          return {
            message: `a frame for a foreign runtime session (configured: ${scope ?? "none"}) produced output.`,
            involved: [foreign, describe(ev)],
          };
        }
        const f = sentFrame(ev);
        if (f && (f.event === "REGISTER" || f.event === "DELIVERY_ACK" || f.event === "REQUEST_GAP_FILL")) {
          if ((f.runtimeSessionId ?? undefined) !== scope) {
            return {
              message: `${f.event} carries runtimeSessionId ${f.runtimeSessionId ?? "none"}, configured scope is ${scope ?? "none"}.`,
              involved: [describe(ev)],
            };
          }
        }
        return undefined;
      },
    };
  },
});
