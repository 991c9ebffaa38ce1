/**
 * Ownership checks shared by the assignment routes (PROTOCOL §3.1 "Owner" checks) and a wrapper
 * that turns a thrown `BrokerHttpError` into the error envelope, so a bad body can never escape
 * the core as an exception.
 */

import type { Env } from "../env.ts";
import { BrokerInvariantError } from "../invariant.ts";
import { BrokerHttpError, type IpcRequest, type Reply, type RouteHandler } from "../ipc/http.ts";
import type { EndpointEntry, Registry } from "../model.ts";

export function body(req: IpcRequest): Record<string, unknown> {
  const b = req.body;
  if (typeof b !== "object" || b === null || Array.isArray(b)) {
    throw new BrokerHttpError(400, "bad_request", "request body must be a JSON object");
  }
  return b as Record<string, unknown>;
}

export function requiredString(b: Record<string, unknown>, key: string, code = "bad_request"): string {
  const v = b[key];
  if (typeof v !== "string" || v.length === 0) {
    throw new BrokerHttpError(400, code, `${key} is required and must be a non-empty string`);
  }
  return v;
}

export function optionalString(b: Record<string, unknown>, key: string): string | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new BrokerHttpError(400, "bad_request", `${key} must be a string`);
  return v;
}

export function optionalObject(b: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = b[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new BrokerHttpError(400, "bad_request", `${key} must be an object`);
  }
  return v as Record<string, unknown>;
}

/** E404, PID, TOK and (when `requireActive`) ACT, in that order. */
export function ownedEndpoint(
  registry: Registry,
  b: Record<string, unknown>,
  requireActive: boolean,
  action: string,
): EndpointEntry {
  const endpointId = requiredString(b, "endpoint_id");
  const entry = registry.get(endpointId);
  if (!entry) throw new BrokerHttpError(404, "unknown_endpoint", `unknown endpoint_id: ${endpointId}`);
  if (entry.pluginPid !== b.plugin_pid) {
    throw new BrokerHttpError(403, "endpoint_pid_mismatch", "plugin_pid does not own endpoint_id");
  }
  if (entry.ownerToken !== b.endpoint_owner_token) {
    throw new BrokerHttpError(
      403,
      "endpoint_owner_token_mismatch",
      "endpoint_owner_token does not match endpoint_id",
    );
  }
  if (requireActive) mustBeActive(entry, action);
  return entry;
}

/** ACT: 409 `endpoint_not_active` unless the endpoint is `active`. */
export function mustBeActive(entry: EndpointEntry, action: string): void {
  if (entry.state === "active") return;
  throw new BrokerHttpError(
    409,
    "endpoint_not_active",
    `endpoint ${entry.endpointId} is ${entry.state}; ${action} is only allowed from Active`,
  );
}

/**
 * Wrap a handler: `BrokerHttpError` ⇒ its envelope; anything else ⇒ 500 `internal_error`, and a
 * failed `invariant` also counts as the core's internal error.
 */
export function guarded(env: Env, handler: RouteHandler): RouteHandler {
  return (req: IpcRequest, reply: Reply) => {
    try {
      handler(req, reply);
    } catch (err) {
      if (reply.answered) {
        env.log("error", "ipc_route_error_after_reply", { path: req.path, message: String(err) });
        if (err instanceof BrokerInvariantError) env.internalError(err, "ipc_route_after_reply");
        return;
      }
      if (err instanceof BrokerHttpError) {
        env.log("info", "ipc_route_rejected", { path: req.path, status: err.status, error: err.code });
        reply.error(err);
        return;
      }
      env.log("error", "ipc_route_error", {
        path: req.path,
        message: err instanceof Error ? err.message : String(err),
      });
      reply.fail(500, "internal_error", "internal error");
      if (err instanceof BrokerInvariantError) env.internalError(err, "ipc_route");
    }
  };
}
