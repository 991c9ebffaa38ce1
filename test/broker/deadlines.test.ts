import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  DEADLINE_ID_FIELDS,
  DEADLINE_KINDS,
  type Deadline,
  deadlineIds,
  deadlineKey,
} from "../../src/broker/deadline-kinds.ts";
import { Deadlines } from "../../src/broker/deadlines.ts";
import { BrokerCore } from "../../src/broker/broker.ts";
import { isoFromMs } from "../../src/broker/env.ts";
import { CountingRandom } from "../support/random.ts";

/** A deadline standing for `name`; firing it records the name. */
const tag = (name: string): Deadline => ({ kind: "push_receipt", pushId: name });
const recorder = (ran: string[]) => (d: Deadline) => {
  if (d.kind === "push_receipt") ran.push(d.pushId);
};

describe("armed deadlines", () => {
  it("fire in order of due time, then arming order", () => {
    const d = new Deadlines();
    const ran: string[] = [];
    d.set("b", 10, tag("b"));
    d.set("a", 5, tag("a"));
    d.set("c", 10, tag("c"));
    d.expire(10, recorder(ran));
    expect(ran).toEqual(["a", "b", "c"]);
  });

  it("re-arming a key replaces the old deadline", () => {
    const d = new Deadlines();
    const ran: string[] = [];
    d.set("x", 5, tag("old"));
    d.set("x", 7, tag("new"));
    d.expire(6, recorder(ran));
    expect(ran).toEqual([]);
    expect(d.next()).toBe(7);
    d.expire(7, recorder(ran));
    expect(ran).toEqual(["new"]);
    expect(d.size).toBe(0);
  });

  it("cancelled deadlines never fire and do not count as next", () => {
    const d = new Deadlines();
    const ran: string[] = [];
    d.set("x", 1, tag("x"));
    d.set("y", 9, tag("y"));
    expect(d.cancel("x")).toBe(true);
    expect(d.next()).toBe(9);
    d.expire(5, recorder(ran));
    expect(ran).toEqual([]);
  });

  it("deadlines armed while firing that are already due fire in the same expire", () => {
    const d = new Deadlines();
    const ran: string[] = [];
    d.set("first", 1, tag("first"));
    d.expire(1, (dl) => {
      recorder(ran)(dl);
      if (dl.kind === "push_receipt" && dl.pushId === "first") d.set("second", 1, tag("second"));
    });
    expect(ran).toEqual(["first", "second"]);
  });

  it("expire order matches a sort by (time, arming order) for any schedule", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 5 })), {
          maxLength: 60,
        }),
        (ops) => {
          const d = new Deadlines();
          const expected = new Map<string, { at: number; order: number }>();
          const ran: string[] = [];
          ops.forEach(([at, nameNo], order) => {
            const name = `n${nameNo}`;
            d.set(name, at, tag(name));
            expected.set(name, { at, order });
          });
          d.expire(100, recorder(ran));
          const want = [...expected.entries()]
            .sort((a, b) => a[1].at - b[1].at || a[1].order - b[1].order)
            .map(([n]) => n);
          expect(ran).toEqual(want);
        },
      ),
    );
  });
});

describe("deadlines as data", () => {
  it("list their ids in the order of their kind's id fields", () => {
    const d: Deadline = { kind: "buffer_post_retry", undispatchedId: "u1", endpointId: "ep-1" };
    expect(deadlineIds(d)).toEqual(["ep-1", "u1"]);
    expect(deadlineIds({ kind: "reconnect" })).toEqual([]);
  });

  it("keep deadlines apart whose ids differ only in where a separator falls", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (a, b, c, e) => {
        fc.pre(a !== c || b !== e);
        const x: Deadline = { kind: "acceptance", sourceMessageId: a, assignmentId: b };
        const y: Deadline = { kind: "acceptance", sourceMessageId: c, assignmentId: e };
        expect(deadlineKey(x)).not.toBe(deadlineKey(y));
      }),
    );
  });

  it("give every kind a key of its own, ids or not", () => {
    const keys = DEADLINE_KINDS.map((kind) => {
      const d = { kind } as Record<string, string>;
      for (const f of DEADLINE_ID_FIELDS[kind] as readonly string[]) d[f] = "x";
      return deadlineKey(d as unknown as Deadline);
    });
    expect(new Set(keys).size).toBe(DEADLINE_KINDS.length);
  });
});

describe("the env's deadline dispatch", () => {
  it("refuses a second handler for a kind a component already owns", () => {
    const core = new BrokerCore({ random: new CountingRandom() });
    expect(() => core.env.onDeadline("grace", () => {})).toThrow(/second handler for deadline kind grace/);
  });

  it("lists an armed deadline as data and logs its arming and its firing", () => {
    const core = new BrokerCore({ random: new CountingRandom() });
    core.env.deadlineLog = [];
    const d: Deadline = { kind: "reinsert_drain" };
    core.env.arm(d, 10);
    expect(core.snapshot().deadlines).toEqual([{ deadline: d, atMs: core.env.nowMs + 10 }]);
    core.advance(core.env.nowMs + 10);
    expect(core.env.deadlineLog).toEqual([
      { op: "arm", deadline: d, atMs: 10 },
      { op: "fire", deadline: d },
    ]);
    expect(core.env.isArmed(d)).toBe(false);
  });
});

describe("ISO rendering without Date", () => {
  it("matches Date.toISOString for any instant between 1970 and 2200", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7_258_118_400_000 }), (ms) => {
        expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());
      }),
    );
  });
});
