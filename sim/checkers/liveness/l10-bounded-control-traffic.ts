import { defineChecker } from "../checker.ts";

/**
 * Control traffic one undispatched row may cause beyond its time-based allowance: a dispatch, its
 * duplicate deliveries and redeliveries, a backoff that doubles from 1 s to 30 s (six steps), the
 * broker's own `undispatched_changed` posts and retries for the row, and re-adds after crashes.
 */
export const ROW_TRAFFIC_BURST = 48;
/** One more control event or post per row is allowed for every this many ms since its first. */
export const ROW_TRAFFIC_PERIOD_MS = 5_000;
/** Failed dispatches one endpoint may collect beyond its per-row and time-based allowances. */
export const ENDPOINT_FAILURE_BURST = 20;
/** Failed dispatches allowed per distinct row dispatched to an endpoint: a backoff's first steps, each possibly delivered twice. */
export const ENDPOINT_FAILURES_PER_ROW = 12;

interface Count {
  firstT: number;
  count: number;
}

/**
 * L10 Bounded control traffic (our addition beside PROTOCOL §7.4 L2; see docs/durability.md),
 * checked online on every event, across broker incarnations.
 *
 * Per undispatched row: the `dispatch_undispatched` events the platform delivers for it plus the
 * broker's `undispatched_changed` posts for it. Per endpoint: the failed control acks of dispatches
 * targeting it. A platform that re-dispatches a row the broker cannot take every second, or a
 * broker that keeps failing dispatches to one endpoint, is a storm: it hid a lost message once
 * (78,000 failed acks in one seed) and made the seed slow rather than red.
 */
export const L10 = defineChecker({
  id: "L10",
  kind: "liveness",
  kinds: ["in:control_event", "out:api_call", "out:control_ack"],
  statement:
    "Control traffic stays bounded: per undispatched row, dispatch events plus undispatched_changed posts stay within a burst of 48 plus one per 5 s since the first; per endpoint, failed dispatches stay within a burst plus twelve per distinct row plus one per 5 s, so no storm of re-dispatches runs unnoticed.",
  create() {
    const rows = new Map<string, Count>();
    const endpoints = new Map<string, Count & { rows: Set<string> }>();
    /** Idempotency key → row and target endpoint of its dispatch event. */
    const dispatches = new Map<string, { row: string; endpoint: string | undefined }>();

    function bump(id: string, t: number) {
      let c = rows.get(id);
      if (!c) {
        c = { firstT: t, count: 0 };
        rows.set(id, c);
      }
      c.count++;
      const allowed = ROW_TRAFFIC_BURST + Math.floor((t - c.firstT) / ROW_TRAFFIC_PERIOD_MS);
      if (c.count <= allowed) return undefined;
      return {
        message: `undispatched row ${id} drew ${c.count} dispatch events and undispatched_changed posts within ${t - c.firstT} ms; at most ${allowed} are allowed (burst ${ROW_TRAFFIC_BURST} + one per ${ROW_TRAFFIC_PERIOD_MS} ms).`,
        involved: [`first traffic for this row at t=${c.firstT}`],
      };
    }

    return {
      onEvent(ev) {
        if (ev.k === "in") {
          if (ev.input.kind !== "control_event") return undefined;
          const e = ev.input.event as Record<string, unknown> | null;
          if (e?.type !== "dispatch_undispatched" || typeof e.undispatched_id !== "string") return undefined;
          const ref = e.target_ref as { projection_endpoint_id?: unknown } | undefined;
          const target = ref?.projection_endpoint_id ?? e.target_endpoint_id;
          if (typeof e.idempotency_key === "string") {
            dispatches.set(e.idempotency_key, {
              row: e.undispatched_id,
              endpoint: typeof target === "string" ? target : undefined,
            });
          }
          return bump(e.undispatched_id, ev.t);
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "api_call" && o.op === "undispatched_changed")
          return bump(o.args.undispatched_id, ev.t);
        if (o.kind !== "control_ack" || o.status !== "failed") return undefined;
        const d = dispatches.get(o.idempotency_key);
        if (d?.endpoint === undefined) return undefined;
        let c = endpoints.get(d.endpoint);
        if (!c) {
          c = { firstT: ev.t, count: 0, rows: new Set() };
          endpoints.set(d.endpoint, c);
        }
        c.count++;
        c.rows.add(d.row);
        const allowed =
          ENDPOINT_FAILURE_BURST +
          ENDPOINT_FAILURES_PER_ROW * c.rows.size +
          Math.floor((ev.t - c.firstT) / ROW_TRAFFIC_PERIOD_MS);
        if (c.count <= allowed) return undefined;
        return {
          message: `${c.count} dispatches to endpoint ${d.endpoint} failed within ${ev.t - c.firstT} ms for ${c.rows.size} distinct rows; at most ${allowed} are allowed (burst ${ENDPOINT_FAILURE_BURST} + ${ENDPOINT_FAILURES_PER_ROW} per row + one per ${ROW_TRAFFIC_PERIOD_MS} ms). Last: ${o.detail ?? "failed"}.`,
          involved: [`first failed dispatch to ${d.endpoint} at t=${c.firstT}`],
        };
      },
    };
  },
});
