/**
 * Short words for trace records: a stable `name` per kind of event (Perfetto colours slices by
 * name, so it must not carry ids) and a one-line `label` with the ids a person scans for.
 */

import type { Input, Output } from "../../src/broker/types.ts";
import type { Fact } from "../kernel/events.ts";

export interface Words {
  name: string;
  label: string;
}

/** Parse a connector frame's text; undefined when it is not a JSON object. */
export function frameOf(text: unknown): Record<string, unknown> | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function describeInput(input: Input): Words {
  switch (input.kind) {
    case "connector_frame": {
      const f = frameOf(input.text);
      const type = typeof f?.event === "string" ? f.event : "frame?";
      const seq = typeof f?.seq === "number" ? ` seq ${f.seq}` : "";
      return { name: `in ${type}`, label: `${type}${seq}` };
    }
    case "connector_closed":
      return { name: "in connector_closed", label: `connector closed ${input.code} ${input.reason}` };
    case "api_result": {
      const r = input.result as { ok?: boolean; terminal?: boolean };
      const how = r.ok === true ? "ok" : r.terminal === true ? "failed (terminal)" : "failed";
      return { name: "in api_result", label: `api_result #${input.id} ${how}` };
    }
    case "storage_result":
      return {
        name: "in storage_result",
        label: `storage_result #${input.id} ${input.ok ? "ok" : "failed"}`,
      };
    case "ipc_channel_open":
      return { name: "in channel_open", label: `channel ${input.channel} open (pid ${input.pid})` };
    case "ipc_channel_message": {
      const m = frameOf(input.text);
      const what = typeof m?.event === "string" ? m.event : typeof m?.type === "string" ? m.type : "message";
      const push = typeof m?.push_id === "string" ? ` ${short(m.push_id)}` : "";
      return { name: `in ${what}`, label: `channel ${input.channel} ${what}${push}` };
    }
    case "ipc_channel_closed":
      return {
        name: "in channel_closed",
        label: `channel ${input.channel} closed${input.pluginAlive ? "" : " (plugin dead)"}`,
      };
    case "ipc_request":
      return {
        name: `in ${input.method} ${pathOnly(input.path)}`,
        label: `${input.method} ${input.path} #${input.id}`,
      };
    case "control_event": {
      const e = input.event as { type?: unknown; idempotency_key?: unknown } | undefined;
      const type = typeof e?.type === "string" ? e.type : "control_event";
      return { name: `in ${type}`, label: `${type} ${String(e?.idempotency_key ?? "")}` };
    }
    default:
      return { name: `in ${input.kind}`, label: input.kind };
  }
}

export function describeOutput(output: Output): Words {
  switch (output.kind) {
    case "connector_send": {
      const f = output.frame as unknown as Record<string, unknown>;
      const n = f.upToSeq ?? f.sinceSeq ?? f.messageId;
      return {
        name: `out ${output.frame.event}`,
        label: `${output.frame.event}${n === undefined ? "" : ` ${n}`}`,
      };
    }
    case "connector_close":
      return { name: "out connector_close", label: `close connector ${output.code} ${output.reason}` };
    case "api_call":
      return { name: `out ${output.op}`, label: `${output.op} #${output.id}` };
    case "storage": {
      const op = output.op;
      const arg =
        op.op === "write_cursor"
          ? ` ${op.lastKnownSeq}`
          : op.op === "inbox_put"
            ? ` ${op.row.id}`
            : op.op === "inbox_remove"
              ? ` ${op.id}`
              : ` ${op.endpointId}`;
      return { name: `out ${op.op}`, label: `${op.op}${arg} #${output.id}` };
    }
    case "ipc_push": {
      const fr = output.frame;
      const extra =
        fr.event === "message_received"
          ? ` ${fr.sourceMessageId ?? ""}${fr.push_id === undefined ? "" : ` ${short(fr.push_id)}`}`
          : ` ${fr.presence}`;
      return { name: `out push ${fr.event}`, label: `push ${fr.event}${extra} → ch ${output.channel}` };
    }
    case "ipc_response":
      return { name: `out ${output.status}`, label: `response ${output.status} #${output.id}` };
    case "ipc_close_channel":
      return { name: "out close_channel", label: `close channel ${output.channel} ${output.code}` };
    case "control_ack":
      return {
        name: `out control_ack ${output.status}`,
        label: `control_ack ${output.status} ${output.idempotency_key}`,
      };
    default:
      return { name: `out ${output.kind}`, label: output.kind };
  }
}

export function describeFact(fact: Fact): Words {
  switch (fact.f) {
    case "server_sent":
      return {
        name: fact.skip ? "server sent DELIVERY_SKIP" : "server sent MESSAGE_RECEIVED",
        label: `sent ${fact.skip ? "DELIVERY_SKIP" : "MESSAGE_RECEIVED"} seq ${fact.seq} (${fact.messageId})`,
      };
    case "server_acked":
      return { name: "server got DELIVERY_ACK", label: `server acked up to ${fact.upToSeq}` };
    case "server_gap_fill":
      return { name: "server got REQUEST_GAP_FILL", label: `gap fill since ${fact.sinceSeq}` };
    case "cursor_persisted":
      return { name: "cursor persisted", label: `cursor persisted ${fact.value}` };
    case "plugin_push_acked":
      return { name: "plugin acked push", label: `acked push ${short(fact.pushId)}` };
    case "plugin_reply_abandoned":
      return {
        name: "plugin abandoned reply",
        label: `abandoned reply ${fact.assignmentId}: ${fact.reason}`,
      };
    default:
      return { name: "fact", label: JSON.stringify(fact) };
  }
}

function pathOnly(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? path : path.slice(0, q);
}

/** Push ids are UUIDs; eight characters are enough to tell them apart on screen. */
function short(id: string): string {
  return id.length > 12 ? `${id.slice(0, 8)}…` : id;
}
