import { describe, expect, it } from "vitest";
import type { PresenceChangedEvent } from "../../../src/broker/api.ts";
import { RetryEmitter } from "../../../src/broker/emitters/retry-emitter.ts";
import { TransitionQueue } from "../../../src/broker/emitters/transition-queue.ts";
import { apiCalls, ok, take, terminal, testEnv, tick, transient } from "./env-helpers.ts";

const ev = (n: number): PresenceChangedEvent => ({
  type: "network_presence_changed",
  version: 1,
  state: "online",
  ts: n,
});
const opts = { capacity: 3, backoffInitialMs: 500, backoffMaxMs: 2_000, retriesMax: 5 };

describe("the retry emitter", () => {
  it("posts one item at a time in FIFO order", () => {
    const env = testEnv();
    const em = new RetryEmitter(env, "p", "presence_changed", opts);
    em.enqueue(ev(1));
    em.enqueue(ev(2));
    const first = apiCalls(take(env));
    expect(first.map((c) => (c.args as PresenceChangedEvent).ts)).toEqual([1]);
    env.completeApi(first[0]!.id, ok);
    expect(apiCalls(take(env)).map((c) => (c.args as PresenceChangedEvent).ts)).toEqual([2]);
  });

  it("backs off min(initial·2^(n-1), max) before retry n and drops after retriesMax transient failures", () => {
    const env = testEnv();
    const em = new RetryEmitter(env, "p", "presence_changed", opts);
    em.enqueue(ev(1));
    const delays: number[] = [];
    let call = apiCalls(take(env))[0]!;
    for (let n = 1; n <= 5; n++) {
      const before = env.nowMs;
      env.completeApi(call.id, transient);
      if (n === 5) break;
      const at = env.dueAt({ kind: "emitter_retry", queue: "p" })!;
      delays.push(at - before);
      tick(env, at - before);
      call = apiCalls(take(env))[0]!;
    }
    expect(delays).toEqual([500, 1_000, 2_000, 2_000]);
    expect(em.size).toBe(0);
    expect(env.logCounts.get("p_drop_max_retries")).toBe(1);
  });

  it("drops on a terminal failure and runs onSuccess only on success", () => {
    const env = testEnv();
    const em = new RetryEmitter(env, "p", "presence_changed", opts);
    const done: number[] = [];
    em.enqueue(ev(1), () => done.push(1));
    em.enqueue(ev(2), () => done.push(2));
    env.completeApi(apiCalls(take(env))[0]!.id, terminal);
    env.completeApi(apiCalls(take(env))[0]!.id, ok);
    expect(done).toEqual([2]);
  });

  it("evicts the oldest item when full and reports it with false", () => {
    const env = testEnv();
    const em = new RetryEmitter(env, "p", "presence_changed", { ...opts, capacity: 2 });
    const done: number[] = [];
    em.enqueue(ev(1), () => done.push(1));
    const inflight = apiCalls(take(env))[0]!;
    em.enqueue(ev(2), () => done.push(2));
    expect(em.enqueue(ev(3), () => done.push(3))).toBe(false);
    env.completeApi(inflight.id, ok);
    expect(done).toEqual([]);
    env.completeApi(apiCalls(take(env))[0]!.id, ok);
    env.completeApi(apiCalls(take(env))[0]!.id, ok);
    expect(done).toEqual([2, 3]);
  });

  it("never evicts a pinned item: the oldest unpinned one goes, or the queue grows past capacity", () => {
    const env = testEnv();
    const em = new RetryEmitter(env, "p", "presence_changed", { ...opts, capacity: 2 });
    const done: number[] = [];
    em.enqueue(ev(1), () => done.push(1), true);
    const inflight = apiCalls(take(env))[0]!;
    em.enqueue(ev(2), () => done.push(2));
    expect(em.enqueue(ev(3), () => done.push(3), true)).toBe(false); // 2 is evicted, not 1
    expect(em.enqueue(ev(4), () => done.push(4), true)).toBe(true); // all pinned: grows to 3
    expect(em.size).toBe(3);
    expect(env.logCounts.get("p_queue_over_capacity_pinned")).toBe(1);
    env.completeApi(inflight.id, ok);
    env.completeApi(apiCalls(take(env))[0]!.id, ok);
    env.completeApi(apiCalls(take(env))[0]!.id, ok);
    expect(done).toEqual([1, 3, 4]);
  });

  it("keeps retrying a pinned item past retriesMax until it lands", () => {
    const env = testEnv();
    const em = new RetryEmitter(env, "p", "presence_changed", opts);
    const done: number[] = [];
    em.enqueue(ev(1), () => done.push(1), true);
    for (let n = 1; n <= opts.retriesMax + 2; n++) {
      env.completeApi(apiCalls(take(env))[0]!.id, transient);
      tick(env, env.dueAt({ kind: "emitter_retry", queue: "p" })! - env.nowMs);
    }
    env.completeApi(apiCalls(take(env))[0]!.id, ok);
    expect(done).toEqual([1]);
    expect(env.logCounts.get("p_drop_max_retries")).toBeUndefined();
  });

  it("stops at shutdown: nothing is posted or called back afterwards", () => {
    const env = testEnv();
    const em = new RetryEmitter(env, "p", "presence_changed", opts);
    const done: number[] = [];
    em.enqueue(ev(1), () => done.push(1));
    em.enqueue(ev(2), () => done.push(2));
    const call = apiCalls(take(env))[0]!;
    em.shutdown();
    env.completeApi(call.id, ok);
    expect(done).toEqual([]);
    expect(apiCalls(take(env))).toEqual([]);
    expect(em.enqueue(ev(3))).toBe(false);
  });
});

describe("the transition queue", () => {
  it("holds transitions while offline and flushes them in order when online", () => {
    const env = testEnv();
    const q = new TransitionQueue(env);
    q.emit("a", "active", "register");
    q.emit("a", "reconnecting", "ipc_close");
    expect(apiCalls(take(env), "transition_state")).toEqual([]);
    q.setOnline(true);
    const first = apiCalls(take(env), "transition_state");
    expect(first.map((c) => c.args)).toMatchObject([{ endpoint_id: "a", state: "active" }]);
    env.completeApi(first[0]!.id, ok);
    expect(apiCalls(take(env), "transition_state").map((c) => c.args)).toMatchObject([
      { endpoint_id: "a", state: "reconnecting" },
    ]);
  });

  it("E4: retries a transient failure once, before any later transition of the same endpoint", () => {
    const env = testEnv({ transitionRetryMs: 500 });
    const q = new TransitionQueue(env);
    q.setOnline(true);
    q.emit("a", "reconnecting", "ipc_close");
    q.emit("b", "active", "register");
    const [ra, rb] = apiCalls(take(env), "transition_state");
    expect([ra!.args.endpoint_id, rb!.args.endpoint_id]).toEqual(["a", "b"]);
    q.emit("a", "closed", "grace_timeout");
    expect(apiCalls(take(env), "transition_state")).toEqual([]);
    env.completeApi(ra!.id, transient);
    expect(apiCalls(take(env), "transition_state")).toEqual([]);
    tick(env, 500);
    const retry = apiCalls(take(env), "transition_state");
    expect(retry.map((c) => c.args.state)).toEqual(["reconnecting"]);
    env.completeApi(retry[0]!.id, transient);
    expect(apiCalls(take(env), "transition_state").map((c) => c.args.state)).toEqual(["closed"]);
    expect(env.logCounts.get("transition_state_failed")).toBe(1);
  });

  it("drops the oldest queued transition beyond its cap", () => {
    const env = testEnv({ transitionQueueMax: 2 });
    const q = new TransitionQueue(env);
    q.emit("a", "active", "register");
    q.emit("b", "active", "register");
    q.emit("c", "active", "register");
    expect(q.size).toBe(2);
    expect(env.logCounts.get("transition_state_retry_queue_overflow")).toBe(1);
    q.setOnline(true);
    expect(apiCalls(take(env), "transition_state").map((c) => c.args.endpoint_id)).toEqual(["b", "c"]);
  });
});
