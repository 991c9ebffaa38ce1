import type { SimEvent } from "../../kernel/events.ts";
import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

interface Seen {
  ts: string;
  state: string;
  ev: SimEvent;
}

/**
 * E4 Transition projection order (PROTOCOL §7.2), judged on the wire: per endpoint, the
 * `transition_state` posts and the platform's successful answers to them both follow the order of
 * the transitions' own timestamps. A post may repeat the latest transition (a retry after a
 * transient failure) but never one older than a transition already posted or applied. Two
 * transitions in the same millisecond cannot be ordered from the outside and are both legal.
 */
export const E4 = defineChecker({
  id: "E4",
  kind: "safety",
  kinds: ["start", "in:api_result", "out:api_call"],
  statement: "Per endpoint, the platform receives transition states in the order they occurred.",
  create() {
    /** Endpoint → latest transition posted / applied (answered ok), by timestamp. */
    let posted = new Map<string, Seen>();
    let applied = new Map<string, Seen>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          posted = new Map();
          applied = new Map();
          return undefined;
        }
        if (ev.k === "out") {
          const o = ev.output;
          if (o.kind !== "api_call" || o.op !== "transition_state") return undefined;
          const a = o.args;
          const prev = posted.get(a.endpoint_id);
          if (prev && a.ts < prev.ts) {
            return {
              message: `endpoint ${a.endpoint_id}: transition ${a.state}@${a.ts} was posted after the later transition ${prev.state}@${prev.ts}.`,
              involved: [describe(prev.ev), describe(ev)],
            };
          }
          posted.set(a.endpoint_id, { ts: a.ts, state: a.state, ev });
          return undefined;
        }
        if (ev.k !== "in" || ev.input.kind !== "api_result" || !ev.input.result.ok) return undefined;
        const call = v.lastApiCall;
        if (call?.op !== "transition_state") return undefined;
        const a = call.args as { endpoint_id: string; state: string; ts: string };
        const prev = applied.get(a.endpoint_id);
        if (prev && a.ts < prev.ts) {
          return {
            message: `endpoint ${a.endpoint_id}: the platform applied transition ${a.state}@${a.ts} after the later transition ${prev.state}@${prev.ts}.`,
            involved: [describe(prev.ev), describe(ev)],
          };
        }
        applied.set(a.endpoint_id, { ts: a.ts, state: a.state, ev });
        return undefined;
      },
    };
  },
});
