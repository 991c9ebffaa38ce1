import type { SimEvent } from "../../kernel/events.ts";
import { defineChecker } from "../checker.ts";
import { replyKey } from "../view.ts";
import { describe } from "../util.ts";

/** A5 Stable identity (PROTOCOL §7.3). */
export const A5 = defineChecker({
  id: "A5",
  kind: "safety",
  kinds: ["out:connector_send", "out:api_call", "out:ipc_response"],
  statement:
    "For a reply key, metadata.message_id of every SEND_MESSAGE, the outbound_message_id of reply_emitted and the messageId returned to the plugin are one and the same value.",
  create() {
    const ids = new Map<string, { id: string; where: string }>();
    const check = (key: string, id: unknown, where: string, ev: SimEvent) => {
      if (typeof id !== "string") return undefined;
      const prev = ids.get(key);
      if (!prev) {
        ids.set(key, { id, where });
        return undefined;
      }
      if (prev.id === id) return undefined;
      return {
        message: `reply key ${key}: ${prev.where} says message id ${prev.id}, ${where} says ${id}.`,
        involved: [describe(ev)],
      };
    };
    return {
      onEvent(ev, v) {
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "connector_send" && o.frame.event === "SEND_MESSAGE") {
          const key = v.replyKeyOfFrame.get(o.frame.messageId);
          if (key !== undefined)
            return check(key, o.frame.metadata?.message_id, "SEND_MESSAGE metadata.message_id", ev);
          return undefined;
        }
        if (o.kind === "api_call" && o.op === "processing_state" && o.args.state === "reply_emitted") {
          const key = replyKey(o.args.assignment_id, o.args.reply_request_id);
          return check(key, o.args.outbound_message_id, "reply_emitted.outbound_message_id", ev);
        }
        if (o.kind === "ipc_response" && o.status === 200) {
          const req = v.lastIpcRequest;
          if (req?.path !== "/v1/runtime/assignment-reply") return undefined;
          const key = replyKey(req.body.assignment_id, req.body.reply_request_id);
          return check(key, (o.body as { messageId?: unknown })?.messageId, "the reply response", ev);
        }
        return undefined;
      },
    };
  },
});
