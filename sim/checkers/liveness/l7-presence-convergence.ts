import { SIM_EPOCH_MS } from "../../kernel/clock.ts";
import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";
import { firstFew, Phase, plural } from "./phase.ts";

/**
 * How far a presence change may sit from the connector event that causes it: the change happens in
 * the same step, and its timestamp has millisecond resolution (virtual time need not be whole).
 */
export const PRESENCE_STEP_TOLERANCE_MS = 1;
/**
 * How late `offline` may come after `presenceGraceMs` of disconnection: the grace timer runs at the
 * first deadline run at or after its due time; the tolerance is the timer resolution of
 * docs/protocol.md "Timer bounds".
 */
export const PRESENCE_GRACE_TOLERANCE_MS = 1_000;

type PresenceState = "online" | "reconnecting" | "offline";

interface Change {
  t: number;
  state: PresenceState;
  /**
   * Observed at its own time in a step where the connector was connected (the step that took the
   * accepted REGISTER_ACK, or one inside a connected interval). Such a change is inside a connected
   * interval even when that interval ends in the same virtual instant, which times alone cannot
   * show (`[from, to)` is empty when `from === to`).
   */
  live: boolean;
}

/**
 * L7 Presence convergence (PROTOCOL §7.4). The connector is *connected* from the step that handles
 * an accepted REGISTER_ACK (one the broker did not answer by closing the socket) until the socket
 * closes. Presence changes are read from the wire: the `presence_changed` pushes to open channels
 * (at the step's time) and the `network_presence_changed` posts (at their `ts`), whichever shows a
 * change first. Judged at the end of the liveness phase, each rule at its own deadline:
 * - every observed `online` lies inside a connected interval (or in the step that began it);
 * - every connect in the liveness phase has an `online` change within one step;
 * - every disconnection in the liveness phase that lasted `presenceGraceMs` has an `offline` change
 *   between `presenceGraceMs` and `presenceGraceMs + PRESENCE_GRACE_TOLERANCE_MS` after it, and no
 *   `offline` comes before a full grace of disconnection.
 */
export const L7 = defineChecker({
  id: "L7",
  kind: "liveness",
  kinds: [
    "start",
    "in:connector_closed",
    "in:connector_frame",
    "out:connector_close",
    "out:ipc_push",
    "out:api_call",
    "step_end",
    "truth:liveness_begin",
    "truth:liveness_end",
    "quiescent",
  ],
  statement:
    "Presence is online within one step of a connector connect, offline after presenceGraceMs of continuous disconnection, and never online while disconnected.",
  create() {
    const phase = new Phase();
    /** Connected intervals of this process: [from, to), `to` undefined while connected. */
    let intervals: Array<{ from: number; to: number | undefined }> = [];
    let changes = new Map<string, Change>();
    let ackStep: number | undefined;
    let closedInStep = false;
    const record = (c: Change) => changes.set(`${c.state}@${c.t}@${c.live}`, c);
    const connectedNow = () =>
      (ackStep !== undefined && !closedInStep) ||
      (intervals.length > 0 && intervals.at(-1)!.to === undefined);
    return {
      onEvent(ev, v) {
        if (phase.observe(ev)) return undefined;
        switch (ev.k) {
          case "start":
            intervals = [];
            changes = new Map();
            ackStep = undefined;
            return undefined;
          case "in": {
            ackStep = undefined;
            closedInStep = false;
            const input = ev.input;
            if (input.kind === "connector_closed") {
              const last = intervals.at(-1);
              if (last && last.to === undefined) last.to = ev.t;
            } else if (input.kind === "connector_frame" && isRegisterAckOk(v.stepFrame)) {
              ackStep = ev.t;
            }
            return undefined;
          }
          case "out": {
            const o = ev.output;
            if (o.kind === "connector_close") closedInStep = true;
            else if (o.kind === "ipc_push" && o.frame.event === "presence_changed")
              record({ t: ev.t, state: o.frame.presence as PresenceState, live: connectedNow() });
            else if (o.kind === "api_call" && o.op === "presence_changed") {
              const t = o.args.ts - SIM_EPOCH_MS;
              const live = connectedNow() && Math.abs(t - ev.t) <= PRESENCE_STEP_TOLERANCE_MS;
              record({ t, state: o.args.state, live });
            }
            return undefined;
          }
          case "step_end":
            if (ackStep !== undefined && !closedInStep) {
              const last = intervals.at(-1);
              if (!last || last.to !== undefined) intervals.push({ from: ackStep, to: undefined });
            }
            ackStep = undefined;
            return undefined;
          default:
            break;
        }
        if (!phase.isVerdict(ev) || phase.beganAt === undefined) return undefined;
        return verdict(
          phase.beganAt,
          ev.t,
          intervals,
          [...changes.values()],
          v.options?.presenceGraceMs ?? 600_000,
          describe(ev),
        );
      },
    };
  },
});

function isRegisterAckOk(f: Record<string, unknown> | undefined): boolean {
  return f?.event === "REGISTER_ACK" && f.status !== "error";
}

function verdict(
  healedAt: number,
  endT: number,
  intervals: ReadonlyArray<{ from: number; to: number | undefined }>,
  changes: Change[],
  graceMs: number,
  at: string,
) {
  const tol = PRESENCE_STEP_TOLERANCE_MS;
  changes.sort((a, b) => a.t - b.t);
  const connectedAt = (t: number) =>
    intervals.some((i) => i.from - tol <= t && (i.to === undefined || t < i.to));
  const problems: string[] = [];
  for (const c of changes) {
    if (c.state === "online" && !c.live && !connectedAt(c.t))
      problems.push(`online at t=${c.t} while disconnected`);
  }
  for (const i of intervals) {
    if (i.from < healedAt) continue;
    if (!changes.some((c) => c.state === "online" && Math.abs(c.t - i.from) <= tol))
      problems.push(`connected at t=${i.from} without an online change in that step`);
  }
  // Disconnections: the gaps between connected intervals, and after the last one.
  for (let k = 0; k < intervals.length; k++) {
    const down = intervals[k]!.to;
    if (down === undefined) continue;
    const up = intervals[k + 1]?.from ?? endT;
    const offline = changes.filter((c) => c.state === "offline" && c.t >= down && c.t <= up);
    for (const c of offline) {
      if (c.t - down < graceMs - tol)
        problems.push(
          `offline at t=${c.t}, ${c.t - down} ms after the disconnect at t=${down} (grace ${graceMs} ms)`,
        );
    }
    if (down < healedAt || up - down < graceMs + PRESENCE_GRACE_TOLERANCE_MS) continue;
    if (!offline.some((c) => c.t <= down + graceMs + PRESENCE_GRACE_TOLERANCE_MS))
      problems.push(
        `disconnected from t=${down} to t=${up} without going offline by t=${down + graceMs + PRESENCE_GRACE_TOLERANCE_MS}`,
      );
  }
  if (problems.length === 0) return undefined;
  return {
    message: `${plural(problems.length, "presence problem")}: ${firstFew(problems)}.`,
    involved: [...problems, at],
  };
}
