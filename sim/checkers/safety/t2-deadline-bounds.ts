import {
  type Deadline,
  type DeadlineKind,
  deadlineIds,
  deadlineKey,
} from "../../../src/broker/deadline-kinds.ts";
import type { BrokerOptions } from "../../../src/broker/options.ts";
import { SIM_EPOCH_MS } from "../../kernel/clock.ts";
import { defineChecker } from "../checker.ts";
import { DEADLINE_TOLERANCE_MS } from "../timer-bounds.ts";

/** Kinds armed for one configured delay (PROTOCOL §6), and the option that sets it. */
const CONFIGURED_DELAY: Partial<Record<DeadlineKind, keyof BrokerOptions>> = {
  acceptance: "acceptanceTimeoutMs",
  grace: "graceMs",
  push_receipt: "pushReceiptTimeoutMs",
  send_ack: "sendAckTimeoutMs",
  register_ack: "registerAckTimeoutMs",
  presence_grace: "presenceGraceMs",
};

/** Virtual time is not always whole milliseconds; a due time this close counts as equal. */
const EPSILON_MS = 0.5;

interface Armed {
  deadline: Deadline;
  /** Due time, ms since the start of the run. */
  dueT: number;
  armedT: number;
}

export function describeDeadline(d: Deadline): string {
  const ids = deadlineIds(d);
  return ids.length === 0 ? d.kind : `${d.kind}(${ids.join(", ")})`;
}

/**
 * T2 Deadlines on both sides (PROTOCOL §6, §7), read from the deadlines the target reports each
 * step (targets with the `causes` capability):
 * - a deadline of a kind with one configured delay (acceptance, grace, push receipt, SEND_ACK,
 *   REGISTER_ACK, presence grace) is armed for exactly that delay: shorter fires early, longer late;
 * - no deadline fires before it is due;
 * - when a deadline run ends, no deadline is still armed more than the timer tolerance after it was
 *   due. Judged at the end of a run (an `advance` step), not at a firing's own time: after a forward
 *   clock jump the overdue deadlines fire at the first run, and that is on time.
 * The wire-only bounds (E2 grace, T1 SEND_ACK, I3 receipts, L7 presence) stay for targets that
 * report no deadlines; this one adds the acceptance timeout and the push-receipt early side, whose
 * arming the wire does not show.
 */
export const T2 = defineChecker({
  id: "T2",
  kind: "safety",
  kinds: ["start", "advance", "step_end"],
  statement:
    "Every deadline with a configured delay is armed for exactly that delay, none fires before it is due, and none is still armed when a deadline run ends more than the timer tolerance after it was due.",
  create() {
    let options: BrokerOptions | undefined;
    let armed = new Map<string, Armed>();
    /** No armed deadline is due before this (may be stale-low after a clear; a scan corrects it). */
    let earliestDueT = Number.POSITIVE_INFINITY;
    let advancing = false;
    return {
      onEvent(ev) {
        if (ev.k === "start") {
          options = ev.options;
          armed = new Map();
          earliestDueT = Number.POSITIVE_INFINITY;
          advancing = false;
          return undefined;
        }
        if (ev.k === "advance") {
          advancing = true;
          return undefined;
        }
        if (ev.k !== "step_end") return undefined;
        const wasAdvance = advancing;
        advancing = false;
        for (const c of ev.deadlines ?? []) {
          const key = deadlineKey(c.deadline);
          if (c.op === "arm") {
            const dueT = c.atMs - SIM_EPOCH_MS;
            const option = CONFIGURED_DELAY[c.deadline.kind];
            const want = option === undefined ? undefined : (options?.[option] as number | undefined);
            if (want !== undefined && Math.abs(dueT - ev.t - want) > EPSILON_MS) {
              return {
                message: `deadline ${describeDeadline(c.deadline)} was armed at t=${ev.t} to fall due ${dueT - ev.t} ms later; ${option} is ${want} ms, so it would fire ${dueT - ev.t < want ? "early" : "late"}.`,
                involved: [`arm ${describeDeadline(c.deadline)} at t=${ev.t}, due t=${dueT}`],
              };
            }
            armed.set(key, { deadline: c.deadline, dueT, armedT: ev.t });
            if (dueT < earliestDueT) earliestDueT = dueT;
          } else if (c.op === "clear") {
            armed.delete(key);
          } else {
            const a = armed.get(key);
            armed.delete(key);
            if (a !== undefined && ev.t < a.dueT - EPSILON_MS) {
              return {
                message: `deadline ${describeDeadline(c.deadline)} fired at t=${ev.t}, ${a.dueT - ev.t} ms before it was due (armed at t=${a.armedT} for t=${a.dueT}).`,
                involved: [`arm at t=${a.armedT}, due t=${a.dueT}`, `fire at t=${ev.t}`],
              };
            }
          }
        }
        if (!wasAdvance || ev.t <= earliestDueT + DEADLINE_TOLERANCE_MS) return undefined;
        earliestDueT = Number.POSITIVE_INFINITY;
        for (const a of armed.values()) {
          if (ev.t > a.dueT + DEADLINE_TOLERANCE_MS) {
            return {
              message: `deadline ${describeDeadline(a.deadline)} is still armed when the deadline run at t=${ev.t} ends, ${ev.t - a.dueT} ms after it was due (tolerance ${DEADLINE_TOLERANCE_MS} ms).`,
              involved: [`arm at t=${a.armedT}, due t=${a.dueT}`],
            };
          }
          if (a.dueT < earliestDueT) earliestDueT = a.dueT;
        }
        return undefined;
      },
    };
  },
});
