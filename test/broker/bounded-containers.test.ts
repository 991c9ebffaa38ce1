/**
 * The bounded containers behind the delivery path's hot spots (seen ids, correlation rings, the
 * delivered-route cache, the deadline heap) checked against plain models: their faster internals
 * must not change what they hold or in which order deadlines run.
 */

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RoutedEvent } from "../../src/broker/api.ts";
import type { Deadline } from "../../src/broker/deadline-kinds.ts";
import { Deadlines } from "../../src/broker/deadlines.ts";
import { FifoSet } from "../../src/broker/fifo-set.ts";
import { RouteCache } from "../../src/broker/inbound/route-cache.ts";

const event = (id: string): RoutedEvent => ({
  type: "runtime_inbound_routed",
  version: 1,
  source_message_id: id,
  routed_to_endpoint_id: "ep",
  route_kind: "active_endpoint",
  routed_at: 0,
});

describe("the FIFO set", () => {
  it("forgets the oldest member first and keeps a re-added member's age", () => {
    const s = new FifoSet<string>(2);
    s.add("a");
    s.add("b");
    s.add("a");
    s.add("c");
    expect([s.has("a"), s.has("b"), s.has("c")]).toEqual([false, true, true]);
    expect(s.values()).toEqual(["b", "c"]);
  });

  it("holds the same members as a set with oldest-first eviction, for any adds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.array(fc.integer({ min: 0, max: 12 })), (cap, adds) => {
        const s = new FifoSet<number>(cap);
        const model = new Set<number>();
        for (const v of adds) {
          s.add(v);
          if (!model.has(v)) {
            model.add(v);
            while (model.size > cap) model.delete(model.values().next().value as number);
          }
        }
        expect(s.values()).toEqual([...model]);
        expect(s.size).toBe(model.size);
      }),
    );
  });
});

describe("the delivered-route cache", () => {
  it("evicts the entry set longest ago, counting a second set as new", () => {
    const c = new RouteCache(2);
    c.set("a", event("a"));
    c.set("b", event("b"));
    c.set("a", event("a"));
    c.set("c", event("c"));
    expect([c.get("a") !== undefined, c.get("b") !== undefined, c.get("c") !== undefined]).toEqual([
      true,
      false,
      true,
    ]);
  });

  it("holds the same ids as a map re-inserted on every set, for any sets", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 3_000 }),
        (max, sets) => {
          const c = new RouteCache(max);
          const model = new Map<string, true>();
          for (const n of sets) {
            const id = `m${n}`;
            c.set(id, event(id));
            model.delete(id);
            model.set(id, true);
            while (model.size > max) model.delete(model.keys().next().value as string);
          }
          for (let n = 0; n < 10; n++) expect(c.get(`m${n}`) !== undefined).toBe(model.has(`m${n}`));
          expect(c.size).toBe(model.size);
        },
      ),
    );
  });
});

const tag = (name: string): Deadline => ({ kind: "push_receipt", pushId: name });

describe("the deadline heap under heavy arm-and-cancel traffic", () => {
  it("still runs the live deadlines in due-time, then arming, order after compactions", () => {
    const d = new Deadlines();
    const ran: string[] = [];
    d.set("late", 50, tag("late"));
    for (let i = 0; i < 5_000; i++) {
      d.set(`receipt:${i}`, 10 + (i % 7), tag(`r${i}`));
      if (i % 1_000 !== 0) d.cancel(`receipt:${i}`);
    }
    d.set("early", 10, tag("early"));
    expect(d.size).toBe(7);
    d.expire(100, (dl) => {
      if (dl.kind === "push_receipt") ran.push(dl.pushId);
    });
    // Due times 10 + i % 7: r0 at 10 (armed before "early"), then r4000 13, r3000 14, r2000 15, r1000 16.
    expect(ran).toEqual(["r0", "early", "r4000", "r3000", "r2000", "r1000", "late"]);
  });
});
