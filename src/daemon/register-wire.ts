/**
 * The platform's `POST /v1/runtime-endpoints` body (PROTOCOL §4.2) as the published 0.2.36 broker
 * sends it, and back. The core's `RegisterArgs` uses short names; on the wire the platform expects
 * `runtime_kind`, `endpoint_nonce` and `runtime_capabilities` (omitted when empty). `plugin_pid` and
 * `agent_id` are extra fields the platform may ignore.
 */

import type { RegisterArgs } from "../broker/api.ts";

export function registerWireBody(a: RegisterArgs): Record<string, unknown> {
  return {
    runtime_kind: a.kind,
    endpoint_nonce: a.nonce,
    display_label: a.display_label,
    workspace: a.workspace,
    runtime_capabilities: a.capabilities.length > 0 ? a.capabilities : undefined,
    runtime_session_id: a.runtime_session_id,
    background_exchange_mode: a.background_exchange_mode,
    tracking_ref: a.tracking_ref,
    session_name: a.session_name,
    task_hint: a.task_hint,
    execution_surface: a.execution_surface,
    plugin_pid: a.plugin_pid,
    agent_id: a.agent_id,
  };
}

/** The inverse, for platform stubs that serve the register route. Missing fields get neutral values. */
export function registerArgsFromWire(body: unknown): RegisterArgs {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  const caps = Array.isArray(b.runtime_capabilities)
    ? b.runtime_capabilities.filter((c) => typeof c === "string")
    : [];
  return {
    kind: str(b.runtime_kind) ?? "",
    nonce: str(b.endpoint_nonce) ?? "",
    display_label: str(b.display_label) ?? "",
    workspace: b.workspace as RegisterArgs["workspace"],
    capabilities: caps,
    runtime_session_id: str(b.runtime_session_id),
    background_exchange_mode: str(b.background_exchange_mode),
    plugin_pid: typeof b.plugin_pid === "number" ? b.plugin_pid : 0,
    agent_id: str(b.agent_id),
    ...(str(b.session_name) !== undefined ? { session_name: str(b.session_name) } : {}),
    ...(str(b.tracking_ref) !== undefined ? { tracking_ref: str(b.tracking_ref) } : {}),
    ...(str(b.task_hint) !== undefined ? { task_hint: str(b.task_hint) } : {}),
    ...(str(b.execution_surface) !== undefined ? { execution_surface: str(b.execution_surface) } : {}),
  };
}
