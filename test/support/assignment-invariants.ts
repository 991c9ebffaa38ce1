/**
 * Invariant checks over an `AssignmentWorld`'s history (PROTOCOL §7.3), used by the property test.
 * Each returns a list of violations (empty = holds), so a failing run names what broke.
 *
 * Replies in these tests carry `content = "<undispatched>|<assignment>|<reply_request_id>|<variant>"`
 * so a SEND_MESSAGE can be traced back to its reply key without reading broker internals.
 */

import type { ProcessingStateEvent } from "../../src/broker/api.ts";
import type { AssignmentWorld } from "./assignment-world.ts";

export interface ReplyAttempt {
  requestId: number;
  replyKey: string;
  variant: string;
  /** Index in the world's history when the request was made. */
  at: number;
}

interface Post {
  ev: ProcessingStateEvent;
  ok: boolean | undefined;
  terminal?: boolean;
}

function posts(w: AssignmentWorld): Post[] {
  const out: Post[] = [];
  for (const c of w.calls.values()) {
    if (c.op !== "processing_state") continue;
    const r = c.result as { ok: boolean; terminal?: boolean } | undefined;
    out.push({ ev: c.args as ProcessingStateEvent, ok: r?.ok, ...(r && !r.ok && { terminal: r.terminal }) });
  }
  return out;
}

const akey = (e: ProcessingStateEvent) => `${e.source_message_id}|${e.assignment_id}`;
const rkeyOf = (e: ProcessingStateEvent) =>
  `${e.source_message_id.replace(/^src-/, "")}|${e.assignment_id}|${e.reply_request_id}`;

/**
 * A1 (strict form): every post for an assignment has a higher sequence than the one before it,
 * except an exact repeat of an earlier post (same `state_event_id` and sequence), which is the same
 * event retried (the platform's idempotent retry; the simulator's A1 says the same).
 */
export function checkA1(w: AssignmentWorld): string[] {
  const last = new Map<string, number>();
  const seen = new Set<string>();
  const bad: string[] = [];
  for (const { ev } of posts(w)) {
    const k = akey(ev);
    const prev = last.get(k);
    const exact = `${k}|${ev.state_event_id}|${ev.state_sequence}`;
    const repeat = seen.has(exact);
    seen.add(exact);
    if (prev !== undefined && ev.state_sequence <= prev && !repeat) {
      bad.push(`A1 ${k}: ${ev.state} seq ${ev.state_sequence} after ${prev}`);
    }
    last.set(k, Math.max(prev ?? 0, ev.state_sequence));
  }
  return bad;
}

/** Reply key → the SEND_MESSAGE frames written for it, in order. */
function sendsByKey(
  w: AssignmentWorld,
): Map<string, Array<{ messageId: string; variant: string; at: number }>> {
  const out = new Map<string, Array<{ messageId: string; variant: string; at: number }>>();
  w.history.forEach((o, at) => {
    if (o.kind !== "connector_send" || o.frame.event !== "SEND_MESSAGE") return;
    const parts = o.frame.content.split("|");
    const key = parts.slice(0, 3).join("|");
    const list = out.get(key) ?? [];
    list.push({ messageId: o.frame.messageId, variant: parts[3]!, at });
    out.set(key, list);
  });
  return out;
}

function historyIndexOfCall(w: AssignmentWorld, id: number): number {
  return w.history.findIndex((o) => o.kind === "api_call" && o.id === id);
}

/** A3: reply_requested ok → SEND_MESSAGE → SEND_ACK → reply_emitted; one ok reply_requested per key. */
export function checkA3(w: AssignmentWorld, acked: Map<string, number>): string[] {
  const bad: string[] = [];
  const sends = sendsByKey(w);
  const requestedOk = new Map<string, { seq: number; at: number }>();
  for (const c of w.calls.values()) {
    if (c.op !== "processing_state") continue;
    const ev = c.args as ProcessingStateEvent;
    const ok = (c.result as { ok?: boolean } | undefined)?.ok === true;
    const k = rkeyOf(ev);
    if (ev.state === "reply_requested" && ok) {
      if (requestedOk.has(k)) bad.push(`A3 ${k}: second successful reply_requested`);
      else requestedOk.set(k, { seq: ev.state_sequence, at: historyIndexOfCall(w, c.id) });
    }
  }
  for (const [k, list] of sends) {
    const req = requestedOk.get(k);
    if (!req || req.at > list[0]!.at) bad.push(`A3 ${k}: SEND_MESSAGE before a successful reply_requested`);
  }
  for (const c of w.calls.values()) {
    if (c.op !== "processing_state") continue;
    const ev = c.args as ProcessingStateEvent;
    if (ev.state !== "reply_emitted") continue;
    const k = rkeyOf(ev);
    const at = historyIndexOfCall(w, c.id);
    const ackAt = acked.get(ev.outbound_message_id ?? "");
    if (ackAt === undefined || ackAt > at) bad.push(`A3 ${k}: reply_emitted before SEND_ACK`);
    const req = requestedOk.get(k);
    if (!req || ev.state_sequence <= req.seq)
      bad.push(`A3 ${k}: reply_emitted seq not above reply_requested`);
  }
  return bad;
}

/** A4: unavailable attempts write nothing, so a reply key has at most one SEND_MESSAGE ever. */
export function checkA4(w: AssignmentWorld): string[] {
  const bad: string[] = [];
  for (const [k, list] of sendsByKey(w))
    if (list.length > 1) bad.push(`A4 ${k}: ${list.length} SEND_MESSAGE frames`);
  return bad;
}

/** A5: one message id per reply key across sends, reply_emitted and 200 answers. */
export function checkA5(w: AssignmentWorld, attempts: ReplyAttempt[]): string[] {
  const bad: string[] = [];
  const ids = new Map<string, Set<string>>();
  const add = (k: string, id: unknown) => {
    if (typeof id !== "string") return;
    const s = ids.get(k) ?? new Set<string>();
    s.add(id);
    ids.set(k, s);
  };
  for (const [k, list] of sendsByKey(w)) for (const s of list) add(k, s.messageId);
  for (const { ev } of posts(w)) if (ev.state === "reply_emitted") add(rkeyOf(ev), ev.outbound_message_id);
  for (const a of attempts) {
    const r = w.response(a.requestId);
    if (r?.status === 200) add(a.replyKey, r.body.messageId);
  }
  for (const [k, s] of ids) if (s.size > 1) bad.push(`A5 ${k}: message ids ${[...s].join(", ")}`);
  return bad;
}

/** A7: once a reply key's SEND_MESSAGE was written, a request with other content never succeeds. */
export function checkA7(w: AssignmentWorld, attempts: ReplyAttempt[]): string[] {
  const bad: string[] = [];
  const sends = sendsByKey(w);
  for (const a of attempts) {
    const first = sends.get(a.replyKey)?.[0];
    if (!first || first.at > a.at || first.variant === a.variant) continue;
    const r = w.response(a.requestId);
    if (r && ![409, 403, 404].includes(r.status))
      bad.push(`A7 ${a.replyKey}: conflicting request got ${r.status}`);
  }
  return bad;
}

/**
 * A10 at quiescence: every row ever added (except `ignore`) is in the inbox, bound to a live
 * assignment, announced removed, or its assignment ended on the platform.
 */
export function checkA10(w: AssignmentWorld, rows: string[]): string[] {
  const live = new Set([...w.component.records()].map((r) => r.undispatchedId));
  const removed = new Set(
    w.undispatchedEvents.filter((e) => e.action === "remove").map((e) => e.undispatched_id),
  );
  const ended = new Set<string>();
  for (const p of posts(w)) {
    // The platform took a final state: the broker may drop the message (a retryable failure
    // before acceptance is restored instead, which the inbox check sees; after acceptance any
    // processing_failed ends the assignment). A terminal reply_emitted failure also ends it.
    const ended1 = p.ok && (p.ev.state === "expired" || p.ev.state === "processing_failed");
    const ended2 = p.ev.state === "reply_emitted" && (p.ok || p.terminal);
    if (ended1 || ended2) ended.add(p.ev.undispatched_id ?? "");
  }
  const bad: string[] = [];
  for (const id of rows) {
    if (w.inbox.has(id) || live.has(id) || removed.has(id) || ended.has(id)) continue;
    bad.push(`A10 ${id}: neither in the inbox, nor live, nor removed, nor ended`);
  }
  return bad;
}

/** A11 at quiescence: no undispatched id is both an inbox row and a delivered live assignment. */
export function checkA11(w: AssignmentWorld): string[] {
  return w.component
    .liveUndispatchedIds()
    .filter((id) => w.inbox.has(id))
    .map((id) => `A11 ${id}: inbox row and delivered live assignment`);
}
