/**
 * The published daemon's platform port and closed-endpoint lookup, as simulator `api_call`s: every
 * method returns a promise that the `api_result` with the same id settles (`call`). Results are
 * shaped as the package's production port (`entry.js`) returns them: emit outcomes pass through,
 * register/heartbeat/unregister/list throw `PlatformApiError` on failure, and `transitionState`
 * retries once and never rejects.
 */

export type PlatformApiErrorClass = new (status: number, code: string, message: string) => Error;

export interface Deferred {
  op: string;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  map(result: { ok: boolean } & Record<string, unknown>): { value?: unknown; error?: unknown };
}

export type ApiResultRecord = { ok: boolean } & Record<string, unknown>;

export function throwOnFailure(
  PlatformApiError: PlatformApiErrorClass,
  r: ApiResultRecord,
): { value?: unknown; error?: unknown } {
  if (r.ok) return { value: undefined };
  return {
    error: new PlatformApiError(
      typeof r.status === "number" ? r.status : 503,
      typeof r.code === "string" ? r.code : "unavailable",
      typeof r.detail === "string" ? r.detail : "platform call failed",
    ),
  };
}

export function emitOutcome(r: ApiResultRecord): { value: unknown } {
  if (r.ok) return { value: { ok: true } };
  const out: Record<string, unknown> = { ok: false, terminal: r.terminal === true };
  if (r.status !== undefined) out.status = r.status;
  if (r.detail !== undefined) out.detail = r.detail;
  if (r.assignmentFailureCategory !== undefined) out.assignmentFailureCategory = r.assignmentFailureCategory;
  return { value: out };
}

export interface PortDeps {
  call: (op: string, args: unknown, map: Deferred["map"]) => Promise<unknown>;
  logger: { warn(event: string, fields?: Record<string, unknown>): void };
  /** The plugin pid of the register request being served (the port's params do not carry it). */
  nextRegisterPid: () => number | undefined;
  PlatformApiError: PlatformApiErrorClass;
}

export function makePort({ call, logger, nextRegisterPid, PlatformApiError }: PortDeps) {
  const ok = (value: unknown) => (r: ApiResultRecord) =>
    r.ok
      ? { value: typeof value === "function" ? (value as (r: ApiResultRecord) => unknown)(r) : value }
      : throwOnFailure(PlatformApiError, r);
  const apiPort = {
    register: (params: Record<string, unknown>) =>
      call(
        "register",
        registerArgs(params, nextRegisterPid()),
        ok((r: ApiResultRecord) => stripOk(r)),
      ),
    heartbeat: (endpoint_id: string) => call("heartbeat", { endpoint_id }, ok(undefined)),
    unregister: (endpoint_id: string) => call("unregister", { endpoint_id }, ok(undefined)),
    // As the package's production port (entry.js) does: a 404 is skipped, any other failure is
    // retried once after 500 ms and then only logged; the daemon calls it with `void`.
    transitionState: async (endpoint_id: string, params: Record<string, unknown>) => {
      const args = { endpoint_id, ...params };
      try {
        await call("transition_state", args, ok(undefined));
      } catch (err) {
        if ((err as { status?: unknown }).status === 404) return;
        await new Promise((r) => setTimeout(r, 500));
        try {
          await call("transition_state", args, ok(undefined));
        } catch (err2) {
          logger.warn("transitionState_failed", { endpoint_id, err: String(err2) });
        }
      }
    },
    emitUndispatchedChanged: (event: unknown) => call("undispatched_changed", event, emitOutcome),
    emitNetworkPresenceChanged: (event: unknown) => call("presence_changed", event, emitOutcome),
    claimRuntimeInboundRoute: (event: unknown) =>
      call("inbound_route_claim", event, (r) =>
        r.ok ? { value: { ok: true, action: r.action } } : emitOutcome(r),
      ),
    emitRuntimeInboundRouted: (event: unknown) => call("inbound_routed", event, emitOutcome),
    emitRuntimeProcessingState: (event: unknown) => call("processing_state", event, emitOutcome),
    listRuntimeClaimCandidates: (params: Record<string, unknown>) =>
      call(
        "list_claim_candidates",
        { endpoint_id: params.endpoint_id, endpoint_nonce: params.endpoint_nonce, limit: params.limit },
        ok((r: ApiResultRecord) => ({ items: r.items })),
      ),
  };
  const closedEndpointLookup = {
    lookup: (endpoint_id: string) =>
      call(
        "closed_endpoint_lookup",
        { endpoint_id },
        ok((r: ApiResultRecord) =>
          r.retired === true
            ? { exists: true, closed: true, view: { endpoint_id, state: "closed" } }
            : { exists: false },
        ),
      ),
    invalidate: () => {},
    size: () => 0,
  };
  return { apiPort, closedEndpointLookup };
}

/** The port's register params in the simulator's `register` vocabulary (src/broker/api.ts). */
function registerArgs(p: Record<string, unknown>, pid: number | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {
    nonce: p.endpoint_nonce,
    plugin_pid: pid ?? 0,
    kind: p.runtime_kind,
    capabilities: Array.isArray(p.runtime_capabilities) ? p.runtime_capabilities : [],
    display_label: p.display_label,
  };
  if (p.workspace !== undefined) out.workspace = p.workspace;
  if (p.runtime_session_id !== undefined) out.runtime_session_id = p.runtime_session_id;
  if (p.background_exchange_mode !== undefined) out.background_exchange_mode = p.background_exchange_mode;
  return out;
}

function stripOk(r: ApiResultRecord): Record<string, unknown> {
  const { ok: _ok, ...rest } = r;
  return rest;
}
