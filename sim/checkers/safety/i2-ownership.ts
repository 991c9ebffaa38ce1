import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/** Routes that act for an endpoint and must prove they own it (PROTOCOL §3.1 "Owner" checks). */
const OWNED_ROUTES = new Set([
  "/v1/dispatch",
  "/v1/runtime/assignment-reply",
  "/v1/runtime/processing-state",
]);

interface Owner {
  pid: number;
  token: string;
}

interface Pending {
  reqId: number;
  endpointId: string;
  why: string;
  event: string;
}

/**
 * I2 Ownership (PROTOCOL §7.2). The owner of an endpoint is the pid that registered it and the
 * owner token the broker answered with. A request on an owned route (claim, reply, processing
 * state, and the claim listing with an explicit endpoint) that names an endpoint with the wrong
 * pid or token must leave the step that handles it without any effect on the world (no platform
 * call, no storage write, no push, no connector frame) and must be answered with an error.
 * Requests for endpoints the broker never registered are not judged: ownership is unknown.
 */
export const I2 = defineChecker({
  id: "I2",
  kind: "safety",
  kinds: ["start", "in:ipc_request", "out", "step_end"],
  statement:
    "Claim, reply and processing-state requests with a wrong pid or owner token never reach the platform and never change broker state.",
  create() {
    let owners = new Map<string, Owner>();
    /** The foreign request the current step handles, if any. */
    let current: Pending | undefined;
    /** Foreign requests still waiting for their answer. */
    let waiting = new Map<number, Pending>();
    return {
      onEvent(ev, v) {
        switch (ev.k) {
          case "start":
            owners = new Map();
            waiting = new Map();
            current = undefined;
            return undefined;
          case "step_end":
            current = undefined;
            return undefined;
          case "in": {
            current = undefined;
            const input = ev.input;
            if (input.kind !== "ipc_request") return undefined;
            const foreign = foreignRequest(input, owners);
            if (foreign === undefined) return undefined;
            current = {
              reqId: input.id,
              endpointId: foreign.endpointId,
              why: foreign.why,
              event: describe(ev),
            };
            waiting.set(input.id, current);
            return undefined;
          }
          case "out": {
            const o = ev.output;
            if (o.kind === "ipc_response") {
              const req = v.lastIpcRequest;
              if (o.status === 200 && req?.path === "/v1/endpoint/register") {
                const b = o.body as { endpoint_id?: unknown; endpoint_owner_token?: unknown };
                const pid = req.body.plugin_pid;
                if (
                  typeof b.endpoint_id === "string" &&
                  typeof b.endpoint_owner_token === "string" &&
                  typeof pid === "number"
                )
                  owners.set(b.endpoint_id, { pid, token: b.endpoint_owner_token });
              }
              const w = waiting.get(o.id);
              if (w === undefined) return undefined;
              waiting.delete(o.id);
              if (o.status >= 400) return undefined;
              return {
                message: `request ${o.id} for endpoint ${w.endpointId} with ${w.why} was answered ${o.status}.`,
                involved: [w.event, describe(ev)],
              };
            }
            if (current === undefined || o.kind === "ipc_close_channel" || o.kind === "control_ack")
              return undefined;
            return {
              message: `request ${current.reqId} for endpoint ${current.endpointId} with ${current.why} had an effect: ${o.kind}${o.kind === "api_call" ? ` ${o.op}` : ""}.`,
              involved: [current.event, describe(ev)],
            };
          }
          default:
            return undefined;
        }
      },
    };
  },
});

function foreignRequest(
  input: { method: string; path: string; pidHeader?: string; body: unknown },
  owners: ReadonlyMap<string, Owner>,
): { endpointId: string; why: string } | undefined {
  const q = input.path.indexOf("?");
  const path = q >= 0 ? input.path.slice(0, q) : input.path;
  if (input.method === "GET" && path === "/v1/undispatched") {
    const endpointId = new URLSearchParams(q >= 0 ? input.path.slice(q + 1) : "").get("endpoint_id");
    const owner = endpointId ? owners.get(endpointId) : undefined;
    if (!endpointId || !owner) return undefined;
    const pid = Number(input.pidHeader);
    return pid === owner.pid
      ? undefined
      : { endpointId, why: `pid ${input.pidHeader ?? "(none)"} (owner pid ${owner.pid})` };
  }
  if (input.method !== "POST" || !OWNED_ROUTES.has(path)) return undefined;
  const b = (typeof input.body === "object" && input.body !== null ? input.body : {}) as Record<
    string,
    unknown
  >;
  const endpointId = b.endpoint_id;
  if (typeof endpointId !== "string") return undefined;
  const owner = owners.get(endpointId);
  if (!owner) return undefined;
  if (b.plugin_pid !== owner.pid)
    return { endpointId, why: `plugin_pid ${String(b.plugin_pid)} (owner pid ${owner.pid})` };
  if (b.endpoint_owner_token !== owner.token) return { endpointId, why: "a wrong endpoint_owner_token" };
  return undefined;
}
