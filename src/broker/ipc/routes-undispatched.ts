/**
 * `GET /v1/undispatched[?endpoint_id=]` (PROTOCOL §3.2): the platform's claim candidates for an
 * endpoint, enriched from the local inbox (content, type and metadata the preview lacks).
 */

import type { ClaimCandidate } from "../api.ts";
import type { EndpointEntry, InboxRow } from "../model.ts";
import { headerPid, type IpcContext } from "./context.ts";
import { replyCont } from "./dispatch.ts";
import { BrokerHttpError, type Route } from "./http.ts";

const KEPT_REASONS = new Set(["closed_session_continuation", "correlated_continuation"]);

export function undispatchedRoutes(ctx: IpcContext): Route[] {
  return [
    {
      method: "GET",
      pattern: "/v1/undispatched",
      allowQuery: true,
      handler: (req, reply) => {
        const { env } = ctx;
        const pid = headerPid(req.pidHeader);
        const entry = pickEndpoint(ctx, pid, req.query.get("endpoint_id") ?? undefined);
        env.api(
          "list_claim_candidates",
          { endpoint_id: entry.endpointId, endpoint_nonce: entry.nonce, limit: ctx.inbox.capacity },
          replyCont(env, reply, (r) => {
            if (!r.ok) {
              if (!r.terminal) {
                throw new BrokerHttpError(
                  503,
                  "runtime_claim_candidates_unavailable",
                  r.detail ?? "unavailable",
                  {
                    retryable: true,
                  },
                );
              }
              const status = r.status !== undefined && r.status >= 400 ? r.status : 502;
              throw new BrokerHttpError(
                status,
                r.code ?? "runtime_claim_candidates_failed",
                r.detail ?? "failed",
              );
            }
            const items = Array.isArray(r.items) ? r.items : [];
            reply.ok({ items: items.map((c) => enrich(ctx, c)) });
          }),
        );
      },
    },
  ];
}

function pickEndpoint(ctx: IpcContext, pid: number, queryId: string | undefined): EndpointEntry {
  if (queryId !== undefined && queryId.length > 0) {
    const e = ctx.registry.get(queryId);
    if (!e) throw new BrokerHttpError(404, "unknown_endpoint", `unknown endpoint ${queryId}`);
    if (e.pluginPid !== pid)
      throw new BrokerHttpError(403, "endpoint_pid_mismatch", "pid does not own this endpoint");
    if (e.state !== "active")
      throw new BrokerHttpError(409, "endpoint_not_active", `endpoint ${queryId} is ${e.state}`);
    return e;
  }
  const mine = [...ctx.registry.all()].filter((e) => e.pluginPid === pid && e.state === "active");
  if (mine.length === 0)
    throw new BrokerHttpError(409, "no_active_endpoint", `pid ${pid} has no active endpoint`);
  if (mine.length > 1)
    throw new BrokerHttpError(409, "ambiguous_endpoint", "pass endpoint_id: the pid has several");
  return mine[0]!;
}

function enrich(ctx: IpcContext, c: ClaimCandidate): Record<string, unknown> {
  const row: InboxRow | undefined =
    ctx.inbox.get(c.undispatched_id) ??
    (c.source_message_id !== undefined ? ctx.inbox.findBySource(c.source_message_id) : undefined);
  const out: Record<string, unknown> = {
    undispatched_id: c.undispatched_id,
    source_message_id: c.source_message_id ?? row?.source_message_id,
    sender_address: c.sender_address ?? row?.sender_address,
    content: row?.content ?? c.content_preview ?? "",
    content_type: row?.content_type ?? "text",
    metadata: row?.metadata ?? {},
    reason: c.reason !== undefined && KEPT_REASONS.has(c.reason) ? c.reason : "unaddressed",
    arrived_at: c.arrived_at ?? row?.arrived_at,
  };
  const pass: Array<keyof ClaimCandidate> = [
    "claim_policy",
    "active_assignment_id",
    "active_target_endpoint_id",
    "conversation_ref",
  ];
  for (const k of pass) if (c[k] !== undefined) out[k] = c[k];
  if (c.target_endpoint_id_hint !== undefined) out.original_target_endpoint_id = c.target_endpoint_id_hint;
  if (c.in_reply_to !== undefined) out.original_correlation_id = c.in_reply_to;
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}
