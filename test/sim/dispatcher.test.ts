/**
 * The platform's dispatcher model (sim/actors/dispatcher.ts): the fairness it owes the broker.
 * A platform that abandons a row, loses a dispatch for good or ignores a `failed` ack leaves the
 * row in the broker's inbox forever; with a small inbox that wedges the cursor (soak seeds 3, 15,
 * 56), a failure of the world rather than of the broker.
 */

import { describe, expect, it } from "vitest";
import { DEFAULT_DISPATCHER_OPTIONS, Dispatcher, type DispatcherOut } from "../../sim/actors/dispatcher.ts";
import { PlatformApi } from "../../sim/actors/platform-api.ts";
import { Streams } from "../../sim/kernel/prng.ts";

type Timer = Extract<DispatcherOut, { kind: "timer" }>;
type Event = Extract<DispatcherOut, { kind: "control_event" }>["event"];

/** A platform with one row and (optionally) one background endpoint; timers fire by hand. */
class Bench {
  readonly api = new PlatformApi();
  readonly d: Dispatcher;
  private timers: Timer[] = [];
  readonly events: Event[] = [];
  now = 0;

  constructor(withEndpoint = true) {
    this.d = new Dispatcher(this.api, new Streams(7).get("dispatcher"), {
      ...DEFAULT_DISPATCHER_OPTIONS,
      attemptsMax: 3,
      waitForTargetMs: 10_000,
      redeliverAfterMs: 5_000,
    });
    if (withEndpoint) this.endpoint();
    this.api.handle(
      "undispatched_changed",
      {
        type: "undispatched_changed",
        version: 1,
        action: "add",
        undispatched_id: "m1",
        source_message_id: "m1",
        sender_address: "agent://a",
        content_preview: "hi",
        reason: "no_target_endpoint",
        traceparent: "00-0-0-01",
        traceId: "0",
        arrived_at: 0,
      },
      0,
    );
    this.collect();
  }

  endpoint(): void {
    this.api.handle(
      "register",
      {
        nonce: "n",
        plugin_pid: 1,
        kind: "k",
        capabilities: ["background_exchange_v1"],
        display_label: "k",
        background_exchange_mode: "resident_endpoint",
      },
      this.now,
    );
  }

  collect(): void {
    for (const o of this.d.takeOutputs()) {
      if (o.kind === "timer") this.timers.push(o);
      else this.events.push(o.event);
    }
  }

  /** Fire every timer due by `untilMs`, in time order. */
  runUntil(untilMs: number): void {
    for (;;) {
      this.timers.sort((a, b) => a.atMs - b.atMs);
      const next = this.timers[0];
      if (!next || next.atMs > untilMs) break;
      this.timers.shift();
      this.now = next.atMs;
      this.d.onTimer(next.tag, this.now);
      this.collect();
    }
    this.now = untilMs;
  }

  ack(key: string, status: string, detail?: string): void {
    this.d.onControlAck(key, status, detail, this.now);
    this.collect();
  }

  /** Run in 100 ms steps until a new control event appears (undefined after `limitMs`). */
  nextEvent(limitMs: number): Event | undefined {
    const before = this.events.length;
    const end = this.now + limitMs;
    while (this.events.length === before && this.now < end) this.runUntil(this.now + 100);
    return this.events[before];
  }
}

describe("dispatcher model", () => {
  it("delivers an unacknowledged control event again until it is acknowledged", () => {
    const b = new Bench();
    b.runUntil(1_000);
    expect(b.events.map((e) => e.idempotency_key)).toEqual(["asg-1"]);
    b.runUntil(11_000);
    expect(b.events.map((e) => e.idempotency_key)).toEqual(["asg-1", "asg-1", "asg-1"]);
    expect(b.events[1]).toEqual(b.events[0]);
    b.ack("asg-1", "applied");
    b.runUntil(60_000);
    expect(b.events).toHaveLength(3);
    expect(b.d.redelivered).toBe(2);
  });

  it("re-dispatches after a failed ack even when the assigned state was recorded", () => {
    const b = new Bench();
    b.runUntil(1_000);
    const first = b.events[0]!;
    // The broker's `assigned_to_runtime_target` reached the platform, its answer did not; the broker
    // put the row back and acked `failed`.
    b.api.handle(
      "processing_state",
      {
        type: "runtime_processing_state",
        version: 1,
        source_message_id: "m1",
        assignment_id: "asg-1",
        state_event_id: "asg-1:assigned",
        state_sequence: 1,
        target_ref: first.target_ref as never,
        state: "assigned_to_runtime_target",
        occurred_at: b.now,
        undispatched_id: "m1",
        broker_projection_token: first.broker_projection_token as string,
      },
      b.now,
    );
    b.ack("asg-1", "failed");
    b.runUntil(3_000);
    expect(b.events.map((e) => e.idempotency_key)).toContain("asg-2");
  });

  it("keeps looking for a target for a row nobody can take, at a slower pace after attemptsMax", () => {
    const b = new Bench(false);
    b.runUntil(3_000);
    expect(b.events).toEqual([]);
    b.runUntil(100_000);
    expect(b.d.slowRetries).toBeGreaterThanOrEqual(8);
    expect(b.d.slowRetries).toBeLessThanOrEqual(10);
    b.endpoint();
    b.runUntil(120_000);
    expect(new Set(b.events.map((e) => `${e.idempotency_key} ${e.undispatched_id}`))).toEqual(
      new Set(["asg-1 m1"]),
    );
  });
});

describe("dispatcher model: failed dispatches", () => {
  /** Fail every dispatch of m1 with `detail` as it comes; the times of the dispatches. */
  const failAll = (b: Bench, detail: string, limitMs: number): number[] => {
    const times: number[] = [];
    for (;;) {
      const e = b.nextEvent(limitMs);
      if (!e) return times;
      times.push(b.now);
      b.ack(e.idempotency_key as string, "failed", detail);
    }
  };

  it("backs off a row whose dispatches keep failing, doubling up to retryMaxMs", () => {
    const b = new Bench();
    // The endpoint goes stale after 90 s without a heartbeat, which ends the run of dispatches.
    const times = failAll(b, "target endpoint did not acknowledge push receipt: ep-1", 60_000);
    const gaps = times.slice(1).map((t, i) => Math.round((t - times[i]!) / 100) * 100);
    expect(gaps).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000]);
  });

  /** Post `state` (after `assigned_to_runtime_target`) for the assignment of dispatch event `e`. */
  const report = (b: Bench, e: Event, state: string): void => {
    const key = e.idempotency_key as string;
    const states = ["assigned_to_runtime_target", state];
    states.forEach((s, i) => {
      const r = b.api.handle(
        "processing_state",
        {
          type: "runtime_processing_state",
          version: 1,
          source_message_id: "m1",
          assignment_id: key,
          state_event_id: `${key}:${s}`,
          state_sequence: i + 1,
          target_ref: e.target_ref as never,
          state: s as never,
          occurred_at: b.now,
          undispatched_id: "m1",
          broker_projection_token: e.broker_projection_token as string,
        },
        b.now,
      );
      expect(r.ok).toBe(true);
    });
    b.collect();
  };

  it("backs off a row whose applied dispatches keep losing their target before acceptance", () => {
    const b = new Bench();
    const times: number[] = [];
    for (;;) {
      const e = b.nextEvent(60_000);
      if (!e) break;
      times.push(b.now);
      b.ack(e.idempotency_key as string, "applied");
      report(b, e, "target_lost_before_acceptance");
    }
    const gaps = times.slice(1).map((t, i) => Math.round((t - times[i]!) / 100) * 100);
    expect(gaps).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000]);
    expect(b.api.rows.get("m1")?.status).toBe("pending");
  });

  it("ignores a stale target-lost of an older assignment and its late failed ack", () => {
    const b = new Bench();
    const first = b.nextEvent(5_000)!;
    b.ack(
      first.idempotency_key as string,
      "failed",
      "target endpoint did not acknowledge push receipt: ep-1",
    );
    const second = b.nextEvent(5_000)!;
    report(b, first, "target_lost_before_acceptance");
    b.ack(first.idempotency_key as string, "failed", "assignment restored while pushing: ep-1");
    expect(b.api.rows.get("m1")?.status).toBe("assigned");
    expect(b.nextEvent(3_000)).toBeUndefined();
    b.ack(
      second.idempotency_key as string,
      "failed",
      "target endpoint did not acknowledge push receipt: ep-1",
    );
    // The second unsuccessful dispatch in a row waits twice the first delay.
    const start = b.now;
    expect(b.nextEvent(5_000)?.undispatched_id).toBe("m1");
    expect(Math.round((b.now - start) / 100) * 100).toBe(2_000);
  });

  it("gives up a row the broker answers unknown undispatched_id for, and marks it lost, not done", () => {
    const b = new Bench();
    failAll(b, "unknown undispatched_id: m1", 120_000);
    expect(b.events).toHaveLength(DEFAULT_DISPATCHER_OPTIONS.unknownRowAttemptsMax);
    expect(b.api.rows.get("m1")?.status).toBe("lost");
    expect(b.d.rowsLost).toBe(1);
  });

  it("dispatches a lost row anew when the broker adds it again", () => {
    const b = new Bench();
    failAll(b, "unknown undispatched_id: m1", 120_000);
    const add = b.api.handle(
      "undispatched_changed",
      {
        type: "undispatched_changed",
        version: 1,
        action: "add",
        undispatched_id: "m1",
        source_message_id: "m1",
        sender_address: "agent://a",
        content_preview: "hi",
        reason: "no_target_endpoint",
        traceparent: "00-0-0-01",
        traceId: "0",
        arrived_at: b.now,
      },
      b.now,
    );
    expect(add.ok).toBe(true);
    b.api.handle("heartbeat", { endpoint_id: "ep-1" } as never, b.now);
    b.collect();
    expect(b.api.rows.get("m1")?.status).toBe("pending");
    expect(b.nextEvent(5_000)?.undispatched_id).toBe("m1");
  });

  it("keeps retrying (with backoff) a row the broker holds but cannot hand out yet", () => {
    const b = new Bench();
    const times = failAll(b, "undispatched_id m1 is bound to assignment asg-9", 200_000);
    expect(b.api.rows.get("m1")?.status).not.toBe("lost");
    expect(times.length).toBeGreaterThan(DEFAULT_DISPATCHER_OPTIONS.unknownRowAttemptsMax);
    expect(times.length).toBeLessThan(20);
  });

  it("stops choosing an endpoint the broker does not know until the platform hears from it again", () => {
    const b = new Bench();
    const first = b.nextEvent(5_000)!;
    b.ack(first.idempotency_key as string, "failed", "target endpoint not found: ep-1");
    expect(b.nextEvent(30_000)).toBeUndefined();
    b.api.handle("heartbeat", { endpoint_id: "ep-1" } as never, b.now);
    expect(b.nextEvent(60_000)?.undispatched_id).toBe("m1");
  });
});
