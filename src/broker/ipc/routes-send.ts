/**
 * `POST /v1/send` (PROTOCOL §3.2, §2.7, §1.10).
 *
 * The plugin may not choose `correlation_id` or `target_endpoint_id`, and may only name itself as
 * `source_endpoint_id`. The broker issues the correlation id: `metadata.in_reply_to` is honoured
 * when it resolves to the sending endpoint within the reply-correlation TTL, otherwise a fresh UUID
 * is used (`reply_aware_fallback`). The id joins the sender's correlation ring before the frame is
 * written, so a reply that races the SEND_ACK still routes back.
 */

import { isValidTraceparent, freshTraceparent } from "../inbound/trace.ts";
import { type IpcContext, requireEntry } from "./context.ts";
import { replyCont } from "./dispatch.ts";
import { asObject, BrokerHttpError, optRecord, optString, reqString, type Route } from "./http.ts";
import type { SendResult } from "../model.ts";

export function sendRoutes(ctx: IpcContext): Route[] {
  return [
    {
      method: "POST",
      pattern: "/v1/send",
      handler: (req, reply) => {
        const { env, registry, connector, correlations } = ctx;
        const body = asObject(req.body);
        const endpointId = reqString(body, "endpoint_id");
        const to = reqString(body, "to");
        const content = body.content;
        if (typeof content !== "string")
          throw new BrokerHttpError(400, "bad_request", "content must be a string");
        const contentType = optString(body, "content_type") ?? optString(body, "contentType") ?? "text";
        const metadataIn = optRecord(body, "metadata") ?? {};
        const requireLive = body.require_live;
        if (requireLive !== undefined && requireLive !== null && typeof requireLive !== "boolean") {
          throw new BrokerHttpError(400, "bad_request", "require_live must be a boolean");
        }
        if (metadataIn.correlation_id !== undefined) {
          throw new BrokerHttpError(
            400,
            "correlation_id_forbidden",
            "correlation_id is issued by the broker",
          );
        }
        if (metadataIn.target_endpoint_id !== undefined) {
          throw new BrokerHttpError(400, "target_endpoint_id_forbidden", "target_endpoint_id may not be set");
        }
        if (metadataIn.source_endpoint_id !== undefined && metadataIn.source_endpoint_id !== endpointId) {
          throw new BrokerHttpError(
            403,
            "source_endpoint_id_mismatch",
            "source_endpoint_id must be the sender",
          );
        }
        const entry = requireEntry(ctx, endpointId);
        if (entry.state !== "active") {
          throw new BrokerHttpError(409, "endpoint_not_active", `endpoint ${endpointId} is ${entry.state}`);
        }
        const inReplyTo = metadataIn.in_reply_to;
        let correlationId: string;
        if (typeof inReplyTo === "string" && correlations.ownerOf(inReplyTo) === endpointId) {
          correlationId = inReplyTo;
        } else {
          correlationId = env.random.uuid();
          if (inReplyTo !== undefined) env.log("info", "reply_aware_fallback", { endpoint_id: endpointId });
        }
        registry.ringAdd(endpointId, correlationId);
        const metadata: Record<string, unknown> = {
          ...metadataIn,
          traceparent: isValidTraceparent(metadataIn.traceparent)
            ? metadataIn.traceparent
            : freshTraceparent(env.random),
          correlation_id: correlationId,
          source_endpoint_id: endpointId,
          require_live: requireLive === true,
        };
        connector.send(
          { to, content, contentType, metadata },
          replyCont(env, reply, (r: SendResult) => {
            if (r.ok) return reply.ok({ messageId: r.messageId, status: r.status });
            if (r.error === "unavailable") {
              return reply.fail(503, "connector_unavailable", "the connector is not connected", {
                retryable: true,
              });
            }
            if (r.error === "outcome_unknown") {
              return reply.fail(503, "connector_send_outcome_unknown", r.detail, {
                retryable: false,
                outcome_unknown: true,
              });
            }
            reply.fail(502, "connector_send_rejected", r.detail, { reason_code: r.code });
          }),
        );
      },
    },
  ];
}
