import type { PushEnvelope } from "../../../src/broker/types.ts";
import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/**
 * A16 A record the reattach drain delivered leaves the buffer (our addition beside PROTOCOL §7; the
 * rules are §1.5 and §3.2 `reattach`: the drain pushes every buffered record once, in file order,
 * with receipts).
 *
 * Theory of operation:
 * 1. A drain push is a `message_received` push whose cause is a `POST /v1/endpoint/:id/reattach`
 *    request; it drains endpoint `:id`'s buffer. It is delivered when the plugin's `push_ack`
 *    arrives on the same channel before the receipt deadline ran (the view's `lastAckedPush`, I3).
 * 2. A delivered record is done with: the buffer keeps it only in its file, which goes when the
 *    drain ends or the endpoint's records are surfaced. So, in the same broker process, while that
 *    endpoint's buffer file is not deleted and the record is not appended to it again,
 *    - a later drain of the endpoint does not push it again (a second copy for one delivery), and
 *    - the surfacing of the endpoint's records into the inbox (an inbox row put with reason
 *      `closed_session_continuation` for that endpoint, by no pipeline task) does not take it (a
 *      second destination for a message the plugin has).
 * 3. Records are told apart by their assignment id, else the message id they carry, else their
 *    envelope. A new process forgets everything: the files it finds are surfaced whole, which
 *    §1.5 allows (the earlier process may have died mid-drain). Needs the outputs' causes and the
 *    storage ops (sim/targets/index.ts).
 */

/**
 * The identity of a buffered record, from its envelope: an assignment's record by its assignment
 * (one message may be dispatched to the same endpoint again under a new assignment, a second
 * record), a routed message's by its message id (appends of one id are deduplicated).
 */
function recordKey(e: PushEnvelope): string {
  if (e.runtimeAssignment !== undefined) return `assignment ${e.runtimeAssignment.assignmentId}`;
  return e.sourceMessageId ?? JSON.stringify(e);
}

const REATTACH = /^\/v1\/endpoint\/([^/?]+)\/reattach(?:\?|$)/;

/** The endpoint a reattach request's path names, if `path` is one. */
function reattachedEndpoint(path: string): string | undefined {
  const m = REATTACH.exec(path);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    return m[1];
  }
}

export const A16 = defineChecker({
  id: "A16",
  kind: "safety",
  kinds: ["start", "in:ipc_channel_message", "in:storage_result", "out:ipc_push", "out:storage"],
  statement:
    "A buffered record the reattach drain delivered (push acked in time) is neither pushed by a later drain of that endpoint nor surfaced into the inbox, until the buffer file is deleted or the record appended again.",
  create() {
    /** Drain pushes awaiting their receipt: push id → endpoint, record key, the push described. */
    const drainPushes = new Map<string, { endpoint: string; key: string; push: string }>();
    /** Endpoint → delivered record key → the delivery described. */
    const delivered = new Map<string, Map<string, string>>();
    const deliveredOf = (endpoint: string) => {
      let d = delivered.get(endpoint);
      if (d === undefined) {
        d = new Map();
        delivered.set(endpoint, d);
      }
      return d;
    };
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          drainPushes.clear();
          delivered.clear();
          return undefined;
        }
        if (ev.k === "in") {
          if (ev.input.kind === "ipc_channel_message") {
            if (v.lastAckedPush === undefined) return undefined;
            let pushId: unknown;
            try {
              pushId = (JSON.parse(ev.input.text) as { push_id?: unknown }).push_id;
            } catch {
              return undefined;
            }
            const p = typeof pushId === "string" ? drainPushes.get(pushId) : undefined;
            if (p === undefined) return undefined;
            drainPushes.delete(pushId as string);
            deliveredOf(p.endpoint).set(p.key, `${p.push}, acked at t=${ev.t}`);
            return undefined;
          }
          // An append storage confirmed puts the record back into the buffer.
          const op = v.lastStorageOp;
          if (ev.input.kind === "storage_result" && ev.input.ok && op?.op === "append_buffer")
            delivered.get(op.endpointId)?.delete(recordKey(op.record.envelope));
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "storage") {
          const op = o.op;
          if (op.op === "delete_buffer") {
            delivered.delete(op.endpointId);
            return undefined;
          }
          if (op.op !== "inbox_put" || o.cause === undefined || o.cause.kind === "task") return undefined;
          const row = op.row;
          const endpoint = row.original_target_endpoint_id;
          if (row.reason !== "closed_session_continuation" || endpoint === undefined) return undefined;
          const m = row.source_message_id;
          const was = m === undefined ? undefined : delivered.get(endpoint)?.get(m);
          if (was === undefined) return undefined;
          return {
            message: `endpoint ${endpoint}'s buffered record of ${m} was delivered by a reattach drain (${was}), yet the endpoint's records surfaced it into the inbox again: the drain did not drop the record it delivered.`,
            involved: [was, describe(ev)],
          };
        }
        if (o.kind !== "ipc_push" || o.frame.event !== "message_received") return undefined;
        if (o.cause?.kind !== "request") return undefined;
        const endpoint = reattachedEndpoint(o.cause.path);
        if (endpoint === undefined) return undefined;
        const { event: _event, push_id: pushId, ...envelope } = o.frame;
        const key = recordKey(envelope);
        const was = delivered.get(endpoint)?.get(key);
        if (was !== undefined) {
          return {
            message: `a reattach drain of ${endpoint} pushed the buffered record ${key} again, which an earlier drain had delivered (${was}): the drain did not drop the record it delivered.`,
            involved: [was, describe(ev)],
          };
        }
        // Without receipts the push on an open channel is the delivery (§3.4).
        if (pushId === undefined) deliveredOf(endpoint).set(key, describe(ev));
        else drainPushes.set(pushId, { endpoint, key, push: describe(ev) });
        return undefined;
      },
    };
  },
});
