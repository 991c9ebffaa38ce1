import { deadlineKey } from "../../../src/broker/deadline-kinds.ts";
import type { Cause } from "../../../src/broker/types.ts";
import { SIM_EPOCH_MS } from "../../kernel/clock.ts";
import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";
import { describeDeadline } from "./t2-deadline-bounds.ts";

type TimerCause = Extract<Cause, { kind: "timer" }>;

/**
 * T3 Timer causes name a deadline that fell due (targets with the `causes` capability): an output
 * whose cause is a deadline names, by kind and ids, a deadline the target armed and then fired in
 * this step or an earlier one of the same process (a platform answer or storage result keeps the
 * cause of the deadline that made the call); and a deadline fires only if it is armed and due. So a
 * checker that reads "the grace deadline of ep-7 did this" can trust it.
 */
export const T3 = defineChecker({
  id: "T3",
  kind: "safety",
  kinds: ["start", "out", "step_end"],
  statement:
    "An output caused by a deadline names, by kind and ids, a deadline that was armed and fired; a deadline fires only while armed and due.",
  create() {
    let armed = new Map<string, number>();
    let fired = new Set<string>();
    let pending: Array<{ cause: TimerCause; what: string }> = [];
    return {
      onEvent(ev) {
        if (ev.k === "start") {
          armed = new Map();
          fired = new Set();
          pending = [];
          return undefined;
        }
        if (ev.k === "out") {
          const c = ev.output.cause;
          if (c?.kind === "timer") pending.push({ cause: c, what: describe(ev) });
          return undefined;
        }
        if (ev.k !== "step_end") return undefined;
        for (const c of ev.deadlines ?? []) {
          const key = deadlineKey(c.deadline);
          if (c.op === "arm") armed.set(key, c.atMs - SIM_EPOCH_MS);
          else if (c.op === "clear") armed.delete(key);
          else {
            const dueT = armed.get(key);
            armed.delete(key);
            if (dueT === undefined) {
              return {
                message: `deadline ${describeDeadline(c.deadline)} fired at t=${ev.t} but was not armed.`,
              };
            }
            fired.add(key);
          }
        }
        const outs = pending;
        pending = [];
        for (const o of outs) {
          const d = o.cause.deadline;
          let key: string | undefined;
          try {
            key = d === undefined || typeof d !== "object" ? undefined : deadlineKey(d);
          } catch {
            key = undefined;
          }
          if (key !== undefined && fired.has(key)) continue;
          return {
            message: `an output's timer cause names ${d === undefined ? "no deadline" : JSON.stringify(d)}, which ${key !== undefined && armed.has(key) ? "is armed but has not fired" : "was never armed and fired"} in this process.`,
            involved: [o.what],
          };
        }
        return undefined;
      },
    };
  },
});
