import { describe, expect, it } from "vitest";
import { normalizeRuntimeSessionId, parseInboundFrame } from "../../../src/broker/connector/guards.ts";
import { Pair } from "./harness.ts";

const base = {
  event: "MESSAGE_RECEIVED",
  from: "agent://a",
  content: "hi",
  contentType: "text/plain",
  metadata: {},
};

function rejectedField(obj: unknown): string | undefined {
  const r = parseInboundFrame(JSON.stringify(obj));
  if (r.ok) return undefined;
  return r.rejection.reason === "invalid_field" ? r.rejection.field : r.rejection.reason;
}

describe("normalizeRuntimeSessionId", () => {
  it("keeps absent as absent and trims a valid id", () => {
    expect(normalizeRuntimeSessionId(undefined)).toBeUndefined();
    expect(normalizeRuntimeSessionId("  s-1 ")).toBe("s-1");
    expect(normalizeRuntimeSessionId("x".repeat(256))).toBe("x".repeat(256));
  });

  it("calls empty, too long, reserved-prefix and non-string ids invalid", () => {
    expect(normalizeRuntimeSessionId("   ")).toBeNull();
    expect(normalizeRuntimeSessionId("x".repeat(257))).toBeNull();
    expect(normalizeRuntimeSessionId("__masons_x")).toBeNull();
    expect(normalizeRuntimeSessionId(" __masons_x")).toBeNull();
    expect(normalizeRuntimeSessionId(7)).toBeNull();
    expect(normalizeRuntimeSessionId(null)).toBeNull();
  });
});

describe("parseInboundFrame", () => {
  it("rejects text that is not JSON", () => {
    const r = parseInboundFrame("{nope");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.rejection.reason).toBe("not_json");
  });

  it("rejects JSON that is not an object and frames of unknown type", () => {
    expect(rejectedField([1, 2])).toBe("not_object");
    expect(rejectedField(null)).toBe("not_object");
    expect(rejectedField("MESSAGE_RECEIVED")).toBe("not_object");
    expect(rejectedField({ type: "BOGUS" })).toBe("unknown_type");
    expect(rejectedField({ type: 4 })).toBe("unknown_type");
    expect(rejectedField({})).toBe("unknown_type");
  });

  it("accepts a well-formed MESSAGE_RECEIVED and drops unknown fields", () => {
    const r = parseInboundFrame(JSON.stringify({ ...base, seq: 3, messageId: "m", extra: 1 }));
    expect(r).toEqual({ ok: true, frame: { ...base, seq: 3, messageId: "m" } });
  });

  it("requires the string fields and a plain-object metadata on MESSAGE_RECEIVED", () => {
    expect(rejectedField({ ...base, from: undefined })).toBe("from");
    expect(rejectedField({ ...base, content: 5 })).toBe("content");
    expect(rejectedField({ ...base, contentType: null })).toBe("contentType");
    expect(rejectedField({ ...base, metadata: [] })).toBe("metadata");
    expect(rejectedField({ ...base, metadata: "x" })).toBe("metadata");
    expect(rejectedField({ ...base, metadata: undefined })).toBe("metadata");
    expect(rejectedField({ ...base, messageId: 9 })).toBe("messageId");
    expect(rejectedField({ ...base, sentAt: false })).toBe("sentAt");
  });

  it("rejects negative, fractional, non-numeric and unsafe sequence numbers", () => {
    for (const seq of [-1, 1.5, "3", null, 2 ** 53, true]) {
      expect(rejectedField({ ...base, seq })).toBe("seq");
      expect(rejectedField({ event: "DELIVERY_SKIP", seq, reason: "runtime_mailbox_dismissed" })).toBe("seq");
      expect(rejectedField({ event: "DELIVERY_CURSOR", deliverySeq: seq })).toBe("deliverySeq");
      expect(rejectedField({ event: "DELIVERY_CURSOR", deliverySeq: 1, deliveredSeq: seq })).toBe(
        "deliveredSeq",
      );
      expect(rejectedField({ event: "REGISTER_ACK", status: "ok", deliverySeq: seq })).toBe("deliverySeq");
    }
    expect(parseInboundFrame(JSON.stringify({ ...base, seq: 0 })).ok).toBe(true);
  });

  it("accepts DELIVERY_SKIP only with reason runtime_mailbox_dismissed", () => {
    expect(rejectedField({ event: "DELIVERY_SKIP", seq: 1, reason: "other" })).toBe("reason");
    expect(rejectedField({ event: "DELIVERY_SKIP", seq: 1 })).toBe("reason");
    expect(
      parseInboundFrame(
        JSON.stringify({ event: "DELIVERY_SKIP", seq: 1, reason: "runtime_mailbox_dismissed" }),
      ).ok,
    ).toBe(true);
  });

  it("rejects frames carrying an invalid runtimeSessionId and normalises valid ones", () => {
    expect(rejectedField({ ...base, runtimeSessionId: "" })).toBe("runtimeSessionId");
    expect(rejectedField({ ...base, runtimeSessionId: "__masons_a" })).toBe("runtimeSessionId");
    expect(rejectedField({ event: "DELIVERY_CURSOR", deliverySeq: 1, runtimeSessionId: 3 })).toBe(
      "runtimeSessionId",
    );
    expect(
      rejectedField({
        event: "DELIVERY_SKIP",
        seq: 1,
        reason: "runtime_mailbox_dismissed",
        runtimeSessionId: "x".repeat(300),
      }),
    ).toBe("runtimeSessionId");
    expect(rejectedField({ event: "REGISTER_ACK", status: "ok", deliveryRuntimeSessionId: " " })).toBe(
      "deliveryRuntimeSessionId",
    );
    const r = parseInboundFrame(JSON.stringify({ ...base, runtimeSessionId: " s " }));
    expect(r.ok && r.frame.event === "MESSAGE_RECEIVED" && r.frame.runtimeSessionId).toBe("s");
  });

  it("validates the remaining frame types", () => {
    expect(rejectedField({ event: "REGISTER_ACK", status: "maybe" })).toBe("status");
    expect(rejectedField({ event: "REGISTER_ACK", status: "ok", protocolVersion: "4" })).toBe(
      "protocolVersion",
    );
    expect(rejectedField({ event: "REGISTER_ACK", status: "error", reason: 1 })).toBe("reason");
    expect(rejectedField({ event: "SEND_ACK", messageId: "m", status: "lost" })).toBe("status");
    expect(rejectedField({ event: "SEND_ACK", status: "stored" })).toBe("messageId");
    expect(rejectedField({ event: "DELIVERY_PENDING", count: "1", upTo: "x" })).toBe("count");
    expect(rejectedField({ event: "DELIVERY_PENDING", count: 1, upTo: 2 })).toBe("upTo");
    expect(rejectedField({ event: "DELIVERY_STATUS", messageId: "m" })).toBe("status");
    expect(rejectedField({ event: "ERROR", code: "X" })).toBe("message");
    expect(rejectedField({ event: "ERROR", code: "X", message: "m", messageId: 1 })).toBe("messageId");
    expect(parseInboundFrame(JSON.stringify({ event: "ERROR", code: "X", message: "m", to: "a" })).ok).toBe(
      true,
    );
    expect(
      parseInboundFrame(JSON.stringify({ event: "SEND_ACK", messageId: "m", status: "stored" })).ok,
    ).toBe(true);
  });

  it("never throws, whatever the input", () => {
    const inputs = [
      "",
      "null",
      "1",
      '"s"',
      "[]",
      '{"type":null}',
      '{"__proto__":{"event":"ERROR"}}',
      "\u0000",
    ];
    for (const t of inputs) expect(() => parseInboundFrame(t)).not.toThrow();
  });
});

describe("the connector with malformed frames", () => {
  it("counts and logs a rejected frame and changes no state", () => {
    const p = new Pair({ options: { runtimeSessionId: "s" } });
    p.connect({ deliveryRuntimeSessionId: "s" });
    p.msg(1, "m1", { runtimeSessionId: "s" });
    p.take();
    const before = {
      committed: p.connector.committedSeq,
      pending: p.connector.pendingCount,
      seen: p.connector.seenCount,
      gaps: p.connector.acceptedGaps(),
    };
    const bad = [
      "not json",
      "[]",
      JSON.stringify({ ...base, seq: -1, messageId: "x" }),
      JSON.stringify({ ...base, seq: 1.5, messageId: "y" }),
      JSON.stringify({ ...base, seq: 5, messageId: "z", runtimeSessionId: "__masons_s" }),
      JSON.stringify({ event: "DELIVERY_CURSOR", deliverySeq: 9, deliveredSeq: -3 }),
      JSON.stringify({ event: "DELIVERY_SKIP", seq: 1, reason: "nope" }),
    ];
    for (const t of bad) expect(() => p.connector.handleFrame(t)).not.toThrow();
    expect(p.connector.rejectedFrames).toBe(bad.length);
    expect(p.log("connector_frame_rejected")).toBe(bad.length);
    expect(p.take()).toEqual([]);
    expect(p.delivered).toHaveLength(1);
    expect({
      committed: p.connector.committedSeq,
      pending: p.connector.pendingCount,
      seen: p.connector.seenCount,
      gaps: p.connector.acceptedGaps(),
    }).toEqual(before);
  });
});
