/**
 * Identity and canonical forms used by assignments and replies: the assignment and reply keys,
 * the reply fingerprint (PROTOCOL §5.7), reply metadata sanitising (§2.7) and W3C traceparent
 * helpers. Pure functions; randomness comes in through `Random`.
 */

import type { Random } from "../types.ts";

/**
 * Separator inside composite keys. Platform ids are UUID-like, so a character that never occurs
 * in them keeps keys unambiguous while staying readable in traces and deadline names.
 */
export const KEY_SEP = "⟂";

export function assignmentKey(sourceMessageId: string, assignmentId: string): string {
  return `${sourceMessageId}${KEY_SEP}${assignmentId}`;
}

export function replyKey(sourceMessageId: string, assignmentId: string, replyRequestId: string): string {
  return `${assignmentKey(sourceMessageId, assignmentId)}${KEY_SEP}${replyRequestId}`;
}

/** Keys a plugin may not smuggle into a reply: the broker owns them (§2.7). */
const BROKER_OWNED_REPLY_METADATA = new Set([
  "correlation_id",
  "in_reply_to",
  "message_id",
  "originalTraceId",
  "require_live",
  "source_endpoint_id",
  "target_endpoint_id",
  "traceparent",
]);

export function sanitiseReplyMetadata(
  metadata: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!metadata) return out;
  for (const [k, v] of Object.entries(metadata)) {
    if (!BROKER_OWNED_REPLY_METADATA.has(k)) out[k] = v;
  }
  return out;
}

/**
 * JSON with object keys sorted recursively. Written by hand rather than by re-building objects,
 * because JavaScript orders integer-like keys first whatever the insertion order, which would make
 * "sorted" objects serialise differently from what the sort produced.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    const s = JSON.stringify(value);
    return s === undefined ? "null" : s;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const rec = value as Record<string, unknown>;
  const keys = Object.keys(rec)
    .filter((k) => rec[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(rec[k])}`).join(",")}}`;
}

/** Fingerprint of a reply request: content, content type (default "text"), sanitised metadata. */
export function replyFingerprint(
  content: string,
  contentType: string | undefined,
  metadata: Record<string, unknown> | undefined,
): string {
  return canonicalJson([content, contentType || "text", sanitiseReplyMetadata(metadata)]);
}

const TRACEPARENT_RE = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** The trace id of a valid W3C `traceparent` in `metadata`, if any. */
export function traceIdOf(metadata: Record<string, unknown> | undefined): string | undefined {
  const tp = metadata?.traceparent;
  if (typeof tp !== "string") return undefined;
  const norm = tp.trim().toLowerCase();
  if (!TRACEPARENT_RE.test(norm)) return undefined;
  const [, traceId, spanId] = norm.split("-");
  if (!traceId || !spanId || /^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return traceId;
}

export function mintTraceparent(random: Random): string {
  let traceId = random.hex(16);
  let spanId = random.hex(8);
  // An all-zero id is invalid; patching one digit keeps the output valid without another draw.
  if (/^0+$/.test(traceId)) traceId = `${traceId.slice(0, 31)}1`;
  if (/^0+$/.test(spanId)) spanId = `${spanId.slice(0, 15)}1`;
  return `00-${traceId}-${spanId}-01`;
}
