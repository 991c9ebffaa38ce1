import { defineChecker } from "../checker.ts";
import { firstFew, Phase, plural } from "./phase.ts";

/**
 * L11 Control events answered (our addition beside PROTOCOL §7.4; the rule is §1.12: each control
 * event is acknowledged with a control ack), judged at the end of the liveness phase.
 *
 * A control event the core took in must get a `control_ack` (received, applied or failed) for its
 * idempotency key from the same broker incarnation. A crash forgets the events in flight: the
 * platform redelivers what was never acknowledged, and the next incarnation must answer that
 * redelivery. A key once answered in an incarnation stays answered there (a duplicate delivery may
 * be dropped by the broker's de-duplication). Without this a dispatch whose completion callback
 * never ran went unnoticed whenever the message still reached its plugin.
 */
export const L11 = defineChecker({
  id: "L11",
  kind: "liveness",
  kinds: [
    "start",
    "in:control_event",
    "out:control_ack",
    "truth:liveness_begin",
    "truth:liveness_end",
    "quiescent",
  ],
  statement:
    "Every control event the broker took in gets a control ack for its idempotency key from the same broker incarnation by the end of the liveness phase.",
  create() {
    const phase = new Phase();
    /** Idempotency key → time of its first unanswered delivery, in this incarnation. */
    const pending = new Map<string, number>();
    const answered = new Set<string>();
    return {
      onEvent(ev) {
        if (phase.observe(ev)) return undefined;
        if (ev.k === "start") {
          pending.clear();
          answered.clear();
          return undefined;
        }
        if (ev.k === "in") {
          if (ev.input.kind !== "control_event") return undefined;
          const e = ev.input.event as { idempotency_key?: unknown } | null;
          const key = e?.idempotency_key;
          if (typeof key !== "string" || answered.has(key) || pending.has(key)) return undefined;
          pending.set(key, ev.t);
          return undefined;
        }
        if (ev.k === "out") {
          if (ev.output.kind !== "control_ack") return undefined;
          pending.delete(ev.output.idempotency_key);
          answered.add(ev.output.idempotency_key);
          return undefined;
        }
        if (!phase.isVerdict(ev)) return undefined;
        if (pending.size === 0) return undefined;
        const missing = [...pending].map(([key, t]) => `${key} (delivered at t=${t})`);
        return {
          message: `${plural(missing.length, "control event")} never got a control ack: ${firstFew(missing)}.`,
          involved: missing,
        };
      },
    };
  },
});
