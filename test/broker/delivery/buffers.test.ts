import { describe, expect, it } from "vitest";
import { ReconnectingBuffers } from "../../../src/broker/endpoints/buffers.ts";
import type { Output } from "../../../src/broker/types.ts";
import { take, testEnv } from "./env-helpers.ts";

const envelope = { from: "f", content: "c", contentType: "text" };
const storageIds = (outs: Output[]) => outs.flatMap((o) => (o.kind === "storage" ? [o.id] : []));

describe("reconnecting buffers", () => {
  it("mirrors only records storage confirmed, in append order", () => {
    const env = testEnv();
    const b = new ReconnectingBuffers(env);
    const results: boolean[] = [];
    b.append("e", "1", envelope, (ok) => results.push(ok));
    b.append("e", "2", envelope, (ok) => results.push(ok));
    const [s1, s2] = storageIds(take(env));
    expect(b.count("e")).toBe(0);
    env.completeStorage(s2!, true);
    env.completeStorage(s1!, false, "EIO");
    expect(results).toEqual([true, false]);
    expect(b.records("e").map((r) => r.id)).toEqual(["2"]);
  });

  it("skips a duplicate id, stored or in flight, without writing it again", () => {
    const env = testEnv();
    const b = new ReconnectingBuffers(env);
    const results: boolean[] = [];
    b.append("e", "1", envelope, (ok) => results.push(ok));
    b.append("e", "1", envelope, (ok) => results.push(ok));
    expect(storageIds(take(env))).toHaveLength(1);
    expect(results).toEqual([true]);
  });

  it("reports an append that lands after the buffer was deleted as failed, and wakes waiters", () => {
    const env = testEnv();
    const b = new ReconnectingBuffers(env);
    const results: boolean[] = [];
    let woke = false;
    b.append("e", "1", envelope, (ok) => results.push(ok));
    b.whenSettled("e", () => {
      woke = true;
    });
    const [s1] = storageIds(take(env));
    b.delete("e");
    expect(woke).toBe(true);
    expect(take(env)).toMatchObject([{ kind: "storage", op: { op: "delete_buffer", endpointId: "e" } }]);
    env.completeStorage(s1!, true);
    expect(results).toEqual([false]);
    expect(b.count("e")).toBe(0);
  });
});
