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

/**
 * E1 State machine (PROTOCOL §7.2).
 *
 * Projections wait in the transition queue while presence is not `online`, and an overflow drops
 * the oldest waiting one (PROTOCOL §1.9), so the platform may see a path of the table with steps
 * missing. A gap is accepted only where a drop was possible: presence was not online at some moment
 * after the endpoint's previous projection happened (its `ts`; for its first projection, after its
 * registration was answered), or the projection itself waited (posted after its `ts`). Presence is
 * not online from a broker start and from a connector close until a `REGISTER_ACK` with status `ok`.
 */
export const E1 = defineChecker({
  id: "E1",
  kind: "safety",
  kinds: ["start", "in:connector_closed", "in:connector_frame", "out:ipc_response", "out:api_call"],
  statement:
    "Endpoint state projections follow the §1.4 table exactly: register ⇒ active, ipc_close ⇒ reconnecting or closed, reattach ⇒ active, grace timeout or unregister ⇒ closed, and nothing after closed.",
  create() {
    let state = new Map<string, string>();
    /** The last projection per endpoint: a retry after a transient failure repeats it exactly. */
    let last = new Map<string, string>();
    /** Per endpoint, when its latest accepted projection happened (or its registration, before one). */
    let since = new Map<string, number>();
    let online = false;
    /** When presence last stopped being "not online" (a broker start counts as not online). */
    let lastNotOnlineMs = 0;
    return {
      onEvent(ev) {
        if (ev.k === "start") {
          state = new Map();
          last = new Map();
          since = new Map();
          online = false;
          lastNotOnlineMs = ev.t;
          return undefined;
        }
        if (ev.k === "in") {
          const input = ev.input;
          if (input.kind === "connector_closed") online = false;
          else if (input.kind === "connector_frame" && registerAckOk(input.text)) {
            if (!online) lastNotOnlineMs = ev.t;
            online = true;
          }
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "ipc_response") {
          const id = registeredEndpoint(o.status, o.body);
          if (id !== undefined && !since.has(id)) since.set(id, ev.t);
          return undefined;
        }
        if (o.kind !== "api_call" || o.op !== "transition_state") return undefined;
        const a = o.args;
        const key = `${a.state}|${a.reason}|${a.ts}`;
        if (last.get(a.endpoint_id) === key) return undefined;
        last.set(a.endpoint_id, key);
        const from = state.get(a.endpoint_id) ?? "none";
        const reasons = EDGES.get(`${from}>${a.state}`);
        state.set(a.endpoint_id, a.state);
        const prevMs = since.get(a.endpoint_id) ?? Number.NEGATIVE_INFINITY;
        since.set(a.endpoint_id, happenedAt(a.ts, ev.t));
        const dropPossible = deferred(a.ts, ev.t) || !online || lastNotOnlineMs >= prevMs;
        if (!reasons?.has(a.reason) && dropPossible && viaGap(from, a.state, a.reason)) return undefined;
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

/** Is `text` a `REGISTER_ACK` frame with status `ok` (presence goes online)? */
function registerAckOk(text: string): boolean {
  if (!text.includes("REGISTER_ACK")) return false;
  try {
    const f = JSON.parse(text) as { event?: unknown; status?: unknown };
    return f.event === "REGISTER_ACK" && f.status === "ok";
  } catch {
    return false;
  }
}

/** The endpoint a register answer created (only a register answer carries an owner token). */
function registeredEndpoint(status: number, body: unknown): string | undefined {
  if (status !== 200 || typeof body !== "object" || body === null) return undefined;
  const b = body as { endpoint_id?: unknown; endpoint_owner_token?: unknown };
  return typeof b.endpoint_id === "string" && typeof b.endpoint_owner_token === "string"
    ? b.endpoint_id
    : undefined;
}

/** Virtual ms of the transition at ISO time `ts`; `t` (when it was posted) if `ts` does not parse. */
function happenedAt(ts: string, t: number): number {
  const at = Date.parse(ts);
  return Number.isFinite(at) ? Math.min(at - SIM_EPOCH_MS, t) : t;
}

/** Did the transition at ISO time `ts` happen before `t` (virtual ms since the run started)? */
function deferred(ts: string, t: number): boolean {
  const at = Date.parse(ts);
  return Number.isFinite(at) && at - SIM_EPOCH_MS < t;
}
