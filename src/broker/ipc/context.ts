/**
 * What the IPC routes of the delivery path work with, plus the small request checks they share.
 */

import type { ReconnectingBuffers } from "../endpoints/buffers.ts";
import type { IpcChannels } from "../endpoints/channels.ts";
import type { CorrelationCache } from "../endpoints/correlation-cache.ts";
import type { EndpointLifecycle } from "../endpoints/endpoint-lifecycle.ts";
import type { EndpointRegistry } from "../endpoints/registry.ts";
import type { Presence } from "../emitters/presence.ts";
import type { Env } from "../env.ts";
import type { UndispatchedInbox } from "../inbound/inbox.ts";
import type { ConnectorPort, EndpointEntry } from "../model.ts";
import { BrokerHttpError } from "./http.ts";

/**
 * Our own version, as `/health` `version` and `/v1/initialize` `server_version` report it. It is the
 * package version behind a `broker-sim/` prefix on purpose: the published SDK's discovery compares a
 * bare `x.y.z` with its own version and SIGKILLs any broker reporting an older one (to spawn the
 * published daemon in its place); a prefixed string is "not comparable" there, so the SDK keeps
 * using us. A test keeps it equal to package.json's version.
 */
export const SERVER_VERSION = "broker-sim/0.1.0";
export const IPC_PROTOCOL_VERSION = "1.1";
/**
 * Server capabilities as the published SDK reads them: an object of boolean flags
 * (`server_capabilities.push_receipt_ack_v1 === true` is what makes the SDK send `push_ack`).
 * A flag is true only for what this broker implements; the rest are false, never absent, so a
 * client can tell "not offered" from "unknown".
 */
export const SERVER_CAPABILITIES: Readonly<Record<string, boolean>> = Object.freeze({
  endpoint_metadata_v1: true,
  remote_spawn_v1: false,
  undispatched_inbox_v1: false,
  runtime_assignment_reply_v1: true,
  runtime_assignment_claim_v1: false,
  runtime_claim_candidates_v1: true,
  undispatched_presence_v1: false,
  push_receipt_ack_v1: true,
  structured_workspace_v1: true,
});

export interface IpcContext {
  env: Env;
  registry: EndpointRegistry;
  channels: IpcChannels;
  buffers: ReconnectingBuffers;
  lifecycle: EndpointLifecycle;
  inbox: UndispatchedInbox;
  correlations: CorrelationCache;
  presence: Presence;
  connector: ConnectorPort;
}

/** E404 of §3.1 (`unknown_endpoint`, or `endpoint_unknown` where the route says so). */
export function requireEntry(ctx: IpcContext, id: string, code = "unknown_endpoint"): EndpointEntry {
  const e = ctx.registry.get(id);
  if (!e) throw new BrokerHttpError(404, code, `unknown endpoint ${id}`);
  return e;
}

/** The `x-plugin-pid` header as a positive integer (400 `plugin_pid_invalid`). */
export function headerPid(raw: string | undefined): number {
  const n = raw === undefined || !/^[0-9]+$/.test(raw.trim()) ? Number.NaN : Number(raw.trim());
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new BrokerHttpError(400, "plugin_pid_invalid", "x-plugin-pid must be a positive integer");
  }
  return n;
}

export function reqPid(o: Record<string, unknown>): number {
  const v = o.plugin_pid;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
    throw new BrokerHttpError(400, "plugin_pid_invalid", "plugin_pid must be a positive integer");
  }
  return v;
}

/** Runtime session id normalisation (§2.1): trimmed, non-empty, ≤ 256 chars, no `__masons_`. */
export function normaliseRuntimeSessionId(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  const bad = () => new BrokerHttpError(400, "invalid_runtime_session_id", "runtime_session_id is invalid");
  if (typeof v !== "string") throw bad();
  const s = v.trim();
  if (s.length === 0 || s.length > 256 || s.startsWith("__masons_")) throw bad();
  return s;
}
