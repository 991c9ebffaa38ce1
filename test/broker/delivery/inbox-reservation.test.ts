import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type InboxReservation, UndispatchedInbox } from "../../../src/broker/inbound/inbox.ts";
import type { InboxRow } from "../../../src/broker/model.ts";

const row = (id: string): InboxRow => ({
  id,
  arrived_at: "2024-01-01T00:00:00.000Z",
  sender_address: "agent://a",
  content: id,
  content_type: "text",
  metadata: {},
  reason: "unaddressed",
});

describe("inbox reservations", () => {
  it("hold a slot against later new ids until consumed or released", () => {
    const inbox = new UndispatchedInbox(2);
    const r = inbox.reserve();
    expect(r).toBeDefined();
    expect(inbox.tryAdd(row("a"))).toBe(true);
    expect(inbox.tryAdd(row("b"))).toBe(false);
    expect(inbox.reserve()).toBeUndefined();
    expect(inbox.tryAdd(row("c"), r)).toBe(true);
    expect(inbox.ids()).toEqual(["a", "c"]);
    expect(inbox.reserved).toBe(0);
  });

  it("keep a slot for inbound that only a non-quiet reservation can use", () => {
    const inbox = new UndispatchedInbox(2);
    expect(inbox.tryAdd(row("a"))).toBe(true);
    expect(inbox.keepForInbound()).toBe(true);
    expect(inbox.keepForInbound()).toBe(false);
    expect(inbox.tryAdd(row("b"))).toBe(false);
    expect(inbox.reserve(true)).toBeUndefined();
    const r = inbox.reserve();
    expect(r).toBeDefined();
    expect(inbox.kept).toBe(0);
    expect(inbox.tryAdd(row("c"), r)).toBe(true);
    expect(inbox.reserved).toBe(0);
    expect(inbox.keepForInbound()).toBe(false);
  });

  it("give kept slots back on releaseKept", () => {
    const inbox = new UndispatchedInbox(1);
    expect(inbox.keepForInbound()).toBe(true);
    expect(inbox.tryAdd(row("a"))).toBe(false);
    expect(inbox.releaseKept()).toBe(1);
    expect(inbox.reserved).toBe(0);
    expect(inbox.tryAdd(row("a"))).toBe(true);
  });

  it("never block an overwrite, which gives the reservation back", () => {
    const inbox = new UndispatchedInbox(1);
    expect(inbox.tryAdd(row("a"))).toBe(true);
    inbox.take("a");
    const r = inbox.reserve();
    expect(inbox.tryAdd(row("x"))).toBe(false);
    inbox.release(r);
    expect(inbox.tryAdd(row("a"))).toBe(true);
    const none = inbox.reserve();
    expect(none).toBeUndefined();
    expect(inbox.tryAdd({ ...row("a"), content: "new" })).toBe(true);
    expect(inbox.get("a")?.content).toBe("new");
  });

  it("keep rows plus reservations within the capacity under any sequence of operations", () => {
    const op = fc.oneof(
      fc.record({ k: fc.constant("reserve" as const) }),
      fc.record({ k: fc.constant("release" as const), i: fc.nat(20) }),
      fc.record({
        k: fc.constant("add" as const),
        id: fc.integer({ min: 0, max: 8 }),
        i: fc.option(fc.nat(20)),
      }),
      fc.record({ k: fc.constant("take" as const), id: fc.integer({ min: 0, max: 8 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
        const inbox = new UndispatchedInbox(capacity);
        const held: InboxReservation[] = [];
        for (const o of ops) {
          if (o.k === "reserve") {
            const r = inbox.reserve();
            if (r) held.push(r);
          } else if (o.k === "release") {
            inbox.release(held[o.i % Math.max(held.length, 1)]);
          } else if (o.k === "take") {
            inbox.take(String(o.id));
          } else {
            const existed = inbox.has(String(o.id));
            const r = o.i === null ? undefined : held[o.i % Math.max(held.length, 1)];
            const live = r !== undefined && !r.settled;
            const ok = inbox.tryAdd(row(String(o.id)), r);
            if (existed || live) expect(ok).toBe(true);
          }
          expect(inbox.size + inbox.reserved).toBeLessThanOrEqual(capacity);
          expect(inbox.reserved).toBe(held.filter((r) => !r.settled).length);
        }
      }),
    );
  });
});
