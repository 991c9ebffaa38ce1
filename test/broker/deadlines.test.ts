import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Deadline } from "../../src/broker/deadline-kinds.ts";
import { Deadlines } from "../../src/broker/deadlines.ts";
import { isoFromMs } from "../../src/broker/env.ts";

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

describe("ISO rendering without Date", () => {
  it("matches Date.toISOString for any instant between 1970 and 2200", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 7_258_118_400_000 }), (ms) => {
        expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());
      }),
    );
  });
});
