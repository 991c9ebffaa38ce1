import { UNDISPATCHED_ROW_SETTLED } from "../../../src/broker/api.ts";
import { type CheckerDef, type CheckerInstance, defineChecker } from "../checker.ts";
import { firstFew, Phase, plural } from "./phase.ts";

interface Buffered {
  endpointId: string;
  t: number;
  incarnation: number;
}

/**
 * L5 No stranded buffer (PROTOCOL §7.4), judged at the end of the liveness phase.
 *
 * The reference broker loses buffered messages on two documented paths: removing an endpoint
 * deletes its buffer file (§1.4: grace timeout, plugin exit, unregister) and buffers are not scanned
 * at start-up (§1.5), so a restart orphans them. Our broker surfaces both into the inbox
 * (a deviation, docs/deviations.md), so `L5` holds it to the full
 * statement. `L5_LENIENT` accepts those two paths (and names them in its statement): it is what the
 * reference's behaviour passes.
 *
 * "Surfaced" is proven by an `add` answered ok, or by the platform dispatching the row
 * (`dispatch_undispatched`): an add whose answer was lost still put the row on the platform. An add
 * the platform refuses for good (a terminal 4xx) ends the surfacer's part: the broker keeps the row
 * (docs/deviations.md, L5), so the message counts as surfaced as long as its row is still in the
 * inbox at the verdict; a refused row that is gone is reported.
 */
export function makeL5(strict: boolean): CheckerDef {
  return defineChecker({
    id: "L5",
    kind: "liveness",
    kinds: [
      "in:storage_result",
      "in:ipc_channel_message",
      "in:api_result",
      "in:control_event",
      "out:ipc_push",
      "truth:liveness_begin",
      "truth:liveness_end",
      "quiescent",
    ],
    statement: strict
      ? "Every message appended to a reconnecting buffer (and acked) is eventually pushed or surfaced again as undispatched, unless its endpoint is still reconnecting within grace."
      : "Every message appended to a reconnecting buffer (and acked) is eventually pushed or surfaced again as undispatched, unless its endpoint is still reconnecting within grace, was removed (its buffer is deleted, §1.4) or outlived its broker process (buffers are not scanned at start-up, §1.5).",
    create: () => create(strict),
  });
}

export const L5 = makeL5(true);
/** The same as `L5` (kept for callers that name the strict form). */
export const L5_STRICT = L5;
export const L5_LENIENT = makeL5(false);

function create(strict: boolean): CheckerInstance {
  const phase = new Phase();
  /** Routed (non-assignment) messages whose buffer append storage confirmed, not yet resolved. */
  const buffered = new Map<string, Buffered>();
  /** Messages whose surfaced add the platform refused for good, by their inbox row id. */
  const refused = new Map<string, { b: Buffered; row: string }>();
  return {
    onEvent(ev, v) {
      if (phase.observe(ev)) return undefined;
      if (ev.k === "in") {
        const op = v.lastStorageOp;
        if (
          ev.input.kind === "storage_result" &&
          ev.input.ok &&
          op?.op === "append_buffer" &&
          !op.record.envelope.runtimeAssignment
        ) {
          const m = op.record.envelope.sourceMessageId ?? op.record.id;
          buffered.set(m, { endpointId: op.endpointId, t: ev.t, incarnation: v.incarnation });
        }
        const p = v.lastAckedPush;
        if (p && !p.envelope.runtimeAssignment && p.envelope.sourceMessageId !== undefined)
          buffered.delete(p.envelope.sourceMessageId);
        const call = v.lastApiCall;
        // An add answered `undispatched_row_settled` proves the platform had the message handled
        // already (dispatched and finished before a crash, say): nothing is stranded.
        const r = ev.input.kind === "api_result" ? ev.input.result : undefined;
        const settled = r !== undefined && !r.ok && r.terminal && r.code === UNDISPATCHED_ROW_SETTLED;
        if (r !== undefined && call?.op === "undispatched_changed") {
          const a = call.args as { action?: string; source_message_id?: string; undispatched_id: string };
          const m = a.source_message_id ?? a.undispatched_id;
          if (a.action === "add" && (r.ok || settled)) {
            buffered.delete(m);
            refused.delete(m);
          } else if (a.action === "add" && !r.ok && r.terminal && buffered.has(m)) {
            refused.set(m, { b: buffered.get(m)!, row: a.undispatched_id });
            buffered.delete(m);
          }
        }
        // The platform dispatching the row proves it holds it: the message was surfaced even when
        // every answer to its `add` was lost or failed (timeout, 503 after the platform took it,
        // or `undispatched_row_settled` on a retry once the row was dispatched). The surfacer
        // stops posting once the row left the inbox, so no ok answer may ever come.
        const dispatched = dispatchedMessageOf(ev.input);
        if (dispatched !== undefined) {
          buffered.delete(dispatched);
          refused.delete(dispatched);
        }
        return undefined;
      }
      if (ev.k === "out") {
        const o = ev.output;
        // A push on a channel without receipts is handed off when written.
        if (
          o.kind === "ipc_push" &&
          o.frame.event === "message_received" &&
          !o.frame.runtimeAssignment &&
          o.frame.sourceMessageId !== undefined
        ) {
          const ch = v.channels.get(o.channel);
          if (ch?.open && !ch.receipts) buffered.delete(o.frame.sourceMessageId);
        }
        return undefined;
      }
      if (!phase.isVerdict(ev) || !ev.snapshot) return undefined;
      const reconnecting = new Set(
        ev.snapshot.endpoints.filter((e) => e.state === "reconnecting").map((e) => e.endpointId),
      );
      const stranded: string[] = [];
      for (const [m, b] of buffered) {
        if (b.incarnation === v.incarnation && reconnecting.has(b.endpointId)) continue;
        const seq = v.seqOf(m);
        // Not acked: the server still owes a redelivery, and L1 judges that.
        if (seq === undefined || seq > v.committed) continue;
        const restarted = b.incarnation !== v.incarnation;
        const removed = !restarted && v.endpoints.get(b.endpointId)?.state === "closed";
        if (!strict && (restarted || removed)) continue;
        const why = restarted
          ? "the broker restarted since (buffers are not scanned at start-up)"
          : removed
            ? "its endpoint was removed and its buffer deleted"
            : "its endpoint is active but the buffer was not drained";
        stranded.push(`${m} (seq ${seq}, buffered for ${b.endpointId} at t=${b.t}; ${why})`);
      }
      const inbox = new Set(ev.snapshot.inbox.ids);
      for (const [m, { b, row }] of refused) {
        if (b.incarnation !== v.incarnation || inbox.has(row)) continue;
        stranded.push(
          `${m} (seq ${v.seqOf(m)}, buffered for ${b.endpointId} at t=${b.t}; its add was refused and its row is gone from the inbox)`,
        );
      }
      if (stranded.length === 0) return undefined;
      return {
        message: `${plural(stranded.length, "acked message")} left in a reconnecting buffer, never pushed nor surfaced as undispatched: ${firstFew(stranded, 3)}.`,
        involved: stranded,
      };
    },
  };
}

/** The message a `dispatch_undispatched` control event names (its source message, else its row). */
function dispatchedMessageOf(input: { kind: string; event?: unknown }): string | undefined {
  if (input.kind !== "control_event") return undefined;
  const e = input.event as { type?: unknown; source_message_id?: unknown; undispatched_id?: unknown } | null;
  if (typeof e !== "object" || e === null || e.type !== "dispatch_undispatched") return undefined;
  if (typeof e.source_message_id === "string") return e.source_message_id;
  return typeof e.undispatched_id === "string" ? e.undispatched_id : undefined;
}
