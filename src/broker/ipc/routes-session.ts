/**
 * `GET /health` and `POST /v1/initialize` (PROTOCOL §3.2).
 */

import { asObject, BrokerHttpError, type Route } from "./http.ts";
import { IPC_PROTOCOL_VERSION, type IpcContext, SERVER_CAPABILITIES, SERVER_VERSION } from "./context.ts";

export function sessionRoutes(ctx: IpcContext): Route[] {
  return [
    {
      method: "GET",
      pattern: "/health",
      allowQuery: true,
      handler: (_req, reply) =>
        reply.ok({
          ok: true,
          version: SERVER_VERSION,
          protocol_version: IPC_PROTOCOL_VERSION,
          capabilities: { ...SERVER_CAPABILITIES },
        }),
    },
    {
      method: "POST",
      pattern: "/v1/initialize",
      handler: (req, reply) => {
        const body = asObject(req.body);
        const version = body.client_protocol_version;
        const kind = body.client_kind;
        if (typeof version !== "string" || version.length === 0) {
          throw new BrokerHttpError(400, "bad_request", "client_protocol_version must be a string");
        }
        if (typeof kind !== "string" || kind.length === 0) {
          throw new BrokerHttpError(400, "bad_request", "client_kind must be a non-empty string");
        }
        if (version.split(".")[0] !== IPC_PROTOCOL_VERSION.split(".")[0]) {
          throw new BrokerHttpError(
            400,
            "protocol_version_mismatch",
            `unsupported protocol version ${version}`,
            {
              server_protocol_version: IPC_PROTOCOL_VERSION,
            },
          );
        }
        reply.ok({
          server_version: SERVER_VERSION,
          server_protocol_version: IPC_PROTOCOL_VERSION,
          server_capabilities: { ...SERVER_CAPABILITIES },
          session_id: ctx.env.random.uuid(),
          network_presence: ctx.presence.state,
        });
      },
    },
  ];
}
