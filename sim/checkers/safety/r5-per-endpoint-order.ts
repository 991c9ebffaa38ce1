import { defineChecker } from "../checker.ts";
import type { SimEvent } from "../../kernel/events.ts";
import type { View } from "../view.ts";
import { describe, handoffOf } from "../util.ts";

interface Handoff {
  seq: number;
  index: number;
  ev: SimEvent;
}

/** How many recent hand-offs per endpoint are compared (tasks in flight together are recent). */
const WINDOW = 64;

/** R5 Per-endpoint order (PROTOCOL §7.2). */
export const R5 = defineChecker({
  id: "R5",
  kind: "safety",
  kinds: ["start", "in:connector_frame", "out:api_call", "out:ipc_push", "out:storage"],
  statement:
    "Among tasks in flight together, messages handed to one endpoint (pushes and buffer appends) are handed off in seq order; redeliveries of an already delivered seq are exempt.",
  create() {
    let index = 0;
    let taskStart = new Map<string, number>();
    let recent = new Map<string, Handoff[]>();
    let delivered = new Set<string>();
    /** The endpoint each message was claimed for (the broker's routing decision). */
    let claimedFor = new Map<string, string>();
    const destination = (v: View, h: NonNullable<ReturnType<typeof handoffOf>>): string => {
      if (h.endpointId !== undefined) return h.endpointId;
      const claimed = claimedFor.get(h.messageId);
      if (claimed !== undefined) return claimed;
      const target = v.messages.get(h.messageId)?.metadata.target_endpoint_id;
      const on = v.endpointsOn(h.channel!);
      if (typeof target === "string" && on.some((e) => e.id === target)) return target;
      if (on.length === 1) return on[0]!.id;
      return `channel ${h.channel}`;
    };
    return {
      onEvent(ev, v) {
        index++;
        if (ev.k === "start") {
          taskStart = new Map();
          recent = new Map();
          delivered = new Set();
          claimedFor = new Map();
          return undefined;
        }
        if (ev.k === "in") {
          const f = v.stepFrame;
          if (
            f?.event === "MESSAGE_RECEIVED" &&
            typeof f.messageId === "string" &&
            typeof f.seq === "number"
          ) {
            const m = f.messageId;
            if (f.seq > v.committed && !v.syncAcceptedIds.has(m) && !v.inFlight(m)) taskStart.set(m, index);
          }
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "api_call" && o.op === "inbound_route_claim") {
          claimedFor.set(o.args.source_message_id, o.args.routed_to_endpoint_id);
          return undefined;
        }
        const h = handoffOf(o);
        if (!h) return undefined;
        const seq = v.seqOf(h.messageId);
        if (seq === undefined) return undefined;
        const d = destination(v, h);
        const key = `${d}|${h.messageId}`;
        if (delivered.has(key)) return undefined;
        delivered.add(key);
        let list = recent.get(d);
        if (!list) {
          list = [];
          recent.set(d, list);
        }
        const start = taskStart.get(h.messageId) ?? 0;
        for (const b of list) {
          if (b.seq > seq && b.index > start) {
            return {
              message: `seq ${seq} (${h.messageId}) was handed to ${d} after seq ${b.seq}, although its task was already in flight when seq ${b.seq} was handed off.`,
              involved: [describe(b.ev), describe(ev)],
            };
          }
        }
        list.push({ seq, index, ev });
        if (list.length > WINDOW) list.shift();
        return undefined;
      },
    };
  },
});
