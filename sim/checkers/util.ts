/** Small helpers shared by checkers: recognising frames, outputs and pipeline work for a message. */

import type { OutboundFrame } from "../../src/broker/connector/frames.ts";
import type { Output, PushEnvelope } from "../../src/broker/types.ts";
import type { SimEvent } from "../kernel/events.ts";

export function sentFrame(ev: SimEvent): OutboundFrame | undefined {
  return ev.k === "out" && ev.output.kind === "connector_send" ? ev.output.frame : undefined;
}

/** The inbound message id an output works on as part of a pipeline task (not an assignment). */
export function pipelineMessageOf(o: Output): string | undefined {
  switch (o.kind) {
    case "api_call":
      if (o.op === "inbound_route_claim" || o.op === "inbound_routed") return o.args.source_message_id;
      if (o.op === "undispatched_changed" && o.args.action === "add") {
        return o.args.source_message_id ?? o.args.undispatched_id;
      }
      return undefined;
    case "ipc_push":
      if (o.frame.event !== "message_received" || o.frame.runtimeAssignment) return undefined;
      return o.frame.sourceMessageId;
    case "storage":
      if (o.op.op !== "append_buffer" || o.op.record.envelope.runtimeAssignment) return undefined;
      return o.op.record.envelope.sourceMessageId;
    default:
      return undefined;
  }
}

/** The message of the pipeline task an output's cause names (targets with the `causes` capability). */
export function taskMessageOf(o: Output): string | undefined {
  return o.cause?.kind === "task" ? o.cause.messageId : undefined;
}

/** A hand-off (push or buffer append) of an inbound message, with where it went. */
export function handoffOf(
  o: Output,
): { messageId: string; channel?: number; endpointId?: string; envelope: PushEnvelope } | undefined {
  if (o.kind === "ipc_push" && o.frame.event === "message_received" && !o.frame.runtimeAssignment) {
    const m = o.frame.sourceMessageId;
    return m === undefined ? undefined : { messageId: m, channel: o.channel, envelope: o.frame };
  }
  if (o.kind === "storage" && o.op.op === "append_buffer" && !o.op.record.envelope.runtimeAssignment) {
    const m = o.op.record.envelope.sourceMessageId;
    return m === undefined
      ? undefined
      : { messageId: m, endpointId: o.op.endpointId, envelope: o.op.record.envelope };
  }
  return undefined;
}

/** A compact one-line description of an event for violation reports. */
export function describe(ev: SimEvent): string {
  switch (ev.k) {
    case "in":
      return `t=${ev.t} in ${short(ev.input)}`;
    case "out":
      return `t=${ev.t} out ${short(ev.output)}`;
    case "truth":
      return `t=${ev.t} truth ${JSON.stringify(ev.fact)}`;
    default:
      return `t=${ev.t} ${ev.k}`;
  }
}

function short(x: unknown): string {
  const s = JSON.stringify(x);
  return s.length > 300 ? `${s.slice(0, 297)}...` : s;
}

/** Canonical JSON with recursively sorted keys (`undefined` stays distinct from `null`). */
export function canonical(x: unknown): string {
  if (x === undefined) return "undefined";
  if (Array.isArray(x)) return `[${x.map(canonical).join(",")}]`;
  if (x !== null && typeof x === "object") {
    const o = x as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(x);
}
