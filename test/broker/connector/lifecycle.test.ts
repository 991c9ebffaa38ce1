import { describe, expect, it } from "vitest";
import type { SendResult } from "../../../src/broker/model.ts";
import { CountingRandom } from "../../support/random.ts";
import { Pair } from "./harness.ts";

const MSG = { to: "agent://b", content: "yo", contentType: "text/plain" };

function reconnectDelay(p: Pair): number | undefined {
  const at = p.env.dueAt({ kind: "reconnect" });
  return at === undefined ? undefined : at - p.env.nowMs;
}

/** Close the current socket and return the reconnect delay it armed. */
function closeAndMeasure(p: Pair, code = 1006, reason = "gone"): number | undefined {
  p.connector.handleClosed(code, reason);
  return reconnectDelay(p);
}

describe("registration (§2.3)", () => {
  it("asks for a socket on start and only once", () => {
    const p = new Pair();
    p.connector.start();
    p.connector.start();
    expect(p.take()).toMatchObject([{ kind: "connector_connect" }]);
  });

  it("sends REGISTER with token, version, kind, scope and the committed cursor on open", () => {
    const p = new Pair({ initialCursor: 12, options: { connectorToken: "secret", runtimeSessionId: "s" } });
    p.connector.start();
    p.connector.handleOpen();
    expect(p.sent()).toEqual([
      {
        event: "REGISTER",
        token: "secret",
        protocolVersion: 4,
        clientVersion: "0.2.36",
        clientKind: "runtime-broker",
        runtimeSessionId: "s",
        lastKnownSeq: 12,
      },
    ]);
    expect(p.connector.socketOpen).toBe(true);
    expect(p.connector.ready).toBe(false);
  });

  it("becomes ready and reports connected on REGISTER_ACK ok", () => {
    const p = new Pair();
    p.connect({ agent: { id: "a" } });
    expect(p.connector.ready).toBe(true);
    expect(p.events).toEqual(["connected"]);
    expect(p.connector.identity).toEqual({ agent: { id: "a" }, owner: undefined });
    expect(p.env.isArmed({ kind: "register_ack" })).toBe(false);
  });

  it("closes with 4000 Register timeout when no REGISTER_ACK arrives, then reconnects", () => {
    const p = new Pair();
    p.connector.start();
    p.connector.handleOpen();
    p.take();
    p.advanceBy(14_999);
    expect(p.take()).toEqual([]);
    p.advanceBy(1);
    expect(p.take()).toMatchObject([{ kind: "connector_close", code: 4000, reason: "Register timeout" }]);
    p.connector.handleClosed(4000, "Register timeout");
    expect(reconnectDelay(p)).toBeGreaterThanOrEqual(1_000);
    p.advanceBy(2_000);
    expect(p.take()).toMatchObject([{ kind: "connector_connect" }]);
  });

  it("closes for good on a REGISTER_ACK with another protocol version", () => {
    const p = new Pair();
    p.connector.start();
    p.connector.handleOpen();
    p.frame({ event: "REGISTER_ACK", status: "ok", protocolVersion: 5 });
    expect(p.take().at(-1)).toMatchObject({
      kind: "connector_close",
      code: 4001,
      reason: "Unsupported protocol version",
    });
    expect(p.connector.ready).toBe(false);
    p.connector.handleClosed(4001, "Unsupported protocol version");
    expect(reconnectDelay(p)).toBeUndefined();
    expect(p.events).not.toContain("connected");
  });

  it("closes for good on REGISTER_ACK error Unsupported protocol version", () => {
    const p = new Pair();
    p.connector.start();
    p.connector.handleOpen();
    p.frame({ event: "REGISTER_ACK", status: "error", reason: "Unsupported protocol version" });
    expect(p.take().at(-1)).toMatchObject({ kind: "connector_close", code: 4001 });
    p.connector.handleClosed(4001, "Unsupported protocol version");
    expect(reconnectDelay(p)).toBeUndefined();
  });

  it("closes with a mismatch and reconnects when the ack's scope differs", () => {
    for (const [configured, acked] of [
      ["s1", "s2"],
      ["s1", undefined],
      [undefined, "s2"],
    ] as const) {
      const p = new Pair({ options: { runtimeSessionId: configured } });
      p.connector.start();
      p.connector.handleOpen();
      p.frame({ event: "REGISTER_ACK", status: "ok", protocolVersion: 4, deliveryRuntimeSessionId: acked });
      expect(p.take().at(-1)).toMatchObject({
        kind: "connector_close",
        code: 4001,
        reason: "Runtime session scope mismatch",
      });
      expect(p.connector.ready).toBe(false);
      p.connector.handleClosed(4001, "Runtime session scope mismatch");
      expect(reconnectDelay(p)).toBeDefined();
    }
  });

  it("ignores frames that arrive while the socket is closing", () => {
    const p = new Pair();
    p.connector.start();
    p.connector.handleOpen();
    p.frame({ event: "REGISTER_ACK", status: "error", reason: "nope" });
    p.msg(1, "a");
    expect(p.delivered).toEqual([]);
  });
});

describe("close handling (§2.3)", () => {
  it("reports replaced-by-new-runtime and never reconnects", () => {
    const p = new Pair();
    p.connect();
    p.connector.handleClosed(4001, "Replaced by new Runtime");
    expect(p.events.at(-1)).toEqual({
      code: 4001,
      reason: "Replaced by new Runtime",
      replacedByNewRuntime: true,
    });
    expect(reconnectDelay(p)).toBeUndefined();
    p.advanceBy(3_600_000);
    expect(p.take().filter((o) => o.kind === "connector_connect")).toEqual([]);
  });

  it("treats 4001 with another reason as an ordinary close", () => {
    const p = new Pair();
    p.connect();
    p.connector.handleClosed(4001, "Something else");
    expect(p.events.at(-1)).toEqual({ code: 4001, reason: "Something else", replacedByNewRuntime: false });
    expect(reconnectDelay(p)).toBeDefined();
  });

  it("shuts down with 1000 and never reconnects", () => {
    const p = new Pair();
    p.connect();
    p.connector.shutdown();
    expect(p.take()).toMatchObject([{ kind: "connector_close", code: 1000, reason: "broker shutdown" }]);
    p.connector.handleClosed(1000, "broker shutdown");
    expect(reconnectDelay(p)).toBeUndefined();
  });

  it("closes a socket that opens after shutdown was asked for, without registering", () => {
    const p = new Pair();
    p.connector.start();
    p.take();
    p.connector.shutdown();
    p.connector.handleOpen();
    expect(p.take()).toMatchObject([{ kind: "connector_close", code: 1000, reason: "broker shutdown" }]);
    p.connector.handleClosed(1000, "broker shutdown");
    expect(reconnectDelay(p)).toBeUndefined();
  });

  it("cancels a pending reconnect on shutdown", () => {
    const p = new Pair();
    p.connect();
    p.connector.handleClosed(1006, "gone");
    p.connector.shutdown();
    p.advanceBy(60_000);
    expect(p.take().filter((o) => o.kind === "connector_connect")).toEqual([]);
  });
});

describe("reconnect backoff (§2.4)", () => {
  it("grows exponentially with jitter from env.random up to the ceiling", () => {
    const p = new Pair();
    const r = new CountingRandom();
    p.connect();
    const seen: number[] = [];
    const expected: number[] = [];
    let b = 1_000;
    for (let i = 0; i < 8; i++) {
      seen.push(closeAndMeasure(p)!);
      expected.push(Math.floor(Math.min(b * (1 + r.float() * 0.3), 30_000)));
      b = Math.min(b * 2, 30_000);
      p.advanceTo(p.env.dueAt({ kind: "reconnect" })!);
      p.connector.handleOpen();
      p.take();
    }
    expect(seen).toEqual(expected);
    expect(seen[0]).toBeGreaterThanOrEqual(1_000);
    expect(seen[0]).toBeLessThan(1_300);
    expect(seen.at(-1)).toBe(30_000);
  });

  it("resets to the initial delay after REGISTER_ACK ok", () => {
    const p = new Pair();
    p.connect();
    closeAndMeasure(p);
    p.reconnect();
    closeAndMeasure(p);
    p.reconnect();
    const d = closeAndMeasure(p)!;
    expect(d).toBeGreaterThanOrEqual(1_000);
    expect(d).toBeLessThan(1_300);
  });

  it("waits a fixed 2 s while the server says Already connected, then one exponential delay", () => {
    const p = new Pair({ options: { alreadyConnectedRetriesMax: 3 } });
    p.connector.start();
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      p.connector.handleOpen();
      p.frame({ event: "REGISTER_ACK", status: "error", reason: "Already connected" });
      delays.push(closeAndMeasure(p, 4001, "Already connected")!);
      p.advanceTo(p.env.dueAt({ kind: "reconnect" })!);
    }
    expect(delays.slice(0, 2)).toEqual([2_000, 2_000]);
    expect(delays[2]).toBeGreaterThanOrEqual(1_000);
    expect(delays[2]).toBeLessThan(1_300);
    expect(delays[3]).toBe(2_000);
  });

  it("keeps reconnecting after a failed initial connect", () => {
    const p = new Pair();
    p.connector.start();
    p.connector.handleClosed(1006, "refused");
    expect(reconnectDelay(p)).toBeDefined();
  });
});

describe("sends (§2.3)", () => {
  it("answers unavailable synchronously and writes nothing when not registered", () => {
    const p = new Pair();
    const results: SendResult[] = [];
    p.connector.send(MSG, (r) => results.push(r), "m0");
    p.connector.start();
    p.connector.handleOpen();
    p.take();
    p.connector.send(MSG, (r) => results.push(r), "m1");
    expect(results).toEqual([
      { ok: false, error: "unavailable", messageId: "m0" },
      { ok: false, error: "unavailable", messageId: "m1" },
    ]);
    expect(p.take()).toEqual([]);
  });

  it("writes SEND_MESSAGE and resolves on SEND_ACK, ignoring a late duplicate ack", () => {
    const p = new Pair();
    p.connect();
    const results: SendResult[] = [];
    const id = p.connector.send({ ...MSG, metadata: { k: 1 } }, (r) => results.push(r));
    expect(p.sent()).toEqual([{ event: "SEND_MESSAGE", messageId: id, ...MSG, metadata: { k: 1 } }]);
    p.frame({ event: "SEND_ACK", messageId: id, status: "stored" });
    p.frame({ event: "SEND_ACK", messageId: id, status: "delivered" });
    expect(results).toEqual([{ ok: true, messageId: id, status: "stored" }]);
    expect(p.env.isArmed({ kind: "send_ack", messageId: id })).toBe(false);
  });

  it("reports outcome_unknown when no SEND_ACK arrives in time and ignores a later one", () => {
    const p = new Pair();
    p.connect();
    const results: SendResult[] = [];
    p.connector.send(MSG, (r) => results.push(r), "m1");
    p.advanceBy(14_999);
    expect(results).toEqual([]);
    p.advanceBy(1);
    p.frame({ event: "SEND_ACK", messageId: "m1", status: "stored" });
    expect(results).toEqual([
      { ok: false, error: "outcome_unknown", messageId: "m1", detail: "SEND_ACK timeout" },
    ]);
  });

  it("reports outcome_unknown for every pending send when the socket closes", () => {
    const p = new Pair();
    p.connect();
    const results: SendResult[] = [];
    p.connector.send(MSG, (r) => results.push(r), "m1");
    p.connector.send(MSG, (r) => results.push(r), "m2");
    p.connector.handleClosed(1006, "gone");
    expect(results.map((r) => [r.messageId, r.ok ? "ok" : r.error])).toEqual([
      ["m1", "outcome_unknown"],
      ["m2", "outcome_unknown"],
    ]);
    expect(results[0]).toMatchObject({ detail: "Connection closed before SEND_ACK" });
    expect(p.connector.pendingSends).toBe(0);
  });

  it("rejects a pending send named by an ERROR frame with its code", () => {
    const p = new Pair();
    p.connect();
    const results: SendResult[] = [];
    p.connector.send(MSG, (r) => results.push(r), "m1");
    p.frame({ event: "ERROR", code: "RECIPIENT_UNKNOWN", message: "no such agent", messageId: "m1" });
    p.frame({ event: "ERROR", code: "OTHER", message: "unrelated" });
    expect(results).toEqual([
      { ok: false, error: "rejected", messageId: "m1", code: "RECIPIENT_UNKNOWN", detail: "no such agent" },
    ]);
    expect(p.log("connector_error_frame")).toBe(1);
  });

  it("refuses a second in-flight send under the same message id without writing it", () => {
    const p = new Pair();
    p.connect();
    const results: SendResult[] = [];
    p.connector.send(MSG, (r) => results.push(r), "m1");
    p.take();
    p.connector.send(MSG, (r) => results.push(r), "m1");
    expect(p.take()).toEqual([]);
    expect(results).toEqual([
      expect.objectContaining({ ok: false, error: "outcome_unknown", messageId: "m1" }),
    ]);
  });
});
