/** Steps the checkers' legal-history tests share: an endpoint, claims, buffers, surfaced records. */

import { UNDISPATCHED_ROW_SETTLED } from "../../../src/broker/api.ts";
import { History } from "./history.ts";

/** A history (with causes unless `causes` is false) with ep-1 registered on channel 1, connector open. */
export const withEndpoint = (causes = true) =>
  new History({}, 0, causes).channel(1, 10).registered("ep-1", 10).open();
export const claim = (m: string) => ({ source_message_id: m, routed_to_endpoint_id: "ep-1" });
export const TRANSIENT = { ok: false, terminal: false };

export function appendToBuffer(h: History, storageId: number, m: string): History {
  h.in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
  h.asTask(m).out({
    kind: "storage",
    id: storageId,
    op: {
      op: "append_buffer",
      endpointId: "ep-1",
      record: {
        id: m,
        arrived_at: "",
        envelope: { from: "a", content: "c", contentType: "text", sourceMessageId: m },
      },
    },
  });
  return h.end().in({ kind: "storage_result", id: storageId, ok: true }).end();
}

export function skipped(h: History, m: string): History {
  h.call("inbound_route_claim", claim(m));
  const id = h.lastId;
  return h.end().result(id, { ok: true, action: "skip" }).end();
}

/**
 * m1 is claimed, buffered while ep-1 is reconnecting, and its routed post fails: the task ends
 * unaccepted (id released, event queued). The endpoint reattaches and the drain pushes m1.
 */
export function bufferedThenDrained(): History {
  const h = withEndpoint().at(0).message(1, "m1").call("inbound_route_claim", claim("m1"));
  const c = h.lastId;
  h.end().result(c, { ok: true, action: "route" }).end();
  h.in({ kind: "ipc_channel_closed", channel: 1, pluginAlive: true }).end();
  h.asTask("m1").out({
    kind: "storage",
    id: 5,
    op: {
      op: "append_buffer",
      endpointId: "ep-1",
      record: {
        id: "m1",
        arrived_at: "",
        envelope: { from: "a", content: "c", contentType: "text", sourceMessageId: "m1" },
      },
    },
  });
  h.end().in({ kind: "storage_result", id: 5, ok: true });
  h.call("inbound_routed", { ...claim("m1"), route_kind: "reconnecting_endpoint" });
  const routed = h.lastId;
  h.end().result(routed, TRANSIENT).end();
  h.channel(2, 10).request(900, "POST", "/v1/endpoint/ep-1/reattach", { plugin_pid: 10 });
  return h.push(2, { sourceMessageId: "m1" }, "p-drain").end();
}

/** A start-up step that surfaces an earlier process's buffer record `m` (an add no task owns). */
export function surfacedAtStart(h: History, m: string): { h: History; add: number } {
  h.in({ kind: "start" }).call("undispatched_changed", {
    type: "undispatched_changed",
    version: 1,
    action: "add",
    undispatched_id: m,
    source_message_id: m,
    reason: "closed_session_continuation",
  });
  const add = h.lastId;
  return { h: h.end(), add };
}

export const SETTLED = { ok: false, terminal: true, status: 422, code: UNDISPATCHED_ROW_SETTLED };
