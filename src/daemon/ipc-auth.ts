/**
 * IPC authentication (PROTOCOL §3.1): a bearer token of 32 random bytes (base64url), checked in
 * constant time. Both sides are hashed first so `timingSafeEqual` compares equal-length buffers
 * and the token's length does not leak through an early return.
 */

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export const BEARER_TOKEN_BYTES = 32;

export function mintBearerToken(): string {
  return randomBytes(BEARER_TOKEN_BYTES).toString("base64url");
}

/** The token carried by an `Authorization` header: `Bearer <t>` or a raw `<t>`. */
export function tokenFromHeader(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const h = header.trim();
  const m = /^bearer\s+(.*)$/i.exec(h);
  return m ? m[1]!.trim() : h;
}

export function tokensEqual(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b) && presented.length === expected.length;
}

/** Does this `Authorization` header carry `expected`? */
export function authorized(header: string | undefined, expected: string): boolean {
  const t = tokenFromHeader(header);
  if (t === undefined || t.length === 0) return false;
  return tokensEqual(t, expected);
}

/** Strict `x-plugin-pid` parse for the stream upgrade: a positive safe integer in decimal. */
export function parsePid(header: string | undefined): number | undefined {
  if (header === undefined || !/^\s*[1-9][0-9]{0,15}\s*$/.test(header)) return undefined;
  const n = Number(header.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `x-masons-ipc-capabilities: a,b,…` ⇒ trimmed, non-empty, de-duplicated names in order. */
export function parseCapabilities(header: string | undefined): string[] {
  if (!header) return [];
  const out: string[] = [];
  for (const part of header.split(",")) {
    const c = part.trim();
    if (c.length > 0 && c.length <= 128 && !out.includes(c)) out.push(c);
    if (out.length >= 32) break;
  }
  return out;
}
