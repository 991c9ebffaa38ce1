/**
 * Core delivery path throughput: messages per second through BrokerCore, in process, with every
 * output answered at once by `CoreLoop`.
 *
 * Targeted path, per message: connector frame → route claim (`route`) → push with receipt → push
 * ack → routed post → DELIVERY_ACK (+ cursor write). Inbox path, per message: connector frame →
 * inbox row → `undispatched_changed add` post → DELIVERY_ACK. The inbox never drains on its own
 * (rows leave only through a dispatch), so the inbox run raises `inboxCapacity` to its message
 * count; that is the only non-default option.
 */

import { CoreLoop, targetedFrame } from "./core-loop.ts";

export interface ThroughputResult {
  messages: number;
  ms: number;
  msgsPerSec: number;
  acked: number;
}

export function coreTargeted(messages: number, content = "hello from the bench"): ThroughputResult {
  const loop = new CoreLoop().setUp();
  const ep = loop.endpointId;
  // Warm-up on the same core, so the JIT has seen the path; its seqs come first.
  const warm = Math.min(2_000, Math.floor(messages / 10));
  for (let s = 1; s <= warm; s++) loop.feed({ kind: "connector_frame", text: targetedFrame(s, ep, content) });
  const t0 = performance.now();
  for (let s = warm + 1; s <= warm + messages; s++)
    loop.feed({ kind: "connector_frame", text: targetedFrame(s, ep, content) });
  const ms = performance.now() - t0;
  check(loop, warm + messages, "targeted");
  return { messages, ms, msgsPerSec: (messages / ms) * 1000, acked: loop.ackedUpTo };
}

export function coreInbox(messages: number, content = "hello from the bench"): ThroughputResult {
  const warm = Math.min(2_000, Math.floor(messages / 10));
  const loop = new CoreLoop({ options: { inboxCapacity: messages + warm + 16 } }).setUp();
  for (let s = 1; s <= warm; s++)
    loop.feed({ kind: "connector_frame", text: targetedFrame(s, undefined, content) });
  const t0 = performance.now();
  for (let s = warm + 1; s <= warm + messages; s++)
    loop.feed({ kind: "connector_frame", text: targetedFrame(s, undefined, content) });
  const ms = performance.now() - t0;
  check(loop, warm + messages, "inbox");
  return { messages, ms, msgsPerSec: (messages / ms) * 1000, acked: loop.ackedUpTo };
}

function check(loop: CoreLoop, expected: number, what: string): void {
  if (loop.ackedUpTo !== expected || loop.core.internalErrors > 0) {
    throw new Error(
      `bench ${what}: acked ${loop.ackedUpTo} of ${expected}, internal errors ${loop.core.internalErrors}`,
    );
  }
}
