import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Deadlines } from "../../src/broker/deadlines.ts";
import { isoFromMs } from "../../src/broker/env.ts";

describe("named deadlines", () => {
  it("run in order of due time, then arming order", () => {
    const d = new Deadlines();
    const ran: string[] = [];
    d.set("b", 10, () => ran.push("b"));
    d.set("a", 5, () => ran.push("a"));
    d.set("c", 10, () => ran.push("c"));
    d.expire(10);
    expect(ran).toEqual(["a", "b", "c"]);
  });

  it("re-arming a name replaces the old deadline", () => {
    const d = new Deadlines();
    const ran: string[] = [];
    d.set("x", 5, () => ran.push("old"));
    d.set("x", 7, () => ran.push("new"));
    d.expire(6);
    expect(ran).toEqual([]);
    expect(d.next()).toBe(7);
    d.expire(7);
    expect(ran).toEqual(["new"]);
    expect(d.size).toBe(0);
  });

  it("cancelled deadlines never run and do not count as next", () => {
    const d = new Deadlines();
    let ran = false;
    d.set("x", 1, () => {
      ran = true;
    });
    d.set("y", 9, () => {});
    expect(d.cancel("x")).toBe(true);
    expect(d.next()).toBe(9);
    d.expire(5);
    expect(ran).toBe(false);
  });

  it("deadlines armed by a callback that are already due run in the same expire", () => {
    const d = new Deadlines();
    const ran: string[] = [];
    d.set("first", 1, () => {
      ran.push("first");
      d.set("second", 1, () => ran.push("second"));
    });
    d.expire(1);
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
            d.set(name, at, () => ran.push(name));
            expected.set(name, { at, order });
          });
          d.expire(100);
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
