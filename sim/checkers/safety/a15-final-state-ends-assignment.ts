import { defineChecker } from "../checker.ts";

/**
 * A15 An adapter's final state ends its assignment (PROTOCOL §5.3): once the platform took a
 * `processing_failed` or `expired` the adapter reported, the broker forgets the assignment (a
 * retryable failure before acceptance restores its message first). Judged on every quiescent
 * snapshot: no live assignment of the broker is one whose final state the platform accepted. A
 * broker that ignores the report keeps an accepted assignment (and its reply handle) for ever.
 */
export const A15 = defineChecker({
  id: "A15",
  kind: "safety",
  kinds: ["start", "in", "quiescent"],
  statement:
    "Once the platform accepted an adapter's processing_failed or expired, the broker holds no live assignment of that id.",
  create() {
    /** Assignment ids whose adapter-reported final state the platform accepted (any process). */
    const ended = new Set<string>();
    return {
      onEvent(ev, v) {
        if (ev.k === "in") {
          if (ev.input.kind !== "api_result" || !ev.input.result.ok) return undefined;
          const call = v.lastApiCall;
          if (call?.op !== "processing_state") return undefined;
          const a = call.args as { state: string; assignment_id: string };
          if (a.state === "processing_failed" || a.state === "expired") ended.add(a.assignment_id);
          return undefined;
        }
        if (ev.k !== "quiescent" || !ev.snapshot) return undefined;
        const live = ev.snapshot.assignments.filter((a) => ended.has(a.assignmentId));
        if (live.length === 0) return undefined;
        const ids = live.map((a) => `${a.assignmentId}${a.accepted ? " (accepted)" : ""}`);
        return {
          message: `the broker still holds ${ids.length} assignment(s) whose processing_failed or expired the platform accepted: ${ids.slice(0, 5).join(", ")}.`,
          involved: ids,
        };
      },
    };
  },
});
