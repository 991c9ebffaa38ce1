/**
 * Where the simulated links go, as the wiring names them (sim/network/wiring.ts): which actor lane
 * each end of a link is on, which link and label a core output is sent with, and which link, label
 * and plugin a core input must have arrived on. The timeline uses this to tie a send to its output
 * and an arrival to the input it became.
 */

import type { Input, Output } from "../../src/broker/types.ts";
import { frameOf } from "./describe.ts";

export interface End {
  lane: string;
  thread: string;
}

/** Which actor each end of a simulated link belongs to (link names come from sim/network/wiring.ts). */
export function linkEnds(link: string): { from: End; to: End } {
  const [base, arg] = link.split(":", 2) as [string, string | undefined];
  const broker = (thread: string): End => ({ lane: "broker", thread });
  const plugin = (thread: string): End => ({ lane: `plugin:${arg ?? "?"}`, thread });
  switch (base) {
    case "conn-up":
      return { from: broker("outputs"), to: { lane: "server", thread: "connector" } };
    case "conn-down":
      return { from: { lane: "server", thread: "connector" }, to: broker("inputs") };
    case "api-req":
      return { from: broker("outputs"), to: { lane: "api", thread: "api" } };
    case "api-res":
      return { from: { lane: "api", thread: "api" }, to: broker("inputs") };
    case "control-events":
      return { from: { lane: "control", thread: "dispatcher" }, to: broker("inputs") };
    case "control-ack":
      return { from: broker("outputs"), to: { lane: "control", thread: "dispatcher" } };
    case "disk":
      return { from: broker("outputs"), to: { lane: "storage", thread: "disk" } };
    case "ipc-down":
      return { from: broker("outputs"), to: plugin("stream") };
    case "http-down":
      return { from: broker("outputs"), to: plugin("http") };
    case "ipc-up":
      return { from: plugin("stream"), to: broker("inputs") };
    case "http-up":
      return { from: plugin("http"), to: broker("inputs") };
    default:
      return { from: { lane: "other", thread: link }, to: { lane: "other", thread: link } };
  }
}

/** The link prefix and label the wiring uses when it performs `o` (to tie a send to its output). */
export function wireOf(o: Output): { link: string; label: string } | undefined {
  switch (o.kind) {
    case "connector_connect":
      return { link: "conn-up", label: "connect" };
    case "connector_send":
      return { link: "conn-up", label: o.frame.event };
    case "connector_close":
      return { link: "conn-up", label: "close" };
    case "api_call":
      return { link: "api-req", label: `${o.op}#${o.id}` };
    case "storage":
      return { link: "disk", label: o.op.op };
    case "ipc_push":
      return { link: "ipc-down", label: o.frame.event };
    case "ipc_close_channel":
      return { link: "ipc-down", label: "close" };
    case "ipc_response":
      return { link: "http-down", label: String(o.status) };
    case "control_ack":
      return { link: "control-ack", label: o.idempotency_key };
    default:
      return undefined;
  }
}

/** Outputs that hand an inbound message on: a push, a buffer append, a platform call. */
export function isHandoff(o: Output): boolean {
  if (o.kind === "ipc_push") return o.frame.event === "message_received";
  if (o.kind === "storage") return o.op.op === "append_buffer";
  return o.kind === "api_call";
}

export interface WireWant {
  links: string[];
  pid?: number;
  label: (l: string) => boolean;
}

export function expectedWire(input: Input, channelPid: ReadonlyMap<number, number>): WireWant | undefined {
  switch (input.kind) {
    case "connector_open":
      return { links: ["conn-down"], label: (l) => l === "open" };
    case "connector_frame": {
      const type = frameOf(input.text)?.event;
      return { links: ["conn-down"], label: (l) => type === undefined || l === String(type) };
    }
    case "connector_closed":
      return { links: ["conn-down"], label: (l) => l === "server_close" };
    case "api_result":
      return { links: ["api-res"], label: (l) => l.endsWith(`#${input.id}`) };
    case "control_event": {
      const key = String((input.event as { idempotency_key?: unknown } | undefined)?.idempotency_key);
      return { links: ["control-events"], label: (l) => l === key };
    }
    case "ipc_request": {
      const pid = Number(input.pidHeader);
      return {
        links: ["http-up"],
        pid: Number.isFinite(pid) ? pid : undefined,
        label: (l) => l === input.path,
      };
    }
    case "ipc_channel_open":
      return { links: ["ipc-up"], pid: input.pid, label: (l) => l === "open" };
    case "ipc_channel_message":
      return { links: ["ipc-up"], pid: channelPid.get(input.channel), label: (l) => l === "message" };
    case "ipc_channel_closed":
      return { links: ["ipc-up"], pid: channelPid.get(input.channel), label: (l) => l === "close" };
    default:
      return undefined;
  }
}
