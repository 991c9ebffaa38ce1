import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/**
 * A1 Sequence monotonicity (PROTOCOL §7.3).
 *
 * A post that repeats an accepted event exactly (same `state_event_id` and `state_sequence`) is
 * the same event retried: the platform answers it ok without recording a second state (an
 * idempotent retry), so it is not a second accepted post.
 */
export const A1 = defineChecker({
  id: "A1",
  kind: "safety",
  kinds: ["in:api_result", "out:api_call"],
  statement:
    "For each assignment, the state_sequence values of processing-state posts the platform accepted are strictly increasing in post order.",
  create() {
    let order = 0;
    const postIndex = new Map<number, number>();
    const okPosts = new Map<string, Array<{ index: number; seq: number; state: string; eventId: string }>>();
    return {
      onEvent(ev, v) {
        if (ev.k === "out" && ev.output.kind === "api_call" && ev.output.op === "processing_state") {
          postIndex.set(ev.output.id + v.incarnation * 1e9, order++);
          return undefined;
        }
        if (ev.k !== "in" || ev.input.kind !== "api_result" || !ev.input.result.ok) return undefined;
        const call = v.lastApiCall;
        if (call?.op !== "processing_state") return undefined;
        const a = call.args as {
          assignment_id: string;
          state_sequence: number;
          state: string;
          state_event_id: string;
        };
        const index = postIndex.get(call.id + v.incarnation * 1e9) ?? order;
        postIndex.delete(call.id + v.incarnation * 1e9);
        let list = okPosts.get(a.assignment_id);
        if (!list) {
          list = [];
          okPosts.set(a.assignment_id, list);
        }
        if (list.some((p) => p.eventId === a.state_event_id && p.seq === a.state_sequence)) return undefined;
        for (const p of list) {
          if (
            (p.index < index && p.seq >= a.state_sequence) ||
            (p.index > index && p.seq <= a.state_sequence)
          ) {
            return {
              message: `assignment ${a.assignment_id}: ${a.state} with state_sequence ${a.state_sequence} and ${p.state} with ${p.seq} were both accepted, but in post order the sequence does not increase.`,
              involved: [describe(ev)],
            };
          }
        }
        list.push({ index, seq: a.state_sequence, state: a.state, eventId: a.state_event_id });
        return undefined;
      },
    };
  },
});
