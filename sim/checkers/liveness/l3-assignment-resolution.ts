import type { ApiArgs } from "../../../src/broker/api.ts";
import { defineChecker } from "../checker.ts";
import { firstFew, Phase, plural } from "./phase.ts";

/**
 * Time an unaccepted assignment may outlive its acceptance timeout: one more timeout period (the
 * restore re-arms the timer when its target_lost post fails transiently or the inbox is full) plus
 * the emitter's retries against a healthy API.
 */
export const ACCEPTANCE_SLACK_MS = 60_000;

/** Processing states that only the assignment's binding or hand-off produce: they resolve nothing. */
const UNRESOLVING = new Set(["assigned_to_runtime_target", "delivery_attempted"]);

interface Pending {
  /** When the acceptance timer was (re-)armed: the assigned post's success, a failed restore. */
  armedAt: number;
  resolved: boolean;
}

/**
 * L3 Assignment resolution (PROTOCOL §7.4), judged at each assignment's deadline: the acceptance
 * timer is armed when the `assigned_to_runtime_target` post succeeds and re-armed when a restore's
 * `target_lost_before_acceptance` post fails. In the liveness phase, the first deadline run past
 * `acceptanceTimeoutMs + ACCEPTANCE_SLACK_MS` after the later of that and the heal finds the
 * assignment resolved: accepted, failed, restored or reported on by its adapter (any processing
 * state beyond binding and hand-off). At the end of the phase the core's snapshot confirms it.
 */
export const L3 = defineChecker({
  id: "L3",
  kind: "liveness",
  kinds: ["start", "in", "out", "advance", "step_end", "truth", "quiescent"],
  statement:
    "Every unaccepted assignment is accepted, failed or restored within the acceptance timeout plus retries once faults are healed.",
  create() {
    const phase = new Phase();
    /** Assignment id → time of its latest `assigned_to_runtime_target` post (the timer re-arms). */
    const assignedAt = new Map<string, number>();
    let pending = new Map<string, Pending>();
    let advancing = false;
    return {
      onEvent(ev, v) {
        if (phase.observe(ev)) return undefined;
        const timeoutMs = v.options?.acceptanceTimeoutMs ?? 30_000;
        const limit = timeoutMs + ACCEPTANCE_SLACK_MS;
        switch (ev.k) {
          case "start":
            pending = new Map();
            return undefined;
          case "advance":
            advancing = true;
            return undefined;
          case "in": {
            advancing = false;
            const input = ev.input;
            if (input.kind === "ipc_request" && input.path === "/v1/runtime/processing-state") {
              const id = (input.body as { assignment_id?: unknown } | null)?.assignment_id;
              const p = typeof id === "string" ? pending.get(id) : undefined;
              if (p) p.resolved = true;
            }
            const call = v.lastApiCall;
            if (input.kind !== "api_result" || call?.op !== "processing_state") return undefined;
            const a = call.args as ApiArgs["processing_state"];
            if (a.state === "assigned_to_runtime_target" && input.result.ok)
              pending.set(a.assignment_id, { armedAt: ev.t, resolved: false });
            else if (a.state === "target_lost_before_acceptance" && !input.result.ok) {
              const p = pending.get(a.assignment_id);
              if (p) {
                p.armedAt = ev.t;
                p.resolved = false;
              }
            }
            return undefined;
          }
          case "out": {
            const o = ev.output;
            if (o.kind !== "api_call" || o.op !== "processing_state") return undefined;
            if (o.args.state === "assigned_to_runtime_target") assignedAt.set(o.args.assignment_id, ev.t);
            else if (!UNRESOLVING.has(o.args.state)) {
              const p = pending.get(o.args.assignment_id);
              if (p) p.resolved = true;
            }
            return undefined;
          }
          case "step_end": {
            if (!advancing || phase.beganAt === undefined || timeoutMs <= 0) return undefined;
            advancing = false;
            const late: string[] = [];
            for (const [id, p] of pending) {
              const since = Math.max(p.armedAt, phase.beganAt);
              if (!p.resolved && ev.t > since + limit) late.push(`${id} (timer armed t=${p.armedAt})`);
            }
            if (late.length === 0) return undefined;
            return {
              message: `${plural(late.length, "assignment")} still unresolved at t=${ev.t}, more than ${limit} ms after the acceptance timer was armed (or the heal): ${firstFew(late)}.`,
              involved: late,
            };
          }
          default:
            break;
        }
        if (!phase.isVerdict(ev) || !ev.snapshot) return undefined;
        // With the timeout disabled nothing obliges the broker to give an assignment back.
        if (timeoutMs <= 0) return undefined;
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
