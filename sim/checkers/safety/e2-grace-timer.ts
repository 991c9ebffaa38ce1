import { SIM_EPOCH_MS } from "../../kernel/clock.ts";
import { defineChecker } from "../checker.ts";
import { DEADLINE_TOLERANCE_MS } from "../timer-bounds.ts";
import { describe } from "../util.ts";

/**
 * E2 Grace timer iff reconnecting (PROTOCOL §7.2), on both sides of the deadline:
 * - a grace timeout closes only an endpoint that is reconnecting, never earlier than `graceMs`
 *   after it became reconnecting;
 * - once a deadline run ends more than `graceMs + DEADLINE_TOLERANCE_MS` after an endpoint became
 *   reconnecting, it is no longer reconnecting (reattached or removed).
 */
export const E2 = defineChecker({
  id: "E2",
  kind: "safety",
  kinds: ["in", "out:api_call", "advance", "step_end"],
  statement:
    "A grace timeout closes only an endpoint that is reconnecting, no earlier than graceMs and no later than graceMs plus the timer tolerance after it became reconnecting.",
  create() {
    let advancing = false;
    return {
      onEvent(ev, v) {
        const graceMs = v.options?.graceMs ?? 600_000;
        if (ev.k === "advance" || ev.k === "in") {
          advancing = ev.k === "advance";
          return undefined;
        }
        if (ev.k === "step_end") {
          if (!advancing) return undefined;
          advancing = false;
          for (const e of v.endpoints.values()) {
            if (e.state !== "reconnecting" || ev.t <= e.sinceT + graceMs + DEADLINE_TOLERANCE_MS) continue;
            return {
              message: `endpoint ${e.id} is still reconnecting at t=${ev.t}, ${ev.t - e.sinceT} ms after it became reconnecting (grace is ${graceMs} ms, tolerance ${DEADLINE_TOLERANCE_MS} ms).`,
              involved: [`endpoint ${e.id} reconnecting since t=${e.sinceT}`],
            };
          }
          return undefined;
        }
        if (ev.k !== "out" || ev.output.kind !== "api_call" || ev.output.op !== "transition_state")
          return undefined;
        const a = ev.output.args;
        if (a.state !== "closed" || a.reason !== "grace_timeout") return undefined;
        const closed = v.closedInStep.find((c) => c.id === a.endpoint_id);
        // A projection delayed by the retry queue arrives after the model closed the endpoint.
        if (!closed) return undefined;
        if (closed.prevState !== "reconnecting") {
          return {
            message: `endpoint ${a.endpoint_id} was closed by grace timeout while it was ${closed.prevState}.`,
            involved: [describe(ev)],
          };
        }
        // The projection may wait in the transition queue (E4: one in flight per endpoint), so the
        // close happened at its `ts`, not when it was posted. `ts` has millisecond resolution while
        // virtual time need not be whole (a close at t=48328.5 carries ts …48.328Z): the
        // close happened within the millisecond `ts` names.
        const at = Date.parse(a.ts);
        const closedAt = Number.isFinite(at) ? Math.min(ev.t, at - SIM_EPOCH_MS + 1) : ev.t;
        if (closedAt - closed.prevSinceT < graceMs) {
          return {
            message: `endpoint ${a.endpoint_id} was closed by grace timeout ${closedAt - closed.prevSinceT} ms after it became reconnecting (grace is ${graceMs} ms).`,
            involved: [describe(ev)],
          };
        }
        return undefined;
      },
    };
  },
});
