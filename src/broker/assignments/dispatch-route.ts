/**
 * `POST /v1/dispatch` (PROTOCOL §3.2): a local operator dispatch. It synthesises a
 * `dispatch_undispatched` event (key `local-<uuid>`, a random projection token, the row's source
 * message id, a target ref derived from the endpoint) and runs it through the control dispatcher;
 * any failure is 400 `dispatch_failed` with the handler's detail.
 */

import { BrokerHttpError, type IpcRequest, type Reply, type Route } from "../ipc/http.ts";
import type { ControlDispatcher } from "./control-dispatcher.ts";
import type { Ctx } from "./context.ts";
import { body, guarded } from "./gate.ts";

export function dispatchRoute(ctx: Ctx, control: ControlDispatcher): Route {
  return {
    method: "POST",
    pattern: "/v1/dispatch",
    handler: guarded(ctx.env, (req: IpcRequest, reply: Reply) => {
      const b = body(req);
      const uid = typeof b.undispatched_id === "string" ? b.undispatched_id : undefined;
      const tid = typeof b.target_endpoint_id === "string" ? b.target_endpoint_id : undefined;
      if (!uid || !tid) {
        throw new BrokerHttpError(
          400,
          "dispatch_body_invalid",
          "POST /v1/dispatch requires { undispatched_id, target_endpoint_id }",
        );
      }
      const { env, deps } = ctx;
      const row = deps.inbox.get(uid);
      const target = deps.registry.get(tid);
      const adapterTurn =
        target?.backgroundExchangeMode === "adapter_managed_turn" && target.runtimeSessionId;
      const raw = {
        type: "dispatch_undispatched",
        version: 1,
        idempotency_key: `local-${env.random.uuid()}`,
        emitted_at: env.nowMs,
        undispatched_id: uid,
        source_message_id: row?.source_message_id ?? uid,
        target_ref: adapterTurn
          ? {
              kind: "projection_endpoint",
              projection_endpoint_id: tid,
              runtime_session_id: target.runtimeSessionId,
              background_exchange_mode: "adapter_managed_turn",
            }
          : {
              kind: "projection_endpoint",
              projection_endpoint_id: tid,
              background_exchange_mode: "resident_endpoint",
            },
        delivery_intent: "external_handoff",
        broker_projection_token: env.random.uuid(),
      };
      control.dispatch({ type: raw.type, version: 1, idempotency_key: raw.idempotency_key, raw }, (r) => {
        if (r.ok) reply.ok({ ok: true });
        else reply.fail(400, "dispatch_failed", r.detail);
      });
    }),
  };
}
