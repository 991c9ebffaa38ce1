import type { SimEvent } from "../../kernel/events.ts";
import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

interface PushSeen {
  channel: number;
  t: number;
  /** The push, described only for a report. */
  ev: SimEvent;
}

/**
 * I3 Push receipts (PROTOCOL §7.2, §3.4). A receipt counts only when it comes on the socket the
 * push went out on, while that socket is open and not displaced, and before the push's receipt
 * deadline ran. Any other receipt is ignored: the step that handles it has no effect on the world.
 * The deadline side is the receipt timer's upper bound: the broker must have given up on the push
 * by the first deadline run at or after `pushReceiptTimeoutMs`, so a later receipt changes nothing.
 */
export const I3 = defineChecker({
  id: "I3",
  kind: "safety",
  kinds: ["start", "in:ipc_channel_message", "out", "step_end"],
  statement:
    "A push receipt counts only from the push's own pid and socket before the receipt timeout; any other receipt is ignored.",
  create() {
    let pushes = new Map<string, PushSeen>();
    let current: { why: string; push: SimEvent; receipt: SimEvent } | undefined;
    return {
      onEvent(ev, v) {
        switch (ev.k) {
          case "start":
            pushes = new Map();
            current = undefined;
            return undefined;
          case "step_end":
            current = undefined;
            return undefined;
          case "in": {
            current = undefined;
            const input = ev.input;
            if (input.kind !== "ipc_channel_message") return undefined;
            const pushId = receiptOf(input.text);
            const p = pushId === undefined ? undefined : pushes.get(pushId);
            if (pushId === undefined || p === undefined) return undefined;
            pushes.delete(pushId);
            const ch = v.channels.get(input.channel);
            const why =
              p.channel !== input.channel
                ? `a receipt for push ${pushId} (sent on channel ${p.channel}) arrived on channel ${input.channel}`
                : ch?.open !== true
                  ? `a receipt for push ${pushId} arrived after its channel ${p.channel} closed or was displaced`
                  : v.receiptExpired(p.t)
                    ? `a receipt for push ${pushId} arrived after its receipt deadline (pushed at t=${p.t}, timeout ${v.options?.pushReceiptTimeoutMs ?? 2_000} ms)`
                    : undefined;
            if (why !== undefined) current = { why, push: p.ev, receipt: ev };
            return undefined;
          }
          case "out": {
            const o = ev.output;
            if (
              o.kind === "ipc_push" &&
              o.frame.event === "message_received" &&
              o.frame.push_id !== undefined
            ) {
              pushes.set(o.frame.push_id, { channel: o.channel, t: ev.t, ev });
              return undefined;
            }
            if (current === undefined) return undefined;
            return {
              message: `${current.why}, yet the broker acted on it: ${o.kind}${o.kind === "api_call" ? ` ${o.op}` : ""}.`,
              involved: [`${describe(current.push)} / ${describe(current.receipt)}`, describe(ev)],
            };
          }
          default:
            return undefined;
        }
      },
    };
  },
});

function receiptOf(text: string): string | undefined {
  try {
    const m = JSON.parse(text) as { event?: unknown; push_id?: unknown };
    return m.event === "push_ack" && typeof m.push_id === "string" ? m.push_id : undefined;
  } catch {
    return undefined;
  }
}
