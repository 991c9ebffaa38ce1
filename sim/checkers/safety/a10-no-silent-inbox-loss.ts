import { UNDISPATCHED_ROW_SETTLED } from "../../../src/broker/api.ts";
import { defineChecker } from "../checker.ts";

const FINAL_STATES = new Set(["reply_emitted", "processing_failed", "expired"]);

/** A10 No silent inbox loss (PROTOCOL §7.3), checked at the end of the run. */
export const A10 = defineChecker({
  id: "A10",
  kind: "safety",
  kinds: ["start", "in:api_result", "out:api_call", "quiescent"],
  statement:
    "Every row that entered the inbox is, at the end, still in the inbox, bound to a live assignment, finished (reply emitted or failed as the adapter reported), or announced removed.",
  create() {
    let added = new Set<string>();
    let accounted = new Set<string>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          added = new Set();
          accounted = new Set();
          return undefined;
        }
        if (ev.k === "out" && ev.output.kind === "api_call") {
          const o = ev.output;
          if (o.op === "undispatched_changed") {
            if (o.args.action === "add") added.add(o.args.undispatched_id);
            else accounted.add(o.args.undispatched_id);
          }
          return undefined;
        }
        // A final state the platform refused for good (4xx) is as final as an accepted one: the
        // broker posted it and nothing it can do would change the answer.
        if (
          ev.k === "in" &&
          ev.input.kind === "api_result" &&
          (ev.input.result.ok || ev.input.result.terminal)
        ) {
          const call = v.lastApiCall;
          // The platform settled this row long ago (its message was handled before a crash), and
          // the broker dropped its copy on that answer: nothing is lost.
          const r = ev.input.result;
          if (call?.op === "undispatched_changed" && !r.ok && r.code === UNDISPATCHED_ROW_SETTLED) {
            accounted.add((call.args as { undispatched_id: string }).undispatched_id);
          }
          if (call?.op === "processing_state") {
            const a = call.args as { state: string; undispatched_id?: string };
            if (FINAL_STATES.has(a.state) && a.undispatched_id !== undefined)
              accounted.add(a.undispatched_id);
          }
          return undefined;
        }
        if (ev.k !== "quiescent" || !ev.snapshot) return undefined;
        const inbox = new Set(ev.snapshot.inbox.ids);
        const bound = new Set(ev.snapshot.assignments.map((a) => a.undispatchedId));
        const inTransit = v.undispatchedInTransit();
        // A stopped broker (shutdown, §1.16; e.g. connector close 4001 "Replaced by new Runtime") has
        // flushed its assignments (§5.10): unaccepted ones were restored into the inbox, and the rest
        // (accepted, reply still owed) were forgotten by design before `exit(0)`. That process is
        // gone, like a crashed one (whose rows the next `start` forgets): a row this incarnation bound
        // to an assignment is not silently lost by it. Rows it never assigned are still judged.
        const shutDown = ev.snapshot.stopped === true;
        for (const id of added) {
          if (inbox.has(id) || bound.has(id) || accounted.has(id) || inTransit.has(id)) continue;
          if (shutDown && v.assignedIds.has(id)) continue;
          return {
            message: `inbox row ${id} is gone: it is not in the inbox, not bound to a live assignment, not finished and no remove event was posted.`,
            involved: [],
          };
        }
        return undefined;
      },
    };
  },
});
