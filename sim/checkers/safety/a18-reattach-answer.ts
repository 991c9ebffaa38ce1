import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/**
 * A18 A reattach's success answer tells what its drain delivered (our addition beside PROTOCOL §7;
 * the rule is §3.2: `POST /v1/endpoint/:id/reattach` answers 200 `{restored: true,
 * reconnecting_buffer_count}`).
 *
 * Theory of operation:
 * 1. The reattach drain pushes the endpoint's buffered records under the request's cause. A push is
 *    delivered when the plugin's `push_ack` arrives on its channel before the receipt deadline ran
 *    (the view's `lastAckedPush`), or at once on a channel without receipts (§3.4).
 * 2. A 200 answer to that request says `restored: true` and a `reconnecting_buffer_count` equal to
 *    the records its drain delivered: a plugin that reads `restored: false` re-registers and loses the
 *    endpoint's identity; a wrong count misreports what the plugin has been given.
 * 3. Read from the outputs' causes (which pushes a request made); a target that exposes no causes is
 *    not judged (sim/targets/index.ts).
 */

const REATTACH = /^\/v1\/endpoint\/[^/?]+\/reattach(?:\?|$)/;

export const A18 = defineChecker({
  id: "A18",
  kind: "safety",
  kinds: ["start", "in:ipc_request", "in:ipc_channel_message", "out:ipc_push", "out:ipc_response"],
  statement:
    "A reattach answered 200 says restored: true and a reconnecting_buffer_count equal to the buffered records its drain delivered.",
  create() {
    /** Open reattach requests of this process: request id → records its drain delivered. */
    const drains = new Map<number, { delivered: number; event: string }>();
    /** Drain pushes awaiting their receipt: push id → request id. */
    const receipts = new Map<string, number>();
    return {
      onEvent(ev, v) {
        if (ev.k === "start") {
          drains.clear();
          receipts.clear();
          return undefined;
        }
        if (ev.k === "in") {
          const input = ev.input;
          if (input.kind === "ipc_request") {
            if (input.method === "POST" && REATTACH.test(input.path))
              drains.set(input.id, { delivered: 0, event: describe(ev) });
            return undefined;
          }
          if (input.kind !== "ipc_channel_message" || v.lastAckedPush === undefined) return undefined;
          let pushId: unknown;
          try {
            pushId = (JSON.parse(input.text) as { push_id?: unknown }).push_id;
          } catch {
            return undefined;
          }
          const req = typeof pushId === "string" ? receipts.get(pushId) : undefined;
          if (req === undefined) return undefined;
          receipts.delete(pushId as string);
          const d = drains.get(req);
          if (d !== undefined) d.delivered++;
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "ipc_push") {
          if (o.frame.event !== "message_received" || o.cause?.kind !== "request") return undefined;
          const d = drains.get(o.cause.request);
          if (d === undefined) return undefined;
          if (o.frame.push_id === undefined) d.delivered++;
          else receipts.set(o.frame.push_id, o.cause.request);
          return undefined;
        }
        if (o.kind !== "ipc_response") return undefined;
        const d = drains.get(o.id);
        if (d === undefined) return undefined;
        drains.delete(o.id);
        if (o.status !== 200) return undefined;
        const b = (typeof o.body === "object" && o.body !== null ? o.body : {}) as Record<string, unknown>;
        if (b.restored === true && b.reconnecting_buffer_count === d.delivered) return undefined;
        return {
          message: `reattach request ${o.id} was answered 200 with restored ${JSON.stringify(b.restored)} and reconnecting_buffer_count ${JSON.stringify(b.reconnecting_buffer_count)}, but its drain delivered ${d.delivered} record(s): the answer is {restored: true, reconnecting_buffer_count: <records delivered>} (PROTOCOL §3.2).`,
          involved: [d.event, describe(ev)],
        };
      },
    };
  },
});
