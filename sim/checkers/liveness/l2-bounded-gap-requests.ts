import { defineChecker } from "../checker.ts";
import { sentFrame } from "../util.ts";

/**
 * How many REQUEST_GAP_FILL frames one gap may cause beyond its time-based allowance: the burst of
 * a backoff that doubles from `gapFillRetryInitialMs` to `gapFillRetryMaxMs` (1 s → 30 s is six
 * steps), plus room for frames that reveal the same hole while the first request is answered.
 */
export const GAP_REQUESTS_PER_GAP_MAX = 8;

/** L2 Bounded gap requests (PROTOCOL §7.4), checked online on every REQUEST_GAP_FILL. */
export const L2 = defineChecker({
  id: "L2",
  kind: "liveness",
  kinds: ["start", "in:connector_open", "out:connector_send"],
  statement:
    "REQUEST_GAP_FILL frames stay bounded per distinct gap (process, socket, cursor value): a constant burst plus one per gapFillRetryMaxMs spent at that gap, so a blocked seq never drives an unbounded request/replay loop.",
  create() {
    let incarnation = 0;
    let socket = 0;
    /** Per gap: first request time and request count. */
    const gaps = new Map<string, { firstT: number; count: number }>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          incarnation = ev.incarnation;
          socket = 0;
          gaps.clear();
          return undefined;
        }
        if (ev.k === "in") {
          if (ev.input.kind === "connector_open") {
            socket++;
            // A new socket starts every gap afresh (the broker's backoff resets with it).
            gaps.clear();
          }
          return undefined;
        }
        const f = sentFrame(ev);
        if (f?.event !== "REQUEST_GAP_FILL") return undefined;
        const key = `${incarnation}:${socket}:${f.sinceSeq}`;
        let g = gaps.get(key);
        if (!g) {
          g = { firstT: ev.t, count: 0 };
          gaps.set(key, g);
        }
        g.count++;
        const retryMaxMs = v.options?.gapFillRetryMaxMs ?? 30_000;
        const allowed = GAP_REQUESTS_PER_GAP_MAX + Math.floor((ev.t - g.firstT) / retryMaxMs);
        if (g.count <= allowed) return undefined;
        return {
          message: `${g.count} REQUEST_GAP_FILL(${f.sinceSeq}) frames on one socket within ${ev.t - g.firstT} ms; at most ${allowed} are allowed for one gap (burst ${GAP_REQUESTS_PER_GAP_MAX} + one per ${retryMaxMs} ms).`,
          involved: [`first request for this gap at t=${g.firstT}`],
        };
      },
    };
  },
});
