import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

interface Gate {
  request: number;
  endpointId: string;
  state: string;
  assignmentId: unknown;
  replyRequestId: unknown;
}

/**
 * A22 Replies go out only through active endpoints (PROTOCOL §5.7 step 1, ACT; §7.3). An assignment
 * reply request naming an endpoint that is `reconnecting` or `closed` when it arrives may be
 * answered from what is already decided (a stored result or error, a task already running), but it
 * starts nothing that sends: its step posts no `reply_requested` for its key and writes no
 * SEND_MESSAGE from that endpoint. (Both the reference and the published daemon gate new replies;
 * whether a decided one gets its stored answer or 409 `endpoint_not_active` is A7's business.)
 * The step's outputs are matched to the request by their cause, or by the step on a target that
 * gives no causes.
 */
export const A22 = defineChecker({
  id: "A22",
  kind: "safety",
  kinds: ["start", "in", "step_end", "out:api_call", "out:connector_send"],
  statement:
    "A reply request through an endpoint that is not active posts no reply_requested and writes no SEND_MESSAGE.",
  create() {
    let gate: Gate | undefined;
    return {
      onEvent(ev, v) {
        if (ev.k === "start" || ev.k === "step_end") {
          gate = undefined;
          return undefined;
        }
        if (ev.k === "in") {
          gate = undefined;
          const input = ev.input;
          if (input.kind !== "ipc_request" || input.method !== "POST") return undefined;
          if (input.path !== "/v1/runtime/assignment-reply") return undefined;
          const b = input.body as Record<string, unknown> | null;
          if (typeof b !== "object" || b === null || typeof b.endpoint_id !== "string") return undefined;
          const e = v.endpoints.get(b.endpoint_id);
          if (e === undefined || e.state === "active") return undefined;
          gate = {
            request: input.id,
            endpointId: b.endpoint_id,
            state: e.state,
            assignmentId: b.assignment_id,
            replyRequestId: b.reply_request_id,
          };
          return undefined;
        }
        if (ev.k !== "out" || gate === undefined) return undefined;
        const o = ev.output;
        const c = o.cause;
        if (c !== undefined && !(c.kind === "request" && c.request === gate.request)) return undefined;
        let what: string | undefined;
        if (o.kind === "api_call" && o.op === "processing_state") {
          const a = o.args;
          if (
            a.state === "reply_requested" &&
            a.assignment_id === gate.assignmentId &&
            a.reply_request_id === gate.replyRequestId
          )
            what = "posted reply_requested";
        } else if (o.kind === "connector_send" && o.frame.event === "SEND_MESSAGE") {
          const md = o.frame.metadata as Record<string, unknown> | undefined;
          if (md?.source_endpoint_id === gate.endpointId) what = "wrote a SEND_MESSAGE";
        }
        if (what === undefined) return undefined;
        return {
          message: `reply request ${gate.request} (assignment ${String(gate.assignmentId)}, key ${String(gate.replyRequestId)}) through endpoint ${gate.endpointId}, which is ${gate.state}, ${what}.`,
          involved: [describe(ev)],
        };
      },
    };
  },
});
