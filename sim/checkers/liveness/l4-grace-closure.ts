import { defineChecker } from "../checker.ts";
import { firstFew, Phase, plural } from "./phase.ts";

/** Grace deadlines fire at `graceMs`; the closing transition is in the same step. */
export const GRACE_SLACK_MS = 1_000;

/** L4 Grace closure (PROTOCOL §7.4), judged at the end of the liveness phase. */
export const L4 = defineChecker({
  id: "L4",
  kind: "liveness",
  kinds: ["truth", "quiescent"],
  statement: "Every reconnecting endpoint is reattached or removed within graceMs.",
  create() {
    const phase = new Phase();
    return {
      onEvent(ev, v) {
        if (phase.observe(ev) || !phase.isVerdict(ev) || !ev.snapshot) return undefined;
        const graceMs = v.options?.graceMs ?? 600_000;
        const late: string[] = [];
        for (const e of ev.snapshot.endpoints) {
          if (e.state !== "reconnecting") continue;
          const m = v.endpoints.get(e.endpointId);
          // Without the model's own record of the transition, the heal is the latest it can be.
          const since = m?.state === "reconnecting" ? m.sinceT : (phase.beganAt ?? 0);
          if (ev.t - since > graceMs + GRACE_SLACK_MS) late.push(`${e.endpointId} (since t=${since})`);
        }
        if (late.length === 0) return undefined;
        return {
          message: `${plural(late.length, "endpoint")} still reconnecting more than graceMs (${graceMs} ms) later: ${firstFew(late)}.`,
          involved: late,
        };
      },
    };
  },
});
