import { defineChecker } from "../checker.ts";
import { replyKey } from "../view.ts";
import { describe } from "../util.ts";

/** A3 Reply ordering (PROTOCOL §7.3). */
export const A3 = defineChecker({
  id: "A3",
  kind: "safety",
  kinds: ["start", "in:connector_frame", "in:api_result", "out:connector_send", "out:api_call"],
  statement:
    "For a reply key: reply_requested (accepted) → SEND_MESSAGE → SEND_ACK → reply_emitted, with reply_emitted.state_sequence above reply_requested's, and at most one accepted reply_requested per key.",
  create() {
    let requested = new Map<string, number>();
    let acked = new Set<string>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          requested = new Map();
          acked = new Set();
          return undefined;
        }
        if (ev.k === "in") {
          if (v.lastSendAckKey !== undefined) acked.add(v.lastSendAckKey);
          const call = v.lastApiCall;
          if (ev.input.kind === "api_result" && ev.input.result.ok && call?.op === "processing_state") {
            const a = call.args as {
              state: string;
              assignment_id: string;
              reply_request_id?: string;
              state_sequence: number;
            };
            if (a.state !== "reply_requested") return undefined;
            const key = replyKey(a.assignment_id, a.reply_request_id);
            if (requested.has(key)) {
              return {
                message: `reply key ${key} got a second accepted reply_requested.`,
                involved: [describe(ev)],
              };
            }
            requested.set(key, a.state_sequence);
          }
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "connector_send" && o.frame.event === "SEND_MESSAGE") {
          const key = v.replyKeyOfFrame.get(o.frame.messageId);
          if (key !== undefined && !requested.has(key)) {
            return {
              message: `SEND_MESSAGE for reply key ${key} was written before an accepted reply_requested.`,
              involved: [describe(ev)],
            };
          }
          return undefined;
        }
        if (o.kind === "api_call" && o.op === "processing_state" && o.args.state === "reply_emitted") {
          const key = replyKey(o.args.assignment_id, o.args.reply_request_id);
          if (!acked.has(key)) {
            return {
              message: `reply_emitted for ${key} was posted before the SEND_ACK of its message.`,
              involved: [describe(ev)],
            };
          }
          const rq = requested.get(key);
          if (rq !== undefined && o.args.state_sequence <= rq) {
            return {
              message: `reply_emitted for ${key} has state_sequence ${o.args.state_sequence}, not above reply_requested's ${rq}.`,
              involved: [describe(ev)],
            };
          }
        }
        return undefined;
      },
    };
  },
});
