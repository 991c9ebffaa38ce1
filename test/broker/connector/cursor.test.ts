import { describe, expect, it } from "vitest";
import { DeliveryCursor } from "../../../src/broker/connector/cursor.ts";

function cursor(l = 0, seenCapacity = 4096): DeliveryCursor {
  const c = new DeliveryCursor({ seenCapacity });
  c.reset(l);
  return c;
}

describe("DeliveryCursor", () => {
  it("drops a payload id that is pending or seen", () => {
    const c = cursor();
    expect(c.onMessage(1, "a")).toEqual({ action: "deliver" });
    expect(c.onMessage(1, "a")).toEqual({ action: "drop", why: "duplicate" });
    expect(c.onMessage(undefined, "u")).toEqual({ action: "deliver" });
    expect(c.onMessage(undefined, "u")).toEqual({ action: "drop", why: "duplicate" });
  });

  it("drops sequenced messages at or below the committed cursor", () => {
    const c = cursor(5);
    expect(c.onMessage(5, "a")).toEqual({ action: "drop", why: "old" });
    expect(c.onMessage(3, undefined)).toEqual({ action: "drop", why: "old" });
    expect(c.pendingCount).toBe(0);
  });

  it("reports a gap from L only when a seq skips over a seq nobody holds", () => {
    const c = cursor(2);
    expect(c.onMessage(3, "a")).toEqual({ action: "deliver" });
    expect(c.onMessage(4, "b")).toEqual({ action: "deliver" });
    expect(c.onMessage(7, "c")).toEqual({ action: "deliver", gapFrom: 2 });
  });

  it("acks only the contiguous accepted run above L", () => {
    const c = cursor();
    c.accept(2);
    c.accept(3);
    expect(c.flushCandidate()).toBeUndefined();
    c.accept(1);
    expect(c.flushCandidate()).toBe(3);
    c.accept(5);
    expect(c.flushCandidate()).toBe(3);
  });

  it("moves committed payload ids from pending to seen", () => {
    const c = cursor();
    c.onMessage(1, "a");
    c.accept(1);
    expect(c.commit(1)).toBe(true);
    expect(c.committed).toBe(1);
    expect(c.isPending("a")).toBe(false);
    expect(c.isSeen("a")).toBe(true);
  });

  it("refuses to commit beyond the contiguous accepted run", () => {
    const c = cursor();
    c.accept(1);
    c.accept(3);
    expect(c.commit(3)).toBe(false);
    expect(c.commit(1)).toBe(true);
    expect(c.committed).toBe(1);
    expect(c.acceptedGaps()).toEqual([3]);
  });

  it("ignores acceptance of non-integers, negatives and seqs at or below L", () => {
    const c = cursor(4);
    for (const s of [1.5, -1, 4, 2, Number.NaN]) expect(c.accept(s)).toBe(false);
    expect(c.acceptedGaps()).toEqual([]);
  });

  it("release forgets the pending id so a redelivery is processed", () => {
    const c = cursor();
    c.onMessage(1, "a");
    expect(c.release(1)).toBe(true);
    expect(c.isPending("a")).toBe(false);
    expect(c.onMessage(1, "a")).toEqual({ action: "deliver" });
  });

  it("a released seq makes the cursor stuck until it is redelivered", () => {
    const c = cursor();
    c.onMessage(1, "a");
    c.onMessage(2, "b");
    c.accept(2);
    expect(c.stuck()).toBe(false);
    c.release(1);
    expect(c.stuck()).toBe(true);
    c.onMessage(1, "a");
    expect(c.stuck()).toBe(false);
  });

  it("jumps to the server's delivered mark dropping everything at or below it", () => {
    const c = cursor();
    c.onMessage(1, "a");
    c.onMessage(2, "b");
    c.accept(2);
    c.accept(4);
    expect(c.jumpTo(3)).toBe(true);
    expect(c.committed).toBe(3);
    expect(c.acceptedGaps()).toEqual([4]);
    expect(c.pendingCount).toBe(0);
    expect(c.flushCandidate()).toBe(4);
    expect(c.jumpTo(2)).toBe(false);
    expect(c.committed).toBe(3);
  });

  it("evicts the oldest seen id beyond capacity", () => {
    const c = cursor(0, 2);
    c.onMessage(undefined, "a");
    c.onMessage(undefined, "b");
    c.onMessage(undefined, "c");
    expect(c.seenCount).toBe(2);
    expect(c.isSeen("a")).toBe(false);
    expect(c.onMessage(undefined, "a")).toEqual({ action: "deliver" });
    expect(c.onMessage(undefined, "c")).toEqual({ action: "drop", why: "duplicate" });
  });

  it("reset forgets gaps, pending and seen ids", () => {
    const c = cursor();
    c.onMessage(1, "a");
    c.onMessage(undefined, "u");
    c.accept(3);
    c.reset(7);
    expect([c.committed, c.pendingCount, c.seenCount, c.acceptedGaps()]).toEqual([7, 0, 0, []]);
  });
});
