import { defineChecker } from "../checker.ts";

const TARGET_LOST = "target_lost_before_acceptance";

/**
 * A13 Restores take only their endpoint's unaccepted assignments (our addition beside PROTOCOL §7;
 * the rule is §5.3: a restore puts back the assignments of the endpoint it concerns that no adapter
 * accepted). Read from the broker's own `target_lost_before_acceptance` posts (not an adapter's
 * report of that state) in one incarnation:
 * - never for an assignment whose `adapter_accepted` the platform took (posted and answered ok);
 * - with reason `adapter_acceptance_timeout`, only for an endpoint that holds an assignment
 *   dispatched (its `assigned_to_runtime_target` post) at least `acceptanceTimeoutMs` earlier: the
 *   deadline of one of that endpoint's assignments fired;
 * - with reason `endpoint_lost`, only for an endpoint that is not active, or that changed state
 *   since the assignment was dispatched (lost, then reattached).
 * A restore that also took another endpoint's assignments, or accepted ones, breaks it.
 */
export const A13 = defineChecker({
  id: "A13",
  kind: "safety",
  kinds: ["start", "in", "out"],
  statement:
    "The broker posts target_lost_before_acceptance only for an unaccepted assignment of an endpoint that was lost or whose acceptance deadline fired.",
  create() {
    /** Assignment key → endpoint and time of its first `assigned_to_runtime_target` post. */
    const dispatched = new Map<string, { endpoint: string; t: number }>();
    /** Endpoint → its dispatched assignments (key, time), oldest first; accepted ones are pruned. */
    const byEndpoint = new Map<string, Array<{ key: string; t: number }>>();
    const accepted = new Set<string>();
    /** Open `adapter_accepted` posts: call id → assignment key. */
    const accepting = new Map<number, string>();
    /** IPC requests reporting target_lost themselves (an adapter's report, not a restore). */
    const adapterLost = new Set<number>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          dispatched.clear();
          byEndpoint.clear();
          accepted.clear();
          accepting.clear();
          adapterLost.clear();
          return undefined;
        }
        if (ev.k === "in") {
          const input = ev.input;
          if (input.kind === "ipc_request") {
            const b = input.body as { state?: unknown } | null;
            if (b?.state === TARGET_LOST) adapterLost.add(input.id);
          } else if (input.kind === "api_result") {
            const key = accepting.get(input.id);
            accepting.delete(input.id);
            if (key !== undefined && input.result.ok) accepted.add(key);
          }
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind !== "api_call" || o.op !== "processing_state") return undefined;
        const a = o.args;
        const key = `${a.source_message_id}|${a.assignment_id}`;
        const endpoint = a.target_ref?.projection_endpoint_id;
        if (a.state === "assigned_to_runtime_target") {
          if (!dispatched.has(key) && typeof endpoint === "string") {
            dispatched.set(key, { endpoint, t: ev.t });
            const list = byEndpoint.get(endpoint) ?? [];
            list.push({ key, t: ev.t });
            byEndpoint.set(endpoint, list);
          }
          return undefined;
        }
        if (a.state === "adapter_accepted") {
          accepting.set(o.id, key);
          return undefined;
        }
        if (a.state !== TARGET_LOST) return undefined;
        if (o.cause?.kind === "request" && adapterLost.has(o.cause.request)) return undefined;
        const what = `target_lost_before_acceptance for assignment ${a.assignment_id} of ${String(endpoint)} (reason ${String(a.reason_code)})`;
        if (accepted.has(key)) return { message: `${what}, which the platform had taken as accepted.` };
        if (typeof endpoint !== "string") return undefined;
        if (a.reason_code === "adapter_acceptance_timeout") {
          const timeoutMs = v.options?.acceptanceTimeoutMs ?? 30_000;
          if (dispatched.has(key) && !dueUnaccepted(endpoint, ev.t - timeoutMs))
            return {
              message: `${what}: no unaccepted assignment of that endpoint was dispatched ${timeoutMs} ms before, so no acceptance deadline of it fired.`,
            };
          return undefined;
        }
        if (a.reason_code === "endpoint_lost") {
          const e = v.endpoints.get(endpoint);
          const since = dispatched.get(key)?.t;
          if (e !== undefined && e.state === "active" && since !== undefined && e.sinceT < since)
            return {
              message: `${what}: the endpoint has been active since t=${e.sinceT}, before the assignment was dispatched at t=${since}.`,
            };
        }
        return undefined;
      },
    };

    /** Was some assignment of `endpoint` the platform never took as accepted dispatched by `t`? */
    function dueUnaccepted(endpoint: string, t: number): boolean {
      const list = byEndpoint.get(endpoint) ?? [];
      while (list.length > 0 && accepted.has(list[0]!.key)) list.shift();
      for (const d of list) {
        if (d.t > t) return false;
        if (!accepted.has(d.key)) return true;
      }
      return false;
    }
  },
});
