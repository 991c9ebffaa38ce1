/**
 * T2 (deadlines armed for their configured delay, never early, never left overdue) and T3 (timer
 * causes name a deadline that fired): each with hand-made histories that violate it and legal twins,
 * and each against a mutant of the real core that the simulator must catch.
 */

import { describe, expect, it } from "vitest";
import type { BrokerCore } from "../../src/broker/broker.ts";
import type { Deadline, DeadlineChange } from "../../src/broker/deadline-kinds.ts";
import type { Output } from "../../src/broker/types.ts";
import { T2 } from "../../sim/checkers/safety/t2-deadline-bounds.ts";
import { T3 } from "../../sim/checkers/safety/t3-timer-causes.ts";
import { DEADLINE_TOLERANCE_MS } from "../../sim/checkers/timer-bounds.ts";
import { SIM_EPOCH_MS } from "../../sim/kernel/clock.ts";
import { runScenario } from "../../sim/run.ts";
import { happyPath } from "../../sim/scenarios/happy-path.ts";
import { REFERENCE_TARGET } from "../../sim/targets/reference.ts";
import type { Target, TargetKind } from "../../sim/targets/target.ts";
import { check, History } from "./support/history.ts";

const ACCEPT_MS = 30_000;
const acceptance: Deadline = { kind: "acceptance", sourceMessageId: "m1", assignmentId: "a1" };
const grace: Deadline = { kind: "grace", endpointId: "ep-7" };
const arm = (deadline: Deadline, atT: number): DeadlineChange => ({
  op: "arm",
  deadline,
  atMs: SIM_EPOCH_MS + atT,
});
const fire = (deadline: Deadline): DeadlineChange => ({ op: "fire", deadline });
const clear = (deadline: Deadline): DeadlineChange => ({ op: "clear", deadline });

/** A history whose step at t=100 arms the acceptance deadline for `delayMs`. */
function armedAcceptance(delayMs = ACCEPT_MS): History {
  return new History({ acceptanceTimeoutMs: ACCEPT_MS })
    .at(100)
    .in({ kind: "control_event", event: {} })
    .end(0, [arm(acceptance, 100 + delayMs)]);
}

describe("T2 deadlines on both sides", () => {
  it("fires when an acceptance deadline is armed for longer than acceptanceTimeoutMs", () => {
    const f = check(T2, armedAcceptance(2 * ACCEPT_MS));
    expect(f?.message).toContain("late");
  });

  it("fires when an acceptance deadline is armed for less than acceptanceTimeoutMs", () => {
    expect(check(T2, armedAcceptance(ACCEPT_MS - 1))?.message).toContain("early");
  });

  it("fires when a deadline run ends with the acceptance deadline overdue beyond the tolerance", () => {
    const h = armedAcceptance()
      .at(100 + ACCEPT_MS + DEADLINE_TOLERANCE_MS + 1)
      .advance()
      .end();
    expect(check(T2, h)?.message).toContain("still armed");
  });

  it("fires when a deadline fires before it is due", () => {
    const h = armedAcceptance()
      .at(100 + ACCEPT_MS - 10)
      .advance(acceptance)
      .end(0, [fire(acceptance)]);
    expect(check(T2, h)?.message).toContain("before it was due");
  });

  it("passes an acceptance deadline armed for its configured delay that fires when due", () => {
    const h = armedAcceptance()
      .at(100 + ACCEPT_MS)
      .advance(acceptance)
      .end(0, [fire(acceptance)]);
    expect(check(T2, h)).toBeUndefined();
  });

  it("passes an acceptance deadline cleared by the acceptance, whatever time it is later", () => {
    const h = armedAcceptance()
      .at(5_000)
      .in({ kind: "control_event", event: {} })
      .end(0, [clear(acceptance)])
      .at(10 * ACCEPT_MS)
      .advance()
      .end();
    expect(check(T2, h)).toBeUndefined();
  });

  it("passes an overdue deadline that fires at the first deadline run after a forward clock jump", () => {
    const late = 100 + ACCEPT_MS + 60_000;
    const h = armedAcceptance().at(late).in({ kind: "control_event", event: {} }).end();
    h.advance(acceptance).end(0, [fire(acceptance)]);
    expect(check(T2, h)).toBeUndefined();
  });

  it("fires when a grace deadline is armed for other than graceMs", () => {
    const h = new History({ graceMs: 600_000 })
      .at(10)
      .in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true })
      .end(0, [arm(grace, 10 + 60_000)]);
    expect(check(T2, h)?.message).toContain("graceMs");
  });
});

describe("T3 timer causes name a deadline that fired", () => {
  const closeEp7: Output = {
    kind: "api_call",
    id: 1,
    op: "transition_state",
    args: { endpoint_id: "ep-7", state: "closed", reason: "grace_timeout", ts: "x" },
  } as Output;

  function graceRun(cause: Output["cause"]): History {
    return new History()
      .at(10)
      .in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true })
      .end(0, [arm(grace, 600_010)])
      .at(600_010)
      .advance(grace)
      .out({ ...closeEp7, cause })
      .end(0, [fire(grace)]);
  }

  it("passes an output caused by the grace deadline of ep-7 that fired in the same step", () => {
    expect(check(T3, graceRun({ kind: "timer", deadline: grace }))).toBeUndefined();
  });

  it("passes a later step's output that keeps the cause of a deadline that fired earlier", () => {
    const h = graceRun({ kind: "timer", deadline: grace })
      .at(600_050)
      .result(1)
      .out({ kind: "connector_connect", cause: { kind: "timer", deadline: grace } })
      .end();
    expect(check(T3, h)).toBeUndefined();
  });

  it("fires when a timer cause drops the deadline's ids", () => {
    const dropped = { kind: "timer", deadline: { kind: "grace" } } as unknown as Output["cause"];
    expect(check(T3, graceRun(dropped))?.message).toContain("never armed and fired");
  });

  it("fires when a timer cause names another endpoint's grace deadline", () => {
    const other: Deadline = { kind: "grace", endpointId: "ep-8" };
    expect(check(T3, graceRun({ kind: "timer", deadline: other }))?.message).toContain("ep-8");
  });

  it("fires when a deadline fires that was never armed", () => {
    const h = new History()
      .at(10)
      .advance(grace)
      .end(0, [fire(grace)]);
    expect(check(T3, h)?.message).toContain("was not armed");
  });
});

/** The reference core with `mutate` applied to each new process and `rewrite` to its outputs. */
function mutant(mutate: (core: BrokerCore) => void, rewrite: (o: Output) => Output = (o) => o): TargetKind {
  return {
    ...REFERENCE_TARGET,
    name: "mutant",
    open() {
      const run = REFERENCE_TARGET.open();
      return {
        start(s) {
          const t = run.start(s) as Target & { core: BrokerCore };
          mutate(t.core);
          const take = t.takeOutputs.bind(t);
          t.takeOutputs = () => take().map(rewrite);
          return t;
        },
        close: () => run.close(),
      };
    },
  };
}

describe("T2 and T3 against mutants of the core", () => {
  it("T2 catches a core that arms the acceptance timeout for twice its configured value", () => {
    const target = mutant((core) => {
      const opts = core.env.opts as { acceptanceTimeoutMs: number };
      opts.acceptanceTimeoutMs *= 2;
    });
    const r = runScenario(happyPath, 1, { target, checkers: [T2], safetyOnly: true });
    expect(r.violation?.invariant).toBe("T2");
    expect(r.violation?.message).toContain("acceptance");
  });

  it("T3 catches a core whose timer causes drop the deadline's ids", () => {
    const target = mutant(
      () => {},
      (o) =>
        o.cause?.kind === "timer"
          ? ({ ...o, cause: { kind: "timer", deadline: { kind: o.cause.deadline.kind } } } as Output)
          : o,
    );
    const r = runScenario(happyPath, 1, { target, checkers: [T3], safetyOnly: true });
    expect(r.violation?.invariant).toBe("T3");
  });

  it("passes the unmutated core on the same run", () => {
    const r = runScenario(happyPath, 1, { checkers: [T2, T3], safetyOnly: true });
    expect(r.violation).toBeUndefined();
  });
});
