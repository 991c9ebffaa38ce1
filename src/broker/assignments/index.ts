/**
 * The assignments component: control events, runtime assignments, processing states and
 * idempotent replies (PROTOCOL §1.12, §5 without §5.2.2/§5.2.3). The composition root calls
 * `createAssignments` once and wires the returned routes, control-event input and hooks.
 *
 * Module map: control-dispatcher.ts (de-dup + acks), events.ts (event shapes), dispatch.ts
 * (§5.2.1), acceptance.ts (§5.5), processing-state-route.ts (§5.6), replies.ts + reply-route.ts
 * (§5.7, §5.8), dispatch-route.ts (POST /v1/dispatch), records.ts (records + sequence book).
 */

import type { Env } from "../env.ts";
import type { AssignmentDeps, AssignmentsComponent } from "../model.ts";
import { Acceptance } from "./acceptance.ts";
import { ControlDispatcher } from "./control-dispatcher.ts";
import type { Ctx } from "./context.ts";
import { Dispatcher } from "./dispatch.ts";
import { dispatchRoute } from "./dispatch-route.ts";
import { parseDispatch } from "./events.ts";
import { processingStateRoute } from "./processing-state-route.ts";
import { RecordStore } from "./records.ts";
import { Replies } from "./replies.ts";
import { replyRoute } from "./reply-route.ts";

export function createAssignments(env: Env, deps: AssignmentDeps): AssignmentsComponent {
  // Sequences of forgotten keys are remembered as long as a failed dispatch of that key may be
  // retried by the platform inside the de-duplication window (see records.ts, rule 3).
  const store = new RecordStore(env, env.opts.controlIdempotencyRingMax);
  const ctx: Ctx = { env, deps, store };
  const acceptance = new Acceptance(ctx);
  const dispatcher = new Dispatcher(ctx, acceptance);
  const replies = new Replies(ctx);
  const control = new ControlDispatcher(env);

  control.on("dispatch_undispatched", (ev, done) => {
    const parsed = parseDispatch(ev, env.nowMs);
    if (!parsed.ok) return done(parsed);
    dispatcher.dispatch(parsed.value, done);
  });
  control.on("force_unregister", (ev, done) => {
    const id = ev.raw.endpoint_id;
    if (typeof id !== "string" || id.length === 0) {
      return done({ ok: false, detail: "malformed force_unregister: endpoint_id is required" });
    }
    if (!deps.registry.get(id)) return done({ ok: true });
    env.log("info", "force_unregister_received", { endpoint_id: id, reason: ev.raw.reason });
    deps.unregisterEndpoint(id);
    done({ ok: true });
  });
  control.on("dispatch_nudge", (ev, done) => {
    env.log("info", "dispatch_nudge_received", {
      undispatched_id: ev.raw.undispatched_id,
      target_endpoint_id: ev.raw.target_endpoint_id,
    });
    done({ ok: true });
  });

  return {
    routes: [replyRoute(ctx, replies), processingStateRoute(ctx, acceptance), dispatchRoute(ctx, control)],
    onControlEvent: (event) => control.onControlEvent(event),
    onEndpointRemoved(endpointId, reason) {
      acceptance.restoreEndpoint(endpointId, reason || "endpoint_lost");
    },
    onShutdown() {
      replies.flushOnShutdown();
      const endpoints = new Set<string>();
      for (const r of store.values()) endpoints.add(r.context.targetRef.projection_endpoint_id);
      for (const id of endpoints) acceptance.restoreEndpoint(id, "broker_shutdown");
      if (store.size > 0) env.log("warn", "runtime_assignments_dropped_on_shutdown", { size: store.size });
      for (const r of [...store.values()]) store.forget(r.key);
    },
    *records() {
      for (const r of store.values()) {
        yield {
          key: r.key,
          assignmentId: r.context.assignmentId,
          undispatchedId: r.context.undispatchedId,
          targetEndpointId: r.context.targetRef.projection_endpoint_id,
          accepted: r.accepted,
          lastStateSequence: store.lastSequence(r.key),
        };
      }
    },
    liveUndispatchedIds() {
      const out: string[] = [];
      for (const r of store.values()) if (r.delivered) out.push(r.context.undispatchedId);
      return out;
    },
    heldUndispatchedIds() {
      return [...dispatcher.holding.values()].map((row) => row.id);
    },
    isBound(undispatchedId) {
      for (const r of store.values()) if (r.context.undispatchedId === undispatchedId) return true;
      for (const row of dispatcher.holding.values()) if (row.id === undispatchedId) return true;
      return false;
    },
  };
}
