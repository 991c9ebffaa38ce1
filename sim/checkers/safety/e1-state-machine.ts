import { defineChecker } from "../checker.ts";
import { SIM_EPOCH_MS } from "../../kernel/clock.ts";
import { describe } from "../util.ts";

/** Legal projected transitions (PROTOCOL §1.4): `from>to` → allowed reasons. */
const EDGES = new Map<string, Set<string>>([
  ["none>active", new Set(["register"])],
  ["active>reconnecting", new Set(["ipc_close"])],
  ["active>closed", new Set(["plugin_exit", "explicit_unregister"])],
  ["reconnecting>active", new Set(["reattach"])],
  ["reconnecting>closed", new Set(["grace_timeout", "explicit_unregister", "plugin_exit"])],
  // A reattach marks the endpoint active without projecting it and projects `active`/`reattach`
  // only once its buffer drained; a failed drain applies `ipc_close` (PROTOCOL §3 reattach route),
  // so the platform sees reconnecting → reconnecting, or → closed/plugin_exit if the probe says dead.
  ["reconnecting>reconnecting", new Set(["ipc_close"])],
]);

/** States reachable from `from` through one or more edges of the table. */
function reachable(from: string): Set<string> {
  const seen = new Set<string>();
  const todo = [from];
  while (todo.length > 0) {
    const at = todo.pop()!;
    for (const edge of EDGES.keys()) {
      const [a, b] = edge.split(">") as [string, string];
      if (a === at && !seen.has(b)) {
        seen.add(b);
        todo.push(b);
      }
    }
  }
  return seen;
}

/** Can `to` (for `reason`) follow `from` once one or more projections in between were dropped? */
function viaGap(from: string, to: string, reason: string): boolean {
  for (const x of reachable(from)) if (EDGES.get(`${x}>${to}`)?.has(reason)) return true;
  return false;
}

/** E1 State machine (PROTOCOL §7.2). */
export const E1 = defineChecker({
  id: "E1",
  kind: "safety",
  kinds: ["start", "out:api_call"],
  statement:
    "Endpoint state projections follow the §1.4 table exactly: register ⇒ active, ipc_close ⇒ reconnecting or closed, reattach ⇒ active, grace timeout or unregister ⇒ closed, and nothing after closed.",
  create() {
    let state = new Map<string, string>();
    /** The last projection per endpoint: a retry after a transient failure repeats it exactly. */
    let last = new Map<string, string>();
    return {
      onEvent(ev) {
        if (ev.k === "start") {
          state = new Map();
          last = new Map();
          return undefined;
        }
        if (ev.k !== "out" || ev.output.kind !== "api_call" || ev.output.op !== "transition_state")
          return undefined;
        const a = ev.output.args;
        const key = `${a.state}|${a.reason}|${a.ts}`;
        if (last.get(a.endpoint_id) === key) return undefined;
        last.set(a.endpoint_id, key);
        const from = state.get(a.endpoint_id) ?? "none";
        const reasons = EDGES.get(`${from}>${a.state}`);
        state.set(a.endpoint_id, a.state);
        // Legal gap: projections wait in a bounded queue while presence is not online, and overflow
        // drops the oldest queued one (PROTOCOL §1.9, §6 transition retry queue). A projection that
        // waited there (its `ts`, the moment of the transition, is before the post) may follow a
        // dropped predecessor, so the platform can see a path of the table with steps missing.
        if (!reasons?.has(a.reason) && deferred(a.ts, ev.t) && viaGap(from, a.state, a.reason))
          return undefined;
        if (!reasons) {
          return {
            message: `endpoint ${a.endpoint_id} was projected ${from} → ${a.state} (${a.reason}), which the state machine does not allow.`,
            involved: [describe(ev)],
          };
        }
        if (!reasons.has(a.reason)) {
          return {
            message: `endpoint ${a.endpoint_id} went ${from} → ${a.state} with reason "${a.reason}"; allowed: ${[...reasons].join(", ")}.`,
            involved: [describe(ev)],
          };
        }
        return undefined;
      },
    };
  },
});

/** Did the transition at ISO time `ts` happen before `t` (virtual ms since the run started)? */
function deferred(ts: string, t: number): boolean {
  const at = Date.parse(ts);
  return Number.isFinite(at) && at - SIM_EPOCH_MS < t;
}
