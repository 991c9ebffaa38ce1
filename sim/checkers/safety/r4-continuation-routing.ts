import type { SimEvent } from "../../kernel/events.ts";
import { defineChecker } from "../checker.ts";
import type { EndpointModel } from "../view.ts";
import { describe } from "../util.ts";

interface Expectation {
  endpoint: string;
  inbox: boolean;
  frame: SimEvent;
}

/** R4 Continuation routing (PROTOCOL §7.2, decision table of §1.8). */
export const R4 = defineChecker({
  id: "R4",
  kind: "safety",
  kinds: ["start", "in:connector_frame", "out:api_call", "step_end"],
  statement:
    "A message whose correlation_id is in exactly one local correlation ring (not the sender's own endpoint) is routed to that endpoint, or to the inbox as a correlated continuation when the endpoint is non-headless without foreground_channel_v1.",
  create() {
    let expect = new Map<string, Expectation>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          expect = new Map();
          return undefined;
        }
        // A continuation is routed while its frame is handled: the route claim or the inbox add is
        // written in that same step (the closed-endpoint lookup, the only platform round trip
        // before a route, is never needed when a ring matched). A step that wrote neither dropped a
        // duplicate or re-posted a delivered route (cache hit), and no later add of the same id is a
        // routing decision of this frame: a surfaced buffer (L5) or a restored assignment.
        if (ev.k === "step_end") {
          if (expect.size > 0) expect = new Map();
          return undefined;
        }
        if (ev.k === "in") {
          const f = v.stepFrame;
          if (f?.event !== "MESSAGE_RECEIVED" || typeof f.messageId !== "string") return undefined;
          if (expect.has(f.messageId) || typeof f.seq !== "number" || f.seq <= v.committed) return undefined;
          const md = (f.metadata ?? {}) as Record<string, unknown>;
          const corr = md.correlation_id;
          if (typeof corr !== "string") return undefined;
          const target = md.target_endpoint_id;
          if (typeof target === "string" && v.endpoints.get(target)?.state !== undefined) {
            if (v.endpoints.get(target)!.state !== "closed") return undefined;
          }
          const source = md.source_endpoint_id;
          const matches: EndpointModel[] = [];
          for (const e of v.endpoints.values()) {
            if (e.state === "closed" || e.id === source) continue;
            if (e.ringSet.has(corr)) matches.push(e);
          }
          if (matches.length !== 1) return undefined;
          const e = matches[0]!;
          const inbox = !e.headless && !e.capabilities.includes("foreground_channel_v1");
          expect.set(f.messageId, { endpoint: e.id, inbox, frame: ev });
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind !== "api_call") return undefined;
        if (o.op === "inbound_route_claim") {
          const x = expect.get(o.args.source_message_id);
          if (!x) return undefined;
          expect.delete(o.args.source_message_id);
          if (x.inbox || o.args.routed_to_endpoint_id !== x.endpoint) {
            return {
              message: `continuation ${o.args.source_message_id} was claimed for ${o.args.routed_to_endpoint_id}; its correlation id belongs to ${x.endpoint}, so it should ${x.inbox ? "go to the inbox as a correlated continuation" : `route to ${x.endpoint}`}.`,
              involved: [describe(x.frame), describe(ev)],
            };
          }
        } else if (o.op === "undispatched_changed" && o.args.action === "add") {
          const m = o.args.source_message_id ?? o.args.undispatched_id;
          const x = expect.get(m);
          if (!x) return undefined;
          expect.delete(m);
          if (!x.inbox || o.args.reason !== "correlated_continuation") {
            return {
              message: `continuation ${m} went to the inbox (reason ${o.args.reason}); its correlation id belongs to ${x.endpoint}, so it should ${x.inbox ? "carry reason correlated_continuation" : `route to ${x.endpoint}`}.`,
              involved: [describe(x.frame), describe(ev)],
            };
          }
        }
        return undefined;
      },
    };
  },
});
