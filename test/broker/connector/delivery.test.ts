import { describe, expect, it } from "vitest";
import { acks, cursorWrites, gapFills, Pair } from "./harness.ts";

/** A connected pair with an optional scope and initial cursor. */
function connected(initialCursor = 0, runtimeSessionId?: string): Pair {
  const p = new Pair({ initialCursor, options: { runtimeSessionId } });
  p.connect(runtimeSessionId ? { deliveryRuntimeSessionId: runtimeSessionId } : {});
  return p;
}

describe("inbound messages (§2.5)", () => {
  it("delivers a payload id once while it is pending", () => {
    const p = connected();
    p.msg(1, "a");
    p.msg(1, "a");
    expect(p.delivered.map((f) => f.messageId)).toEqual(["a"]);
  });

  it("delivers a payload id once after it was committed", () => {
    const p = connected();
    p.msg(1, "a");
    p.connector.accept(1);
    p.msg(2, "a");
    expect(p.delivered).toHaveLength(1);
  });

  it("delivers an unsequenced payload id once", () => {
    const p = connected();
    p.msg(undefined, "u");
    p.msg(undefined, "u");
    expect(p.delivered).toHaveLength(1);
    expect(p.connector.seenCount).toBe(1);
  });

  it("drops a message whose seq is at or below the committed cursor", () => {
    const p = connected(5);
    p.msg(5, "a");
    p.msg(2, "b");
    p.msg(6, "c");
    expect(p.delivered.map((f) => f.messageId)).toEqual(["c"]);
  });

  it("asks for a gap fill since the committed cursor when a seq skips a hole", () => {
    const p = connected(3);
    p.msg(6, "f");
    expect(p.sent()).toEqual([{ event: "REQUEST_GAP_FILL", sinceSeq: 3 }]);
    expect(p.delivered).toHaveLength(1);
  });

  it("asks for no gap fill when the seqs in between are still being handed off", () => {
    const p = connected();
    p.msg(1, "a");
    p.msg(2, "b");
    p.msg(3, "c");
    expect(gapFills(p.sent())).toEqual([]);
  });

  it("acks cumulatively only the contiguous accepted run", () => {
    const p = connected();
    for (const s of [1, 2, 3, 4]) p.msg(s, `m${s}`);
    p.take();
    p.connector.accept(2);
    p.connector.accept(3);
    expect(acks(p.sent())).toEqual([]);
    p.connector.accept(1);
    expect(acks(p.sent())).toEqual([3]);
    expect(p.connector.committedSeq).toBe(3);
    p.connector.accept(4);
    expect(acks(p.sent())).toEqual([4]);
  });

  it("holds every later ack behind a blocked seq (head-of-line)", () => {
    const p = connected();
    for (const s of [1, 2, 3]) p.msg(s, `m${s}`);
    p.take();
    p.connector.release(1);
    p.connector.accept(2);
    p.connector.accept(3);
    expect(acks(p.sent())).toEqual([]);
    expect(p.connector.acceptedGaps()).toEqual([2, 3]);
    expect(p.connector.committedSeq).toBe(0);
  });

  it("persists the cursor only after writing the ack", () => {
    const p = connected();
    p.msg(1, "a");
    p.take();
    p.connector.accept(1);
    const out = p.take();
    expect(out.map((o) => o.kind)).toEqual(["connector_send", "storage"]);
    expect(acks(out.flatMap((o) => (o.kind === "connector_send" ? [o.frame] : [])))).toEqual([1]);
    expect(cursorWrites(out)).toEqual([1]);
  });

  it("commits nothing while the socket is closed and flushes on the next REGISTER_ACK", () => {
    const p = connected();
    p.msg(1, "a");
    p.msg(2, "b");
    p.connector.handleClosed(1006, "gone");
    p.take();
    p.connector.accept(1);
    p.connector.accept(2);
    expect(p.take()).toEqual([]);
    expect(p.connector.committedSeq).toBe(0);
    const out = p.reconnect();
    const frames = out.flatMap((o) => (o.kind === "connector_send" ? [o.frame] : []));
    expect(frames[0]).toMatchObject({ event: "REGISTER", lastKnownSeq: 0 });
    expect(acks(frames)).toEqual([2]);
    expect(cursorWrites(out)).toEqual([2]);
    expect(p.connector.committedSeq).toBe(2);
  });

  it("commits nothing between open and REGISTER_ACK", () => {
    const p = connected();
    p.msg(1, "a");
    p.connector.handleClosed(1006, "gone");
    p.advanceTo(p.env.dueAt({ kind: "reconnect" })!);
    p.connector.handleOpen();
    p.take();
    p.connector.accept(1);
    expect(acks(p.sent())).toEqual([]);
    expect(p.connector.committedSeq).toBe(0);
  });

  it("re-acks the local cursor when the server's deliverySeq is behind it", () => {
    const p = new Pair({ initialCursor: 7 });
    const out = p.connect({ deliverySeq: 4 });
    expect(acks(out.flatMap((o) => (o.kind === "connector_send" ? [o.frame] : [])))).toEqual([7]);
    expect(cursorWrites(out)).toEqual([]);
  });

  it("does not re-ack when the server's deliverySeq is not behind", () => {
    const p = new Pair({ initialCursor: 7 });
    const out = p.connect({ deliverySeq: 7 });
    expect(acks(out.flatMap((o) => (o.kind === "connector_send" ? [o.frame] : [])))).toEqual([]);
  });

  it("processes a redelivery after a release", () => {
    const p = connected();
    p.msg(1, "a");
    p.connector.release(1);
    p.msg(1, "a");
    expect(p.delivered).toHaveLength(2);
    p.connector.accept(1);
    expect(p.connector.committedSeq).toBe(1);
  });
});

describe("server cursor frames (§2.6)", () => {
  it("jumps to deliveredSeq without persisting, then asks for the rest", () => {
    const p = connected();
    p.msg(1, "a");
    p.take();
    p.frame({ event: "DELIVERY_CURSOR", deliverySeq: 9, deliveredSeq: 5 });
    const out = p.take();
    expect(p.connector.committedSeq).toBe(5);
    expect(cursorWrites(out)).toEqual([]);
    expect(out).toMatchObject([
      { kind: "connector_send", frame: { event: "REQUEST_GAP_FILL", sinceSeq: 5 } },
    ]);
    expect(p.connector.pendingCount).toBe(0);
  });

  it("acks accepted seqs that become contiguous after a jump", () => {
    const p = connected();
    p.msg(7, "g");
    p.take();
    p.connector.accept(7);
    p.frame({ event: "DELIVERY_CURSOR", deliverySeq: 7, deliveredSeq: 6 });
    const out = p.take();
    expect(acks(out.flatMap((o) => (o.kind === "connector_send" ? [o.frame] : [])))).toEqual([7]);
    expect(cursorWrites(out)).toEqual([7]);
  });

  it("re-acks when the server's deliveredSeq is behind the local cursor", () => {
    const p = connected(4);
    p.take();
    p.frame({ event: "DELIVERY_CURSOR", deliverySeq: 4, deliveredSeq: 2 });
    expect(p.sent()).toEqual([{ event: "DELIVERY_ACK", upToSeq: 4 }]);
    expect(p.connector.committedSeq).toBe(4);
  });

  it("treats DELIVERY_SKIP as an acceptance and asks for the hole below it", () => {
    const p = connected();
    p.msg(1, "a");
    p.take();
    p.frame({ event: "DELIVERY_SKIP", seq: 3, reason: "runtime_mailbox_dismissed" });
    expect(p.sent()).toEqual([{ event: "REQUEST_GAP_FILL", sinceSeq: 0 }]);
    expect(p.connector.acceptedGaps()).toEqual([3]);
    p.connector.accept(1);
    p.frame({ event: "DELIVERY_SKIP", seq: 2, reason: "runtime_mailbox_dismissed" });
    expect(acks(p.sent())).toEqual([1, 3]);
  });

  it("calls the legacy DELIVERY_PENDING hook and sends nothing", () => {
    const p = connected();
    p.frame({ event: "DELIVERY_PENDING", count: 2, upTo: "x" });
    expect(p.events).toContain("delivery_pending");
    expect(p.log("legacy_delivery_pending_ignored")).toBe(1);
    expect(p.take()).toEqual([]);
  });
});

describe("scope isolation (§2.1, S6)", () => {
  it("ignores messages, cursor frames and skips of a foreign or missing scope", () => {
    const p = connected(0, "s1");
    p.take();
    p.msg(1, "a", { runtimeSessionId: "s2" });
    p.msg(1, "b");
    p.frame({ event: "DELIVERY_CURSOR", deliverySeq: 9, deliveredSeq: 5, runtimeSessionId: "s2" });
    p.frame({ event: "DELIVERY_SKIP", seq: 1, reason: "runtime_mailbox_dismissed" });
    expect(p.delivered).toEqual([]);
    expect(p.take()).toEqual([]);
    expect(p.connector.committedSeq).toBe(0);
    expect(p.connector.acceptedGaps()).toEqual([]);
  });

  it("ignores scoped frames when the broker is unscoped", () => {
    const p = connected();
    p.msg(1, "a", { runtimeSessionId: "s" });
    expect(p.delivered).toEqual([]);
  });

  it("carries the configured scope on every REGISTER, DELIVERY_ACK and REQUEST_GAP_FILL", () => {
    const p = new Pair({ options: { runtimeSessionId: " s1 " } });
    const hello = p.connect({ deliveryRuntimeSessionId: "s1" });
    expect(hello[1]).toMatchObject({
      kind: "connector_send",
      frame: { event: "REGISTER", runtimeSessionId: "s1" },
    });
    p.msg(1, "a", { runtimeSessionId: " s1" });
    p.msg(3, "c", { runtimeSessionId: "s1" });
    p.connector.accept(1);
    expect(p.sent()).toEqual([
      { event: "REQUEST_GAP_FILL", sinceSeq: 0, runtimeSessionId: "s1" },
      { event: "DELIVERY_ACK", upToSeq: 1, runtimeSessionId: "s1" },
    ]);
  });
});

describe("gap-fill retries (our L1/L2 deviation)", () => {
  it("re-asks for a released seq after the retry delay even when no newer frame arrives", () => {
    const p = connected();
    p.msg(1, "a");
    p.msg(2, "b");
    p.connector.accept(2);
    p.take();
    p.connector.release(1);
    expect(p.sent()).toEqual([]);
    p.advanceBy(999);
    expect(p.sent()).toEqual([]);
    p.advanceBy(1);
    expect(p.sent()).toEqual([{ event: "REQUEST_GAP_FILL", sinceSeq: 0 }]);
    p.advanceBy(1_999);
    expect(p.sent()).toEqual([]);
    p.advanceBy(1);
    expect(gapFills(p.sent())).toEqual([0]);
  });

  it("stops retrying once the replay is accepted and resets the backoff", () => {
    const p = connected();
    p.msg(1, "a");
    p.connector.release(1);
    p.advanceBy(1_000);
    p.take();
    p.msg(1, "a");
    p.connector.accept(1);
    expect(acks(p.sent())).toEqual([1]);
    p.advanceBy(60_000);
    expect(gapFills(p.sent())).toEqual([]);
    p.msg(2, "b");
    p.connector.release(2);
    p.advanceBy(1_000);
    expect(gapFills(p.sent())).toEqual([1]);
  });

  it("caps the retry delay at gapFillRetryMaxMs", () => {
    const p = new Pair({ options: { gapFillRetryInitialMs: 100, gapFillRetryMaxMs: 400 } });
    p.connect();
    p.msg(1, "a");
    p.connector.release(1);
    p.take();
    const times: number[] = [];
    for (let t = 0; t < 2_000; t += 50) {
      p.advanceBy(50);
      if (gapFills(p.sent()).length > 0) times.push(p.env.nowMs);
    }
    expect(times.slice(0, 5)).toEqual([100, 300, 700, 1100, 1500]);
  });

  it("writes one gap fill per sinceSeq per socket until the backoff deadline passes", () => {
    const p = connected();
    p.msg(3, "c");
    p.msg(5, "e");
    p.msg(7, "g");
    p.frame({ event: "DELIVERY_CURSOR", deliverySeq: 9 });
    expect(gapFills(p.sent())).toEqual([0]);
    expect(p.connector.gapFillsSent).toBe(1);
  });

  it("asks again on a new socket without waiting for the old window", () => {
    const p = connected();
    p.msg(3, "c");
    p.connector.handleClosed(1006, "x");
    p.reconnect();
    p.msg(5, "e");
    expect(gapFills(p.sent())).toEqual([0]);
  });

  /** A request for the hole at seq 1 written at t=1000, with seqs 1 and 2 seen before it. */
  function afterFirstRequest(): Pair {
    const p = connected();
    p.msg(1, "a");
    p.msg(2, "b");
    p.connector.accept(2);
    p.connector.release(1);
    p.advanceBy(1_000);
    expect(gapFills(p.sent())).toEqual([0]);
    return p;
  }

  it("holds a due retry back while the replay has not begun and new seqs still arrive", () => {
    const p = afterFirstRequest();
    let seq = 3;
    for (let t = 0; t < 10_000; t += 250) {
      p.msg(seq, `m${seq}`);
      p.connector.accept(seq++);
      p.advanceBy(250);
    }
    expect(gapFills(p.sent())).toEqual([]);
    expect(p.log("gap_fill_held")).toBeGreaterThan(0);
  });

  it("holds the first request for a new cursor value back while an earlier replay is awaited", () => {
    const p = connected();
    for (let seq = 1; seq <= 4; seq++) p.msg(seq, `m${seq}`);
    p.connector.release(2);
    p.advanceBy(1_000);
    expect(gapFills(p.sent())).toEqual([0]);
    p.connector.accept(1);
    expect(acks(p.sent())).toEqual([1]);
    // Seq 5 reveals the hole at 2 above the new cursor; the replay since 0 will cover it.
    p.msg(5, "m5");
    p.advanceBy(500);
    p.msg(6, "m6");
    expect(gapFills(p.sent())).toEqual([]);
    // Once the replay has begun, the held request goes out at the next check.
    p.advanceBy(500);
    p.msg(1, "m1");
    p.advanceBy(1_000);
    expect(gapFills(p.sent())).toEqual([1]);
  });

  it("holds a retry back for at most gapFillRetryMaxMs", () => {
    const p = afterFirstRequest();
    let seq = 3;
    const times: number[] = [];
    while (p.env.nowMs < 40_000) {
      p.msg(seq, `m${seq}`);
      p.connector.accept(seq++);
      p.advanceBy(250);
      if (gapFills(p.sent()).length > 0) times.push(p.env.nowMs);
    }
    // Due at 3000 (1000 + the 2 s second step), held from then until 30 s have passed.
    expect(times).toEqual([33_000]);
  });

  it("asks at its due time when no new seq arrived since the request", () => {
    const p = afterFirstRequest();
    p.advanceBy(2_000);
    expect(gapFills(p.sent())).toEqual([0]);
  });

  it("asks at its due time once the replay has begun, even while new seqs arrive", () => {
    const p = afterFirstRequest();
    p.msg(3, "c");
    p.connector.accept(3);
    p.advanceBy(500);
    p.msg(1, "a");
    p.connector.release(1);
    p.msg(4, "d");
    p.connector.accept(4);
    expect(gapFills(p.sent())).toEqual([]);
    p.advanceBy(1_500);
    expect(gapFills(p.sent())).toEqual([0]);
  });

  it("waits for the backoff when a replayed seq is released before its retry fell due", () => {
    const p = afterFirstRequest();
    p.advanceBy(500);
    p.msg(1, "a");
    p.connector.release(1);
    expect(gapFills(p.sent())).toEqual([]);
    p.advanceBy(1_499);
    expect(gapFills(p.sent())).toEqual([]);
    p.advanceBy(1);
    expect(gapFills(p.sent())).toEqual([0]);
  });

  it("sends no gap fill and arms no retry while the socket is closed", () => {
    const p = connected();
    p.msg(1, "a");
    p.connector.handleClosed(1006, "x");
    p.connector.release(1);
    expect(p.env.isArmed({ kind: "gap_retry" })).toBe(false);
  });
});

describe("planted faults", () => {
  it("noDuplicateSuppression lets a pending duplicate through", () => {
    const p = new Pair({ faults: { noDuplicateSuppression: true } });
    p.connect();
    p.msg(1, "a");
    p.msg(1, "a");
    expect(p.delivered).toHaveLength(2);
  });

  it("persistBeforeAck writes the cursor file while the socket is closed", () => {
    const p = new Pair({ faults: { persistBeforeAck: true } });
    p.connect();
    p.msg(1, "a");
    p.connector.handleClosed(1006, "x");
    p.take();
    p.connector.accept(1);
    expect(cursorWrites(p.take())).toEqual([1]);
    expect(p.connector.committedSeq).toBe(0);
  });
});
