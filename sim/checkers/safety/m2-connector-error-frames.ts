import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/**
 * M2 A connector ERROR frame settles only the send it names (PROTOCOL §2.2: an ERROR whose
 * `messageId` names a pending send rejects that send; any other ERROR is reported and dropped).
 * The request whose SEND_MESSAGE a connector ERROR refused is answered 502
 * `connector_send_rejected`, not retryable (our rule for both `/v1/send` and assignment replies,
 * docs/deviations.md); an ERROR that names no pending send (a notice about a recipient, a late one)
 * answers no request in its step. A SEND_MESSAGE is matched to its request by its cause.
 */
export const M2 = defineChecker({
  id: "M2",
  kind: "safety",
  kinds: ["start", "in", "step_end", "out:connector_send", "out:ipc_response"],
  statement:
    "A connector ERROR naming a pending send answers that send's request 502 connector_send_rejected; an ERROR naming no pending send answers no request.",
  create() {
    /** SEND_MESSAGE id → the request it serves, until acked, refused or answered otherwise. */
    let pending = new Map<string, number>();
    let requestSends = new Map<number, string>();
    let refused = new Map<number, { code: unknown; to: unknown; messageId: string }>();
    /** Every SEND_MESSAGE id written and not yet acked or refused, whatever its cause. */
    let written = new Set<string>();
    /** Set during the step of an ERROR that named no pending send. */
    let notice: string | undefined;
    const forget = (request: number) => {
      const m = requestSends.get(request);
      if (m !== undefined) pending.delete(m);
      requestSends.delete(request);
    };
    return {
      onEvent(ev) {
        if (ev.k === "start") {
          pending = new Map();
          requestSends = new Map();
          refused = new Map();
          written = new Set();
          notice = undefined;
          return undefined;
        }
        if (ev.k === "step_end") {
          notice = undefined;
          return undefined;
        }
        if (ev.k === "in") {
          notice = undefined;
          if (ev.input.kind !== "connector_frame") return undefined;
          let f: Record<string, unknown>;
          try {
            f = JSON.parse(ev.input.text) as Record<string, unknown>;
          } catch {
            return undefined;
          }
          const id = f.messageId;
          if (f.event === "SEND_ACK" && typeof id === "string") {
            written.delete(id);
            const r = pending.get(id);
            if (r !== undefined) forget(r);
            return undefined;
          }
          if (f.event !== "ERROR") return undefined;
          const named = typeof id === "string" && written.delete(id);
          const r = typeof id === "string" ? pending.get(id) : undefined;
          if (!named) {
            notice = `ERROR ${String(f.code)}${typeof id === "string" ? ` for ${id}` : ""}${f.to === undefined ? "" : ` to ${String(f.to)}`}`;
            return undefined;
          }
          if (r === undefined) return undefined;
          forget(r);
          refused.set(r, { code: f.code, to: f.to, messageId: id as string });
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "connector_send") {
          if (o.frame.event !== "SEND_MESSAGE") return undefined;
          written.add(o.frame.messageId);
          if (o.cause?.kind !== "request") return undefined;
          const r = o.cause.request;
          forget(r);
          pending.set(o.frame.messageId, r);
          requestSends.set(r, o.frame.messageId);
          return undefined;
        }
        if (o.kind !== "ipc_response") return undefined;
        if (notice !== undefined) {
          return {
            message: `request ${o.id} was answered ${o.status} in the step of a connector ${notice}, which names no pending send.`,
            involved: [describe(ev)],
          };
        }
        const rej = refused.get(o.id);
        forget(o.id);
        if (rej === undefined) return undefined;
        refused.delete(o.id);
        const body = (o.body ?? {}) as Record<string, unknown>;
        if (o.status === 502 && body.error === "connector_send_rejected" && body.retryable !== true)
          return undefined;
        return {
          message: `the connector refused SEND_MESSAGE ${rej.messageId} of request ${o.id} (ERROR ${String(rej.code)}${rej.to === undefined ? "" : ` to ${String(rej.to)}`}), but the request was answered ${o.status} ${JSON.stringify(body)}; expected 502 connector_send_rejected, not retryable.`,
          involved: [describe(ev)],
        };
      },
    };
  },
});
