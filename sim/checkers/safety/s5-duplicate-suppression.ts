import { defineChecker } from "../checker.ts";
import { describe, taskMessageOf } from "../util.ts";

/** S5 Duplicate suppression (PROTOCOL §7.1). */
export const S5 = defineChecker({
  id: "S5",
  kind: "safety",
  kinds: ["in:connector_frame", "out", "step_end"],
  statement:
    "A MESSAGE_RECEIVED whose payload id is still pending or already seen (or whose seq is at or below the cursor) starts no pipeline task: no push, no buffer append, no platform post.",
  create() {
    let dup: { messageId: string; why: string; frame: string } | undefined;
    return {
      onEvent(ev, v) {
        if (ev.k === "in") {
          dup = undefined;
          const f = v.stepFrame;
          if (f?.event !== "MESSAGE_RECEIVED" || typeof f.messageId !== "string") return undefined;
          if ((f.runtimeSessionId ?? undefined) !== v.options?.runtimeSessionId) return undefined;
          const m = f.messageId;
          const seq = typeof f.seq === "number" ? f.seq : undefined;
          let why: string | undefined;
          if (seq !== undefined && seq <= v.committed)
            why = `its seq ${seq} is at or below the cursor ${v.committed}`;
          else if (v.syncAcceptedIds.has(m))
            why = "it was already accepted in this process (pending or seen)";
          else if (v.inFlight(m)) why = "its previous pipeline task is still running";
          if (why) dup = { messageId: m, why, frame: describe(ev) };
          return undefined;
        }
        if (ev.k === "out" && dup !== undefined && taskMessageOf(ev.output) === dup.messageId) {
          return {
            message: `a duplicate MESSAGE_RECEIVED for ${dup.messageId} started pipeline work although ${dup.why}.`,
            involved: [dup.frame, describe(ev)],
          };
        }
        if (ev.k === "step_end") dup = undefined;
        return undefined;
      },
    };
  },
});
