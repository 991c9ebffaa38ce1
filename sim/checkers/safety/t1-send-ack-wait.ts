import type { SimEvent } from "../../kernel/events.ts";
import { defineChecker } from "../checker.ts";
import { DEADLINE_TOLERANCE_MS } from "../timer-bounds.ts";
import { describe } from "../util.ts";
import { replyKey, type View } from "../view.ts";

interface Send {
  messageId: string;
  t: number;
  /** IPC requests waiting for this send's outcome. */
  waiters: Set<number>;
  /** The socket closed after the write: that settles the send at once (PROTOCOL §2.4). */
  closed: boolean;
  ev: SimEvent;
}

/**
 * T1 SEND_ACK wait (PROTOCOL §2.4, §6 "SEND_ACK timeout"), on both sides. A SEND_MESSAGE written on
 * behalf of an IPC request (`/v1/send`, or an assignment reply and every identical request waiting
 * on it) that gets neither SEND_ACK nor ERROR ends "outcome unknown" when the timeout fires:
 * - never earlier than `sendAckTimeoutMs` after the write while the socket stays open;
 * - never later than `sendAckTimeoutMs + DEADLINE_TOLERANCE_MS`: once a deadline run passes that,
 *   every request waiting on the send has been answered.
 */
export const T1 = defineChecker({
  id: "T1",
  kind: "safety",
  kinds: ["start", "in", "out:connector_send", "out:ipc_response", "advance", "step_end"],
  statement:
    "An unacknowledged SEND_MESSAGE is settled outcome-unknown no earlier than sendAckTimeoutMs and no later than sendAckTimeoutMs plus the timer tolerance after it was written.",
  create() {
    let sends = new Map<string, Send>();
    let advancing = false;
    return {
      onEvent(ev, v) {
        switch (ev.k) {
          case "start":
            sends = new Map();
            advancing = false;
            return undefined;
          case "advance":
            advancing = true;
            return undefined;
          case "in":
            advancing = false;
            onInput(ev, v, sends);
            return undefined;
          case "out":
            return onOutput(ev, v, sends);
          case "step_end": {
            if (!advancing) return undefined;
            advancing = false;
            const timeoutMs = v.options?.sendAckTimeoutMs ?? 15_000;
            for (const s of sends.values()) {
              if (s.waiters.size === 0 || ev.t <= s.t + timeoutMs + DEADLINE_TOLERANCE_MS) continue;
              return {
                message: `SEND_MESSAGE ${s.messageId} written at t=${s.t} got no SEND_ACK, yet at t=${ev.t} (timeout ${timeoutMs} ms) ${[...s.waiters].map((w) => `request ${w}`).join(", ")} still wait for its outcome.`,
                involved: [describe(s.ev)],
              };
            }
            return undefined;
          }
          default:
            return undefined;
        }
      },
    };
  },
});

function onInput(ev: Extract<SimEvent, { k: "in" }>, v: View, sends: Map<string, Send>): void {
  const input = ev.input;
  if (input.kind === "connector_closed") {
    for (const s of sends.values()) s.closed = true;
    return;
  }
  if (input.kind !== "connector_frame") return;
  // The view has parsed the frame (undefined when it is not JSON).
  const f = v.stepFrame;
  if (f === undefined) return;
  if ((f.event === "SEND_ACK" || f.event === "ERROR") && typeof f.messageId === "string")
    sends.delete(f.messageId);
}

function onOutput(ev: Extract<SimEvent, { k: "out" }>, v: View, sends: Map<string, Send>) {
  const o = ev.output;
  if (o.kind === "connector_send" && o.frame.event === "SEND_MESSAGE") {
    const waiters = new Set<number>();
    const input = v.stepInput;
    if (input?.kind === "ipc_request" && v.ipcRequests.has(input.id)) waiters.add(input.id);
    if (v.stepReplyKey !== undefined) {
      for (const r of v.ipcRequests.values()) {
        if (r.path !== "/v1/runtime/assignment-reply") continue;
        if (replyKey(r.body.assignment_id, r.body.reply_request_id) === v.stepReplyKey) waiters.add(r.id);
      }
    }
    if (waiters.size === 0) return undefined;
    sends.set(o.frame.messageId, {
      messageId: o.frame.messageId,
      t: ev.t,
      waiters,
      closed: false,
      ev,
    });
    return undefined;
  }
  if (o.kind !== "ipc_response") return undefined;
  for (const s of sends.values()) {
    if (!s.waiters.delete(o.id)) continue;
    const timeoutMs = v.options?.sendAckTimeoutMs ?? 15_000;
    const unknown = (o.body as { error?: unknown } | null)?.error === "connector_send_outcome_unknown";
    if (unknown && !s.closed && ev.t - s.t < timeoutMs) {
      return {
        message: `request ${o.id} was answered outcome-unknown ${ev.t - s.t} ms after SEND_MESSAGE ${s.messageId} was written, before the SEND_ACK timeout (${timeoutMs} ms), with the socket still open.`,
        involved: [describe(s.ev), describe(ev)],
      };
    }
    if (s.waiters.size === 0) sends.delete(s.messageId);
  }
  return undefined;
}
