import { UNDISPATCHED_ROW_SETTLED } from "../../../src/broker/api.ts";
import type { SimEvent } from "../../kernel/events.ts";
import { defineChecker } from "../checker.ts";
import type { View } from "../view.ts";
import { sentFrame } from "../util.ts";
import { firstFew, Phase, plural } from "./phase.ts";

/**
 * L9 End-to-end delivery, across crashes (PROTOCOL §7.4), judged at the end of the liveness phase.
 *
 * Bookkeeping is online and spans every broker incarnation (message identities are global; nothing
 * here is reset by a crash):
 * - *acked*: the highest `DELIVERY_ACK.upToSeq` any process wrote; a seq at or below it that the
 *   server did not name in `DELIVERY_SKIP` is a message the connector will never redeliver.
 * - *handed to a plugin*: a push the plugin acknowledged (or a push on a channel without receipts),
 *   of the message itself or of a runtime assignment carrying it; or a processing state only the
 *   adapter holding the message can report (`adapter_accepted` and later, or its final word: a
 *   non-retryable `processing_failed` or `expired`), which covers a push whose receipt was lost
 *   while the adapter went on with the assignment.
 * - *settled by the platform*: a route claim answered `skip`, an inbox add answered
 *   `undispatched_row_settled`, or an `undispatched_changed remove` the platform answered ok (the
 *   documented announcement of a row the broker could not keep, A10).
 * - *still held*: at the verdict the message is a row of the live broker's inbox, the message of a
 *   live assignment, or buffered (in this process) for an endpoint that is still reconnecting. The
 *   liveness budget judges what the world had time to finish; L3, L5 and L1 judge those holders.
 *
 * Every other acked message is lost: the connector will not redeliver it and no process holds it.
 * That is what a crash did to an in-memory inbox row (the platform then dispatches the row for ever
 * and each dispatch fails `unknown undispatched_id`); the report counts those failures per message,
 * because a platform that gives up on such a row must not turn the loss into silence.
 */
/** Processing states the adapter reports only once it holds the assignment's message. */
const ADAPTER_HAS_IT = new Set<string>([
  "adapter_accepted",
  "processing_started",
  "reply_requested",
  "reply_emitted",
]);

/**
 * The adapter's final word on a message it holds: a `processing_failed` that is not retryable or an
 * `expired` ends the message (the platform ends its row); a retryable failure before acceptance
 * gives it back (restore), so that one proves nothing.
 */
function adapterHasIt(a: { state: string; retryable?: boolean }): boolean {
  if (ADAPTER_HAS_IT.has(a.state)) return true;
  return a.state === "expired" || (a.state === "processing_failed" && a.retryable !== true);
}

export const L9 = defineChecker({
  id: "L9",
  kind: "liveness",
  kinds: [
    "in:connector_frame",
    "in:control_event",
    "in:ipc_channel_message",
    "in:storage_result",
    "in:api_result",
    "out:connector_send",
    "out:api_call",
    "out:ipc_push",
    "out:control_ack",
    "truth:liveness_begin",
    "truth:liveness_end",
    "quiescent",
  ],
  statement:
    "Every message acked to the connector is eventually handed to a plugin (pushed with receipt, directly or as an assignment) or settled by the platform through a documented path (claim skip, settled row, acknowledged remove), also when the broker crashed after the ack.",
  create() {
    const phase = new Phase();
    let ackedUpTo = 0;
    const skipped = new Set<number>();
    const handedOff = new Set<string>();
    const settled = new Set<string>();
    /** Inbox row id → message id, from every `undispatched_changed add` (rows of any process). */
    const messageOfRow = new Map<string, string>();
    /** Message id → where and in which process its last buffer append landed. */
    const buffered = new Map<string, { endpointId: string; incarnation: number }>();
    /** Failed control acks naming an unknown undispatched id, per message id. */
    const unknownRow = new Map<string, number>();
    /** Assignment id (idempotency key) → message id, from every dispatch event. */
    const messageOfDispatch = new Map<string, string>();
    return {
      onEvent(ev, v) {
        if (phase.observe(ev)) return undefined;
        if (ev.k === "in") {
          absorbInput(ev, v);
          return undefined;
        }
        if (ev.k === "out") {
          absorbOutput(ev, v);
          return undefined;
        }
        if (!phase.isVerdict(ev)) return undefined;
        return verdict(ev, v);
      },
    };

    function absorbInput(ev: Extract<SimEvent, { k: "in" }>, v: View): void {
      const input = ev.input;
      if (input.kind === "connector_frame") {
        const f = v.stepFrame;
        if (f?.event === "DELIVERY_SKIP" && typeof f.seq === "number") skipped.add(f.seq);
        return;
      }
      if (input.kind === "control_event") {
        const e = input.event as Record<string, unknown> | null;
        if (e?.type === "dispatch_undispatched" && typeof e.idempotency_key === "string") {
          const m = typeof e.source_message_id === "string" ? e.source_message_id : e.undispatched_id;
          if (typeof m === "string") messageOfDispatch.set(e.idempotency_key, m);
        }
        return;
      }
      const p = v.lastAckedPush;
      if (p?.envelope.sourceMessageId !== undefined) handedOff.add(p.envelope.sourceMessageId);
      const op = v.lastStorageOp;
      if (input.kind === "storage_result" && input.ok && op?.op === "append_buffer") {
        const m = op.record.envelope.sourceMessageId ?? op.record.id;
        buffered.set(m, { endpointId: op.endpointId, incarnation: v.incarnation });
      }
      const call = v.lastApiCall;
      if (input.kind !== "api_result" || call === undefined) return;
      const r = input.result;
      if (call.op === "inbound_route_claim") {
        const a = call.args as { source_message_id: string };
        if (r.ok && (r as { action?: string }).action === "skip") settled.add(a.source_message_id);
        return;
      }
      if (call.op !== "undispatched_changed") return;
      const a = call.args as { action?: string; source_message_id?: string; undispatched_id: string };
      const m = a.source_message_id ?? messageOfRow.get(a.undispatched_id) ?? a.undispatched_id;
      if (a.action === "add" && !r.ok && r.terminal && r.code === UNDISPATCHED_ROW_SETTLED) settled.add(m);
      if (a.action === "remove" && r.ok) settled.add(m);
    }

    function absorbOutput(ev: Extract<SimEvent, { k: "out" }>, v: View): void {
      const o = ev.output;
      const f = sentFrame(ev);
      if (f?.event === "DELIVERY_ACK" && typeof f.upToSeq === "number") {
        if (f.upToSeq > ackedUpTo) ackedUpTo = f.upToSeq;
        return;
      }
      if (o.kind === "api_call" && o.op === "processing_state" && adapterHasIt(o.args)) {
        handedOff.add(o.args.source_message_id);
        return;
      }
      if (o.kind === "api_call" && o.op === "undispatched_changed" && o.args.action === "add") {
        messageOfRow.set(o.args.undispatched_id, o.args.source_message_id ?? o.args.undispatched_id);
        return;
      }
      if (o.kind === "ipc_push" && o.frame.event === "message_received") {
        const m = o.frame.sourceMessageId;
        const ch = v.channels.get(o.channel);
        if (m !== undefined && ch?.open && !ch.receipts) handedOff.add(m);
        return;
      }
      if (
        o.kind === "control_ack" &&
        o.status === "failed" &&
        o.detail?.startsWith("unknown undispatched_id")
      ) {
        const m = messageOfDispatch.get(o.idempotency_key);
        if (m !== undefined) unknownRow.set(m, (unknownRow.get(m) ?? 0) + 1);
      }
    }

    function verdict(ev: Extract<SimEvent, { k: "quiescent" }>, v: View) {
      const snap = ev.snapshot;
      const held = new Set<string>();
      if (snap) {
        for (const id of snap.inbox.ids) held.add(messageOfRow.get(id) ?? id);
        for (const a of snap.assignments) held.add(messageOfRow.get(a.undispatchedId) ?? a.undispatchedId);
        const reconnecting = new Set(
          snap.endpoints.filter((e) => e.state === "reconnecting").map((e) => e.endpointId),
        );
        for (const [m, b] of buffered) {
          if (b.incarnation === v.incarnation && reconnecting.has(b.endpointId)) held.add(m);
        }
      }
      const lost: string[] = [];
      for (const [m, info] of v.messages) {
        const seq = info.seq;
        if (seq === undefined || seq > ackedUpTo || skipped.has(seq)) continue;
        if (handedOff.has(m) || settled.has(m) || held.has(m)) continue;
        const storms = unknownRow.get(m);
        const why = storms ? `; ${storms} dispatches failed "unknown undispatched_id"` : "";
        lost.push(`${m} (seq ${seq}${why})`);
      }
      if (lost.length === 0) return undefined;
      return {
        message: `${plural(lost.length, "acked message")} never handed to a plugin nor settled by the platform, and no broker process holds them (the connector will not redeliver an acked seq): ${firstFew(lost, 3)}.`,
        involved: lost,
      };
    }
  },
});
