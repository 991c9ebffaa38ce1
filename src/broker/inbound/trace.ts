/**
 * W3C trace context for inbound metadata (PROTOCOL §1.8): a valid `traceparent` is kept, anything
 * else is replaced by a fresh random one that travels downstream with the message.
 */

import type { Random } from "../types.ts";

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function isValidTraceparent(v: unknown): v is string {
  if (typeof v !== "string") return false;
  const m = TRACEPARENT.exec(v);
  if (!m) return false;
  return m[1] !== "ff" && !/^0+$/.test(m[2]!) && !/^0+$/.test(m[3]!);
}

export function freshTraceparent(random: Random): string {
  return `00-${random.hex(16)}-${random.hex(8)}-01`;
}

/** The trace id (second field) of a valid traceparent. */
export function traceIdOf(traceparent: string): string {
  return traceparent.split("-")[1] ?? "";
}

export function withTrace(
  metadata: Record<string, unknown>,
  random: Random,
): { metadata: Record<string, unknown>; traceparent: string } {
  if (isValidTraceparent(metadata.traceparent)) return { metadata, traceparent: metadata.traceparent };
  const traceparent = freshTraceparent(random);
  return { metadata: { ...metadata, traceparent }, traceparent };
}

/** At most `max` code points; strings of at most `max` UTF-16 units are returned untouched. */
export function preview(s: string, max: number): string {
  if (s.length <= max) return s;
  return [...s].slice(0, max).join("");
}
