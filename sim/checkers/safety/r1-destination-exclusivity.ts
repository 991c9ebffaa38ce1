import { UNDISPATCHED_ROW_SETTLED } from "../../../src/broker/api.ts";
import { defineChecker } from "../checker.ts";
import type { SimEvent } from "../../kernel/events.ts";
import type { View } from "../view.ts";
import { describe } from "../util.ts";

/** R1 Destination exclusivity (PROTOCOL §7.2). */
export const R1 = defineChecker({
  id: "R1",
  kind: "safety",
  kinds: ["start", "in:ipc_channel_message", "in:storage_result", "in:api_result", "out:ipc_push"],
  statement:
    "Each sequenced message has at most one destination per process: one plugin (pushed or buffered), the inbox, or a route-claim skip.",
  create() {
    /** `buffer`: the endpoint whose reconnecting buffer the message was appended to. */
    let dest = new Map<string, { where: string; ev: SimEvent; buffer?: string }>();
    const record = (v: View, m: string, where: string, ev: SimEvent, buffer?: string, surfaced = false) => {
      if (v.seqOf(m) === undefined) return undefined;
      const prev = dest.get(m);
      if (prev === undefined) {
        dest.set(m, buffer === undefined ? { where, ev } : { where, ev, buffer });
        return undefined;
      }
      if (prev.where === where) {
        // A drain push of a buffered record: from now on the message has reached the plugin.
        if (buffer === undefined && prev.buffer !== undefined) dest.set(m, { where, ev });
        return undefined;
      }
      // Legal: a buffered record that no endpoint will drain ends in the inbox, and only there.
      // Either its endpoint was removed and the broker surfaced the buffer into the inbox (L5), or
      // the append landed after the endpoint's buffer was retired (the broker counts it as not
      // handed off, the record is deleted with the file) and the redelivery went to the inbox.
      // Should the record still be drained to a plugin later, that push conflicts with the inbox
      // and is reported then.
      // Legal: a route-claim `skip` after a destination hands nothing to anyone. The platform answers
      // `skip` because the message already went somewhere (here: a surfaced buffer record of an
      // earlier process, dispatched from the inbox), so no second destination appears.
      if (where === "skip") return undefined;
      // Legal: after a `skip`, the inbox add of a buffer record surfaced from an earlier process's
      // append (no pipeline task owns it, L5) moves that one copy; it is not a second destination.
      if (prev.where === "skip" && where === "the inbox" && surfaced) {
        dest.set(m, { where, ev });
        return undefined;
      }
      if (prev.buffer !== undefined && where === "the inbox") {
        dest.set(m, { where, ev });
        return undefined;
      }
      return {
        message: `message ${m} (seq ${v.seqOf(m)}) went to ${prev.where} and then to ${where}.`,
        involved: [describe(prev.ev), describe(ev)],
      };
    };
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          dest = new Map();
          return undefined;
        }
        if (ev.k === "in") {
          const input = ev.input;
          const p = v.lastAckedPush;
          if (p && !p.envelope.runtimeAssignment && p.envelope.sourceMessageId !== undefined) {
            const pid = v.channels.get(p.channel)?.pid;
            return record(v, p.envelope.sourceMessageId, `plugin ${pid}`, ev);
          }
          const op = v.lastStorageOp;
          if (input.kind === "storage_result" && input.ok && op?.op === "append_buffer") {
            const env = op.record.envelope;
            if (env.runtimeAssignment || env.sourceMessageId === undefined) return undefined;
            const ep = v.endpoints.get(op.endpointId);
            // Removed while the append was in flight: the broker retired the buffer, reports the
            // append not ok and releases the seq; the record goes with the file.
            // No destination: the redelivery is routed afresh.
            if (ep?.state === "closed") return undefined;
            const where = ep ? `plugin ${ep.pid}` : `endpoint ${op.endpointId}`;
            return record(v, env.sourceMessageId, where, ev, op.endpointId);
          }
          const call = v.lastApiCall;
          // An add answered `undispatched_row_settled` names the platform row the message already
          // went to: the inbox, as far as this process can tell.
          const settled =
            input.kind === "api_result" &&
            !input.result.ok &&
            input.result.terminal &&
            input.result.code === UNDISPATCHED_ROW_SETTLED;
          if (input.kind === "api_result" && (input.result.ok || settled) && call) {
            if (call.op === "undispatched_changed") {
              const a = call.args as { action: string; source_message_id?: string; undispatched_id: string };
              // No pipeline task owns the add: a buffer surfaced into the inbox (L5).
              if (a.action === "add")
                return record(
                  v,
                  a.source_message_id ?? a.undispatched_id,
                  "the inbox",
                  ev,
                  undefined,
                  v.stepTask === undefined,
                );
            } else if (
              call.op === "inbound_route_claim" &&
              (input.result as { action?: string }).action === "skip"
            ) {
              return record(v, (call.args as { source_message_id: string }).source_message_id, "skip", ev);
            }
          }
          return undefined;
        }
        if (ev.k === "out" && ev.output.kind === "ipc_push" && ev.output.frame.event === "message_received") {
          const f = ev.output.frame;
          const ch = v.channels.get(ev.output.channel);
          if (!f.runtimeAssignment && f.sourceMessageId !== undefined && ch && !ch.receipts && ch.open) {
            return record(v, f.sourceMessageId, `plugin ${ch.pid}`, ev);
          }
        }
        return undefined;
      },
    };
  },
});
