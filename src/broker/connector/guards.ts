/**
 * Hand-written validating guards for connector → broker frames (PROTOCOL.md §2.1, §2.2).
 *
 * Theory of operation:
 * 1. `parseInboundFrame` is the only way text from the connector socket becomes an `InboundFrame`.
 *    It never throws: malformed JSON, a non-object, an unknown `type` or a field of the wrong type
 *    yields a typed `FrameRejection` that the connector logs and counts, and nothing else happens.
 * 2. A frame that passes is rebuilt field by field, so unknown fields and prototype tricks never
 *    travel further into the core, and every `runtimeSessionId` in it is already normalised
 *    (trimmed). A frame carrying an *invalid* runtime session id is rejected, as the reference's
 *    type guard does (§2.1).
 * 3. Optional fields may be absent; when present they must have the stated type (`null` is a wrong
 *    type, not "absent": the reference connector never sends it, so it signals a broken peer).
 * 4. Sequence numbers (`seq`, `deliverySeq`, `deliveredSeq`) must be safe integers ≥ 0.
 */

import type {
  DeliveryCursorFrame,
  DeliveryPendingFrame,
  DeliverySkipFrame,
  DeliveryStatusFrame,
  ErrorFrame,
  FrameRejection,
  InboundFrame,
  MessageReceivedFrame,
  RegisterAckFrame,
  SendAckFrame,
} from "./frames.ts";

export const RUNTIME_SESSION_ID_MAX_CHARS = 256;
export const RESERVED_RUNTIME_SESSION_PREFIX = "__masons_";

export type ParseResult = { ok: true; frame: InboundFrame } | { ok: false; rejection: FrameRejection };

/**
 * Normalise a runtime session id (§2.1): `undefined` when absent, the trimmed string when valid,
 * `null` when invalid (not a string, empty after trim, longer than 256 chars, reserved prefix).
 */
export function normalizeRuntimeSessionId(v: unknown): string | undefined | null {
  if (v === undefined) return undefined;
  if (typeof v !== "string") return null;
  const t = v.trim();
  if (t.length === 0 || t.length > RUNTIME_SESSION_ID_MAX_CHARS) return null;
  if (t.startsWith(RESERVED_RUNTIME_SESSION_PREFIX)) return null;
  return t;
}

/** Thrown only inside this module and turned into a rejection before `parseInboundFrame` returns. */
class FieldError {
  constructor(
    readonly field: string,
    readonly detail: string,
  ) {}
}

type Obj = Record<string, unknown>;

function isPlainObject(v: unknown): v is Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function has(o: Obj, k: string): boolean {
  return Object.hasOwn(o, k);
}

function reqString(o: Obj, k: string): string {
  const v = has(o, k) ? o[k] : undefined;
  if (typeof v !== "string") throw new FieldError(k, "expected a string");
  return v;
}

function optString(o: Obj, k: string): string | undefined {
  if (!has(o, k) || o[k] === undefined) return undefined;
  const v = o[k];
  if (typeof v !== "string") throw new FieldError(k, "expected a string when present");
  return v;
}

function isSeq(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function reqSeq(o: Obj, k: string): number {
  const v = has(o, k) ? o[k] : undefined;
  if (!isSeq(v)) throw new FieldError(k, "expected an integer >= 0");
  return v;
}

function optSeq(o: Obj, k: string): number | undefined {
  if (!has(o, k) || o[k] === undefined) return undefined;
  const v = o[k];
  if (!isSeq(v)) throw new FieldError(k, "expected an integer >= 0 when present");
  return v;
}

function optScope(o: Obj, k: string): string | undefined {
  if (!has(o, k)) return undefined;
  const n = normalizeRuntimeSessionId(o[k]);
  if (n === null) throw new FieldError(k, "invalid runtime session id");
  return n;
}

function oneOf<T extends string>(o: Obj, k: string, allowed: readonly T[]): T {
  const v = has(o, k) ? o[k] : undefined;
  if (typeof v !== "string" || !(allowed as readonly string[]).includes(v)) {
    throw new FieldError(k, `expected one of ${allowed.join(", ")}`);
  }
  return v as T;
}

/** Copy optional fields that are set, so absent fields stay absent (not `undefined`-valued). */
function withOptional<T extends object>(base: T, extra: Record<string, unknown>): T {
  const out = base as Record<string, unknown>;
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return base;
}

function registerAck(o: Obj): RegisterAckFrame {
  const status = oneOf(o, "status", ["ok", "error"] as const);
  const protocolVersion = has(o, "protocolVersion") ? o.protocolVersion : undefined;
  if (
    protocolVersion !== undefined &&
    (typeof protocolVersion !== "number" || !Number.isFinite(protocolVersion))
  ) {
    throw new FieldError("protocolVersion", "expected a number when present");
  }
  return withOptional<RegisterAckFrame>(
    { event: "REGISTER_ACK", status },
    {
      reason: optString(o, "reason"),
      protocolVersion,
      agent: has(o, "agent") ? o.agent : undefined,
      owner: has(o, "owner") ? o.owner : undefined,
      deliverySeq: optSeq(o, "deliverySeq"),
      deliveryRuntimeSessionId: optScope(o, "deliveryRuntimeSessionId"),
    },
  );
}

function sendAck(o: Obj): SendAckFrame {
  return {
    event: "SEND_ACK",
    messageId: reqString(o, "messageId"),
    status: oneOf(o, "status", ["delivered", "stored"] as const),
  };
}

/** The hot frame: built field by field without `withOptional`, with the same key order. */
function messageReceived(o: Obj): MessageReceivedFrame {
  const metadata = has(o, "metadata") ? o.metadata : undefined;
  if (!isPlainObject(metadata)) throw new FieldError("metadata", "expected a plain object");
  const frame: MessageReceivedFrame = {
    event: "MESSAGE_RECEIVED",
    from: reqString(o, "from"),
    content: reqString(o, "content"),
    contentType: reqString(o, "contentType"),
    metadata,
  };
  const messageId = optString(o, "messageId");
  const runtimeSessionId = optScope(o, "runtimeSessionId");
  const sentAt = optString(o, "sentAt");
  const seq = optSeq(o, "seq");
  if (messageId !== undefined) frame.messageId = messageId;
  if (runtimeSessionId !== undefined) frame.runtimeSessionId = runtimeSessionId;
  if (sentAt !== undefined) frame.sentAt = sentAt;
  if (seq !== undefined) frame.seq = seq;
  return frame;
}

function deliveryPending(o: Obj): DeliveryPendingFrame {
  const count = has(o, "count") ? o.count : undefined;
  if (typeof count !== "number" || !Number.isFinite(count))
    throw new FieldError("count", "expected a number");
  return { event: "DELIVERY_PENDING", count, upTo: reqString(o, "upTo") };
}

function deliveryStatus(o: Obj): DeliveryStatusFrame {
  return withOptional<DeliveryStatusFrame>(
    { event: "DELIVERY_STATUS", messageId: reqString(o, "messageId"), status: reqString(o, "status") },
    { deliveredAt: optString(o, "deliveredAt") },
  );
}

function deliveryCursor(o: Obj): DeliveryCursorFrame {
  return withOptional<DeliveryCursorFrame>(
    { event: "DELIVERY_CURSOR", deliverySeq: reqSeq(o, "deliverySeq") },
    { runtimeSessionId: optScope(o, "runtimeSessionId"), deliveredSeq: optSeq(o, "deliveredSeq") },
  );
}

function deliverySkip(o: Obj): DeliverySkipFrame {
  return withOptional<DeliverySkipFrame>(
    {
      event: "DELIVERY_SKIP",
      seq: reqSeq(o, "seq"),
      reason: oneOf(o, "reason", ["runtime_mailbox_dismissed"] as const),
    },
    {
      runtimeSessionId: optScope(o, "runtimeSessionId"),
      messageId: optString(o, "messageId"),
      deliveredAt: optString(o, "deliveredAt"),
    },
  );
}

function errorFrame(o: Obj): ErrorFrame {
  return withOptional<ErrorFrame>(
    { event: "ERROR", code: reqString(o, "code"), message: reqString(o, "message") },
    { messageId: optString(o, "messageId"), to: optString(o, "to") },
  );
}

const PARSERS: ReadonlyMap<string, (o: Obj) => InboundFrame> = new Map<string, (o: Obj) => InboundFrame>([
  ["REGISTER_ACK", registerAck],
  ["SEND_ACK", sendAck],
  ["MESSAGE_RECEIVED", messageReceived],
  ["DELIVERY_PENDING", deliveryPending],
  ["DELIVERY_STATUS", deliveryStatus],
  ["DELIVERY_CURSOR", deliveryCursor],
  ["DELIVERY_SKIP", deliverySkip],
  ["ERROR", errorFrame],
]);

/** Parse and validate one text frame from the connector socket. Never throws. */
export function parseInboundFrame(text: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      rejection: { reason: "not_json", detail: err instanceof Error ? err.message : "parse error" },
    };
  }
  if (!isPlainObject(raw)) return { ok: false, rejection: { reason: "not_object" } };
  const type = has(raw, "event") ? raw.event : undefined;
  const parser = typeof type === "string" ? PARSERS.get(type) : undefined;
  if (!parser) return { ok: false, rejection: { reason: "unknown_type", type } };
  try {
    return { ok: true, frame: parser(raw) };
  } catch (err) {
    if (err instanceof FieldError) {
      return {
        ok: false,
        rejection: { reason: "invalid_field", type: type as string, field: err.field, detail: err.detail },
      };
    }
    return {
      ok: false,
      rejection: { reason: "invalid_field", type: type as string, field: "?", detail: String(err) },
    };
  }
}
