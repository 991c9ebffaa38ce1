import { defineChecker } from "../checker.ts";
import { DEADLINE_TOLERANCE_MS } from "../timer-bounds.ts";
import { firstFew, Phase, plural } from "./phase.ts";

/** Grace deadlines fire at `graceMs`; the closing transition is in the same step. */
export const GRACE_SLACK_MS = DEADLINE_TOLERANCE_MS;

/**
 * L4 Grace closure (PROTOCOL §7.4), judged at each endpoint's grace deadline: in the liveness
 * phase, the first deadline run past `graceMs + GRACE_SLACK_MS` after an endpoint became
 * reconnecting finds it reattached or removed; at the end of the phase the core's own snapshot
 * confirms no endpoint is left reconnecting past its deadline.
 */
export const L4 = defineChecker({
  id: "L4",
  kind: "liveness",
  kinds: ["in", "advance", "step_end", "truth:liveness_begin", "truth:liveness_end", "quiescent"],
  statement: "Every reconnecting endpoint is reattached or removed within graceMs.",
  create() {
    const phase = new Phase();
    let advancing = false;
    return {
      onEvent(ev, v) {
        if (phase.observe(ev)) return undefined;
        const graceMs = v.options?.graceMs ?? 600_000;
        if (ev.k === "advance" || ev.k === "in") {
          advancing = ev.k === "advance";
          return undefined;
        }
        const late: string[] = [];
        if (ev.k === "step_end") {
          if (!advancing || phase.beganAt === undefined) return undefined;
          advancing = false;
          for (const e of v.endpoints.values()) {
            if (e.state === "reconnecting" && ev.t > e.sinceT + graceMs + GRACE_SLACK_MS)
              late.push(`${e.id} (since t=${e.sinceT}, due t=${e.sinceT + graceMs})`);
          }
        } else if (phase.isVerdict(ev) && ev.snapshot) {
          for (const e of ev.snapshot.endpoints) {
            if (e.state !== "reconnecting") continue;
            const m = v.endpoints.get(e.endpointId);
            // Without the model's own record of the transition, the heal is the latest it can be.
            const since = m?.state === "reconnecting" ? m.sinceT : (phase.beganAt ?? 0);
            if (ev.t - since > graceMs + GRACE_SLACK_MS) late.push(`${e.endpointId} (since t=${since})`);
          }
        }
        if (late.length === 0) return undefined;
        return {
          message: `${plural(late.length, "endpoint")} still reconnecting more than graceMs (${graceMs} ms) later at t=${ev.t}: ${firstFew(late)}.`,
          involved: late,
        };
      },
    };
  },
});
