import { defineChecker } from "../checker.ts";
import { SIM_EPOCH_MS } from "../../kernel/clock.ts";
import { describe } from "../util.ts";

/** E2 Grace timer iff reconnecting (PROTOCOL §7.2). */
export const E2 = defineChecker({
  id: "E2",
  kind: "safety",
  kinds: ["out"],
  statement:
    "A grace timeout closes only an endpoint that is reconnecting, and never earlier than graceMs after it became reconnecting.",
  create() {
    return {
      onEvent(ev, v) {
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
        const graceMs = v.options?.graceMs ?? 600_000;
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
