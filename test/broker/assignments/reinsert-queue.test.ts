import { describe, expect, it } from "vitest";
import { AssignmentWorld } from "../../support/assignment-world.ts";
import type { InboxRow } from "../../../src/broker/model.ts";

const timeout = 30_000;

function row(id: string): InboxRow {
  return {
    id,
    source_message_id: `src-${id}`,
    arrived_at: "2026-01-01T00:00:00.000Z",
    sender_address: `sender-of-${id}`,
    content: `content of ${id}`,
    content_type: "text",
    metadata: {},
    reason: "unaddressed",
  };
}

/**
 * A full inbox (capacity 2) and two endpoints whose unaccepted assignments time out 300 ms apart,
 * ep1 first; both restores fail at capacity.
 */
function twoEndpointsAtCapacity(faults = {}) {
  const w = new AssignmentWorld({ inboxCapacity: 2 }, faults);
  w.connect();
  w.addEndpoint({ id: "ep1", pid: 11 });
  w.addEndpoint({ id: "ep2", pid: 12 });
  w.assign("a1", "u1", "ep1", 11, false);
  w.advance(300);
  w.assign("a2", "u2", "ep2", 12, false);
  w.addRow("x1");
  w.addRow("x2");
  w.advance(timeout - 300);
  w.advance(300);
  return w;
}

const reinsertFailures = (w: AssignmentWorld) =>
  w.logs.filter((l) => l.event === "runtime_assignment_reinsert_failed_at_capacity");

describe("capacity-full reinsertion queue", () => {
  it("gives a freed slot to the record that failed first, ahead of a new inbound row", () => {
    const w = twoEndpointsAtCapacity();
    expect(reinsertFailures(w)).toHaveLength(2);
    w.inbox.take("x1");
    expect(w.inbox.tryAdd(row("new1"))).toBe(false);
    w.advance(100);
    expect(w.inbox.has("u1")).toBe(true);
    expect(w.inbox.has("u2")).toBe(false);
    expect(w.states((e) => e.state === "target_lost_before_acceptance")).toHaveLength(1);
  });

  it("lets the second endpoint's record in at the next freed slot although new rows keep refilling the inbox", () => {
    const w = twoEndpointsAtCapacity();
    // Each period a row leaves and a new inbound row arrives right after: without the queue the
    // new row always wins and the periodic retries of both endpoints find the inbox full.
    w.inbox.take("x1");
    w.inbox.tryAdd(row("new1"));
    w.advance(100);
    w.inbox.take("x2");
    w.inbox.tryAdd(row("new2"));
    w.advance(100);
    expect(w.inbox.has("u1")).toBe(true);
    expect(w.inbox.has("u2")).toBe(true);
    w.answerAll();
    expect([...w.component.records()]).toHaveLength(0);
    expect(w.inbox.has("new1")).toBe(false);
    expect(w.inbox.has("new2")).toBe(false);
  });

  it("leaves every other freed slot to an inbound task that was refused one, so inbound is not starved (L1)", () => {
    const w = twoEndpointsAtCapacity();
    expect(w.inbox.reserve()).toBeUndefined();
    w.inbox.take("x1");
    w.advance(100);
    expect(w.inbox.has("u1")).toBe(true);
    expect(w.inbox.reserve()).toBeUndefined();
    w.inbox.take("x2");
    w.advance(100);
    expect(w.inbox.has("u2")).toBe(false);
    const r = w.inbox.reserve();
    expect(r).toBeDefined();
    expect(w.inbox.tryAdd(row("new1"), r)).toBe(true);
  });

  it("keeps the slot it leaves to a refused inbound task, so a row added without a reservation or a safety retry cannot take it first (L1)", () => {
    const w = twoEndpointsAtCapacity();
    expect(w.inbox.reserve()).toBeUndefined();
    w.inbox.take("x1");
    w.advance(100);
    expect(w.inbox.has("u1")).toBe(true);
    expect(w.inbox.reserve()).toBeUndefined();
    w.inbox.take("x2");
    w.advance(100);
    // Buffer surfacing adds without a reservation; u2's re-armed deadline retries its restore.
    expect(w.inbox.tryAdd(row("surfaced"))).toBe(false);
    w.advance(timeout);
    expect(w.inbox.has("u2")).toBe(false);
    expect(w.inbox.has("surfaced")).toBe(false);
    // The replay of the refused seq gets the kept slot.
    const r = w.inbox.reserve();
    expect(r).toBeDefined();
    expect(w.inbox.tryAdd(row("new1"), r)).toBe(true);
    expect(w.inbox.kept).toBe(0);
  });

  it("gives a kept slot back to the queue when no inbound task reserves it within two gap-fill retry periods", () => {
    const w = twoEndpointsAtCapacity();
    expect(w.inbox.reserve()).toBeUndefined();
    w.inbox.take("x1");
    w.advance(100);
    expect(w.inbox.reserve()).toBeUndefined();
    w.inbox.take("x2");
    w.advance(100);
    expect(w.inbox.kept).toBe(1);
    w.advance(2 * 30_000 + 100);
    expect(w.inbox.kept).toBe(0);
    expect(w.inbox.has("u2")).toBe(true);
    expect(w.logs.some((l) => l.event === "inbox_kept_slot_released")).toBe(true);
  });

  it("still retries on the re-armed deadline when no slot is ever freed by a take", () => {
    const w = twoEndpointsAtCapacity();
    w.advance(timeout);
    expect(reinsertFailures(w)).toHaveLength(4);
    expect([...w.component.records()]).toHaveLength(2);
  });

  it("gives a bounced dispatch its own row's slot back while records wait for one (A10)", () => {
    const w = twoEndpointsAtCapacity();
    w.control(w.dispatchEvent("b1", "x1", "no-such-endpoint"));
    expect(w.inbox.has("x1")).toBe(true);
    expect(w.undispatchedEvents).toHaveLength(0);
    expect(w.logs.some((l) => l.event === "dispatch_putback_over_capacity")).toBe(false);
  });

  it("drops the records silently under the planted fault silentInboxLoss, so nothing waits", () => {
    const w = twoEndpointsAtCapacity({ silentInboxLoss: true });
    expect([...w.component.records()]).toHaveLength(0);
    w.inbox.take("x1");
    w.advance(100);
    expect(w.inbox.has("u1")).toBe(false);
    expect(w.inbox.tryAdd(row("new1"))).toBe(true);
  });
});
