import { describe, expect, it } from "vitest";
import { IpcChannels } from "../../../src/broker/endpoints/channels.ts";
import { CorrelationCache } from "../../../src/broker/endpoints/correlation-cache.ts";
import type { Output } from "../../../src/broker/types.ts";
import { take, testEnv, tick } from "./env-helpers.ts";

const envelope = { from: "f", content: "c", contentType: "text" };
const pushId = (outs: Output[]) => {
  const p = outs.find((o) => o.kind === "ipc_push");
  return p?.kind === "ipc_push" && p.frame.event === "message_received" ? p.frame.push_id : undefined;
};
const ack = (id: string | undefined) => JSON.stringify({ event: "push_ack", push_id: id });

describe("IPC channels and push receipts", () => {
  it("reports a receipt only from the same channel the push went out on", () => {
    const env = testEnv();
    const ch = new IpcChannels(env);
    ch.open(1, 100, ["push_receipt_ack_v1"]);
    ch.open(2, 200, ["push_receipt_ack_v1"]);
    const results: boolean[] = [];
    ch.pushMessage(1, envelope, (r) => results.push(r));
    const id = pushId(take(env));
    ch.handleMessage(2, ack(id));
    ch.handleMessage(1, "not json");
    ch.handleMessage(1, JSON.stringify({ event: "push_ack", push_id: "push_unknown" }));
    expect(results).toEqual([]);
    ch.handleMessage(1, ack(id));
    expect(results).toEqual([true]);
    expect(env.isArmed({ kind: "push_receipt", pushId: id! })).toBe(false);
  });

  it("settles pending receipts false when the channel is displaced or closed", () => {
    const env = testEnv();
    const ch = new IpcChannels(env);
    ch.open(1, 100, ["push_receipt_ack_v1"]);
    const results: boolean[] = [];
    ch.pushMessage(1, envelope, (r) => results.push(r));
    const id = pushId(take(env));
    ch.open(2, 100, ["push_receipt_ack_v1"]);
    expect(take(env)).toContainEqual(
      expect.objectContaining({
        kind: "ipc_close_channel",
        channel: 1,
        code: 1000,
        reason: "replaced",
      }),
    );
    expect(results).toEqual([false]);
    ch.handleMessage(1, ack(id));
    expect(results).toEqual([false]);
    expect(ch.channelOf(100)).toBe(2);
    expect(ch.close(1)).toMatchObject({ known: true, displaced: true });
    ch.pushMessage(2, envelope, (r) => results.push(r));
    expect(ch.close(2)).toMatchObject({ known: true, displaced: false });
    expect(results).toEqual([false, false]);
    expect(ch.channelOf(100)).toBeUndefined();
  });

  it("times a receipt out after pushReceiptTimeoutMs", () => {
    const env = testEnv({ pushReceiptTimeoutMs: 100 });
    const ch = new IpcChannels(env);
    ch.open(1, 100, ["push_receipt_ack_v1"]);
    const results: boolean[] = [];
    ch.pushMessage(1, envelope, (r) => results.push(r));
    tick(env, 99);
    expect(results).toEqual([]);
    tick(env, 1);
    expect(results).toEqual([false]);
  });

  it("pushes presence to every open channel without a receipt", () => {
    const env = testEnv();
    const ch = new IpcChannels(env);
    ch.open(1, 100, ["push_receipt_ack_v1"]);
    ch.open(2, 200, []);
    ch.pushToAll({ event: "presence_changed", presence: "online" });
    expect(take(env).map((o) => o.kind === "ipc_push" && o.channel)).toEqual([1, 2]);
  });
});

describe("the reply-correlation cache", () => {
  it("moves ownership to the last recorder and forgets ids after the TTL", () => {
    const env = testEnv();
    const cache = new CorrelationCache(env, 1_000, 10);
    cache.record("c", "a");
    cache.record("c", "b");
    expect(cache.ownerOf("c")).toBe("b");
    tick(env, 1_000);
    expect(cache.ownerOf("c")).toBeUndefined();
  });

  it("keeps at most perEndpointMax ids per endpoint and sweeps expired ones", () => {
    const env = testEnv();
    const cache = new CorrelationCache(env, 1_000, 2);
    cache.record("1", "a");
    cache.record("2", "a");
    cache.record("3", "a");
    expect(cache.ownerOf("1")).toBeUndefined();
    expect(cache.size).toBe(2);
    expect(env.isArmed({ kind: "correlation_sweep" })).toBe(true);
    tick(env, 60_000);
    expect(cache.size).toBe(0);
    expect(env.isArmed({ kind: "correlation_sweep" })).toBe(false);
  });
});
