import { defineChecker } from "../checker.ts";
import { firstFew, Phase, plural } from "./phase.ts";

/**
 * Time an unaccepted assignment may outlive its acceptance timeout: one more timeout period (the
 * restore re-arms the timer when its target_lost post fails transiently or the inbox is full) plus
 * the emitter's retries against a healthy API.
 */
export const ACCEPTANCE_SLACK_MS = 60_000;

/** L3 Assignment resolution (PROTOCOL §7.4), judged at the end of the liveness phase. */
export const L3 = defineChecker({
  id: "L3",
  kind: "liveness",
  kinds: ["out:api_call", "truth:liveness_begin", "truth:liveness_end", "quiescent"],
  statement:
    "Every unaccepted assignment is accepted, failed or restored within the acceptance timeout plus retries once faults are healed.",
  create() {
    const phase = new Phase();
    /** Assignment id → time of its latest `assigned_to_runtime_target` post (the timer re-arms). */
    const assignedAt = new Map<string, number>();
    return {
      onEvent(ev, v) {
        if (phase.observe(ev)) return undefined;
        if (ev.k === "out") {
          const o = ev.output;
          if (
            o.kind === "api_call" &&
            o.op === "processing_state" &&
            o.args.state === "assigned_to_runtime_target"
          )
            assignedAt.set(o.args.assignment_id, ev.t);
          return undefined;
        }
        if (!phase.isVerdict(ev) || !ev.snapshot) return undefined;
        const timeoutMs = v.options?.acceptanceTimeoutMs ?? 30_000;
        // With the timeout disabled nothing obliges the broker to give an assignment back.
        if (timeoutMs <= 0) return undefined;
        const limit = timeoutMs + ACCEPTANCE_SLACK_MS;
        const stuck: string[] = [];
        for (const a of ev.snapshot.assignments) {
          if (a.accepted) continue;
          const since = Math.max(assignedAt.get(a.assignmentId) ?? 0, phase.beganAt ?? 0);
          if (ev.t - since > limit)
            stuck.push(`${a.assignmentId} (→ ${a.targetEndpointId}, since t=${since})`);
        }
        if (stuck.length === 0) return undefined;
        return {
          message: `${plural(stuck.length, "assignment")} still unaccepted more than ${limit} ms after being assigned (or after the heal): ${firstFew(stuck)}.`,
          involved: stuck,
        };
      },
    };
  },
});
