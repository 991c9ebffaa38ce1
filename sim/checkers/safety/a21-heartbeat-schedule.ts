import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/**
 * A21 Heartbeats follow the register answer (PROTOCOL §1.4): after a registration the broker calls
 * the platform's `heartbeat` for that endpoint every `heartbeat_after_seconds` of the register
 * answer; when the answer has none, or a value that is not a positive finite number, it schedules
 * none. Judged on each heartbeat call: its endpoint's register answer named a positive interval,
 * and the call comes no sooner than that interval after the register answer or the endpoint's
 * previous heartbeat. (Heartbeats that come late or never are the timer checks' and liveness's
 * business; the schedule restarts with each broker process.)
 */
export const A21 = defineChecker({
  id: "A21",
  kind: "safety",
  kinds: ["start", "in:api_result", "out:api_call"],
  statement:
    "The broker heartbeats an endpoint only when its register answer named a positive heartbeat_after_seconds, and never sooner than that interval after the registration or the previous heartbeat.",
  create() {
    /** endpoint id → the register answer's interval (ms; undefined = none) and the last beat. */
    let schedule = new Map<string, { intervalMs: number | undefined; named: unknown; lastT: number }>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          schedule = new Map();
          return undefined;
        }
        if (ev.k === "in" && ev.input.kind === "api_result") {
          const r = ev.input.result as Record<string, unknown>;
          if (v.lastApiCall?.op !== "register" || r.ok !== true || typeof r.endpoint_id !== "string")
            return undefined;
          const s = r.heartbeat_after_seconds;
          const valid = typeof s === "number" && Number.isFinite(s) && s > 0;
          schedule.set(r.endpoint_id, { intervalMs: valid ? s * 1000 : undefined, named: s, lastT: ev.t });
          return undefined;
        }
        if (ev.k !== "out" || ev.output.kind !== "api_call" || ev.output.op !== "heartbeat") return undefined;
        const id = ev.output.args.endpoint_id;
        const e = schedule.get(id);
        if (e === undefined) return undefined;
        if (e.intervalMs === undefined) {
          return {
            message: `the broker heartbeats endpoint ${id} although its register answer's heartbeat_after_seconds was ${JSON.stringify(e.named) ?? "absent"}.`,
            involved: [describe(ev)],
          };
        }
        if (ev.t < e.lastT + e.intervalMs) {
          return {
            message: `the broker heartbeats endpoint ${id} at t=${ev.t}, ${ev.t - e.lastT} ms after its registration or previous heartbeat (t=${e.lastT}); the register answer's interval is ${e.intervalMs} ms.`,
            involved: [describe(ev)],
          };
        }
        e.lastT = ev.t;
        return undefined;
      },
    };
  },
});
