/**
 * L11 control events answered, on hand-made histories: a dispatch event the broker never acks is
 * reported at the end of the liveness phase; an acked one, one lost to a crash, and a duplicate of
 * an answered key are not.
 */

import { describe, expect, it } from "vitest";
import { L11 } from "../../sim/checkers/liveness/l11-control-events-answered.ts";
import { check, History } from "./support/history.ts";

function dispatch(h: History, key: string): History {
  return h
    .in({
      kind: "control_event",
      event: { type: "dispatch_undispatched", version: 1, idempotency_key: key, undispatched_id: "m1" },
    })
    .end();
}

function ack(h: History, key: string): History {
  return h.out({ kind: "control_ack", idempotency_key: key, status: "applied" }).end();
}

/** Close a history with a liveness phase ending at `endT`. */
function converge(h: History, endT: number): History {
  h.events.push({ k: "truth", t: h.t, fact: { f: "liveness_begin", budgetMs: endT - h.t } });
  h.at(endT);
  h.events.push({ k: "truth", t: endT, fact: { f: "liveness_end", head: 0 } });
  return h.quiescent({});
}

describe("L11 control events answered", () => {
  it("fires on a control event that never gets a control ack", () => {
    const h = dispatch(new History().at(10), "asg-1");
    expect(check(L11, converge(h, 60_000))?.message).toMatch(
      /1 control event never got a control ack: asg-1/,
    );
  });

  it("passes a control event acked later in the run", () => {
    const h = dispatch(new History().at(10), "asg-1");
    ack(h.at(500), "asg-1");
    expect(check(L11, converge(h, 60_000))).toBeUndefined();
  });

  it("forgets the events of a crashed incarnation", () => {
    const h = dispatch(new History().at(10), "asg-1");
    h.at(20).events.push({ k: "crash", t: 20, incarnation: 1 });
    h.at(30).start({}, 0, 2);
    expect(check(L11, converge(h, 60_000))).toBeUndefined();
  });

  it("passes a duplicate delivery of a key already answered in the same incarnation", () => {
    const h = dispatch(new History().at(10), "asg-1");
    ack(h.at(20), "asg-1");
    dispatch(h.at(30), "asg-1");
    expect(check(L11, converge(h, 60_000))).toBeUndefined();
  });

  it("judges nothing without a liveness phase", () => {
    const h = dispatch(new History().at(10), "asg-1").quiescent({});
    expect(check(L11, h)).toBeUndefined();
  });
});
