import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/** S7 Release before redelivery (PROTOCOL §7.1). */
export const S7 = defineChecker({
  id: "S7",
  kind: "safety",
  kinds: ["start", "in", "out", "step_end"],
  statement:
    "A seq whose task finished without being accepted has had its payload id released, so its next replay (above the cursor) is processed again.",
  create() {
    /** Message ids this process has received at least once. */
    let received = new Set<string>();
    let replay: { messageId: string; seq: number; frame: string } | undefined;
    let produced = false;
    return {
      onEvent(ev, v) {
        switch (ev.k) {
          case "start":
            received = new Set();
            return undefined;
          case "in": {
            replay = undefined;
            produced = false;
            const f = v.stepFrame;
            if (f?.type !== "MESSAGE_RECEIVED" || typeof f.messageId !== "string") return undefined;
            if (typeof f.seq !== "number") return undefined;
            if ((f.runtimeSessionId ?? undefined) !== v.options?.runtimeSessionId) return undefined;
            const m = f.messageId;
            if (
              received.has(m) &&
              f.seq > v.committed &&
              !v.acceptedIds.has(m) &&
              !v.handedOffIds.has(m) &&
              !v.inFlight(m)
            ) {
              replay = { messageId: m, seq: f.seq, frame: describe(ev) };
            }
            received.add(m);
            return undefined;
          }
          case "out":
            if (
              replay &&
              !(ev.output.kind === "connector_send" && ev.output.frame.type === "REQUEST_GAP_FILL")
            ) {
              produced = true;
            }
            return undefined;
          case "step_end":
            if (replay && !produced) {
              const r = replay;
              replay = undefined;
              return {
                message: `the replay of seq ${r.seq} (${r.messageId}) was ignored although its earlier task ended without acceptance and nothing of it is still running: its pending id was not released.`,
                involved: [r.frame],
              };
            }
            replay = undefined;
            return undefined;
          default:
            return undefined;
        }
      },
    };
  },
});
