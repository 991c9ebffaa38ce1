/**
 * Shape checks for platform control events (PROTOCOL §4.4). Events arrive as untrusted JSON; a
 * malformed one is answered with a `failed` ack naming the bad field, never a throw.
 */

import type { TargetRef } from "../types.ts";

export interface ControlEnvelope {
  type: string;
  version: unknown;
  idempotency_key: string;
  raw: Record<string, unknown>;
}

export interface DispatchEvent {
  type: "dispatch_undispatched";
  idempotency_key: string;
  emitted_at: number;
  undispatched_id: string;
  source_message_id: string;
  target_ref?: TargetRef;
  target_endpoint_id?: string;
  broker_projection_token?: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; detail: string };

/** The common envelope; `detail` names what is wrong when it is not usable. */
export function parseEnvelope(event: unknown): Parsed<ControlEnvelope> {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    return { ok: false, detail: "malformed_control_event: not an object" };
  }
  const raw = event as Record<string, unknown>;
  if (typeof raw.idempotency_key !== "string" || raw.idempotency_key.length === 0) {
    return { ok: false, detail: "malformed_control_event: idempotency_key must be a non-empty string" };
  }
  if (typeof raw.type !== "string" || raw.type.length === 0) {
    return { ok: false, detail: "malformed_control_event: type must be a non-empty string" };
  }
  return {
    ok: true,
    value: { type: raw.type, version: raw.version, idempotency_key: raw.idempotency_key, raw },
  };
}

function str(raw: Record<string, unknown>, key: string, required: boolean): string | undefined | Error {
  const v = raw[key];
  if (v === undefined || v === null) return required ? new Error(`${key} is required`) : undefined;
  if (typeof v !== "string" || (required && v.length === 0))
    return new Error(`${key} must be a non-empty string`);
  return v;
}

export function parseTargetRef(v: unknown): TargetRef | Error {
  if (typeof v !== "object" || v === null || Array.isArray(v))
    return new Error("target_ref must be an object");
  const r = v as Record<string, unknown>;
  if (r.kind !== "projection_endpoint") return new Error("target_ref.kind must be projection_endpoint");
  if (typeof r.projection_endpoint_id !== "string" || r.projection_endpoint_id.length === 0) {
    return new Error("target_ref.projection_endpoint_id must be a non-empty string");
  }
  const mode = r.background_exchange_mode;
  if (mode !== "resident_endpoint" && mode !== "adapter_managed_turn") {
    return new Error("target_ref.background_exchange_mode must be resident_endpoint or adapter_managed_turn");
  }
  if (r.runtime_session_id !== undefined && typeof r.runtime_session_id !== "string") {
    return new Error("target_ref.runtime_session_id must be a string");
  }
  const ref: TargetRef = {
    kind: "projection_endpoint",
    projection_endpoint_id: r.projection_endpoint_id,
    background_exchange_mode: mode,
  };
  if (typeof r.runtime_session_id === "string") ref.runtime_session_id = r.runtime_session_id;
  return ref;
}

export function parseDispatch(env: ControlEnvelope, nowMs: number): Parsed<DispatchEvent> {
  const raw = env.raw;
  const bad = (e: Error): Parsed<DispatchEvent> => ({
    ok: false,
    detail: `malformed dispatch_undispatched: ${e.message}`,
  });
  const undispatchedId = str(raw, "undispatched_id", true);
  if (undispatchedId instanceof Error) return bad(undispatchedId);
  const sourceMessageId = str(raw, "source_message_id", true);
  if (sourceMessageId instanceof Error) return bad(sourceMessageId);
  const legacyTarget = str(raw, "target_endpoint_id", false);
  if (legacyTarget instanceof Error) return bad(legacyTarget);
  const token = str(raw, "broker_projection_token", false);
  if (token instanceof Error) return bad(token);
  let targetRef: TargetRef | undefined;
  if (raw.target_ref !== undefined && raw.target_ref !== null) {
    const t = parseTargetRef(raw.target_ref);
    if (t instanceof Error) return bad(t);
    targetRef = t;
  }
  let emittedAt = nowMs;
  if (raw.emitted_at !== undefined) {
    if (typeof raw.emitted_at !== "number" || !Number.isFinite(raw.emitted_at)) {
      return bad(new Error("emitted_at must be a number"));
    }
    emittedAt = raw.emitted_at;
  }
  const value: DispatchEvent = {
    type: "dispatch_undispatched",
    idempotency_key: env.idempotency_key,
    emitted_at: emittedAt,
    undispatched_id: undispatchedId!,
    source_message_id: sourceMessageId!,
  };
  if (targetRef) value.target_ref = targetRef;
  if (legacyTarget !== undefined) value.target_endpoint_id = legacyTarget;
  if (token !== undefined) value.broker_projection_token = token;
  return { ok: true, value };
}
