import { defineChecker } from "../checker.ts";
import { describe, handoffOf } from "../util.ts";

/** R2 Claim before push (PROTOCOL §7.2). */
export const R2 = defineChecker({
  id: "R2",
  kind: "safety",
  kinds: ["start", "in:api_result", "out:api_call", "out:ipc_push", "out:storage"],
  statement:
    "For a message with a messageId, a route claim answered `route` precedes its first push or buffer append in the process, and no runtime_inbound_routed post precedes that hand-off.",
  create() {
    let claimed = new Set<string>();
    let handed = new Set<string>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          claimed = new Set();
          handed = new Set();
          return undefined;
        }
        if (ev.k === "in" && ev.input.kind === "api_result" && ev.input.result.ok) {
          const call = v.lastApiCall;
          if (
            call?.op === "inbound_route_claim" &&
            (ev.input.result as { action?: string }).action === "route"
          ) {
            claimed.add((call.args as { source_message_id: string }).source_message_id);
          }
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "api_call" && o.op === "inbound_routed") {
          if (!handed.has(o.args.source_message_id)) {
            return {
              message: `runtime_inbound_routed for ${o.args.source_message_id} was posted before the message was pushed or buffered in this process.`,
              involved: [describe(ev)],
            };
          }
          return undefined;
        }
        const h = handoffOf(o);
        if (!h || handed.has(h.messageId)) return undefined;
        if (v.seqOf(h.messageId) === undefined) return undefined;
        handed.add(h.messageId);
        if (!claimed.has(h.messageId)) {
          return {
            message: `message ${h.messageId} was ${h.channel !== undefined ? "pushed" : "buffered"} without a route claim answered \`route\` first.`,
            involved: [describe(ev)],
          };
        }
        return undefined;
      },
    };
  },
});
