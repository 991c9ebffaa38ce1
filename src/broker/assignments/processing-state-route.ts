/**
 * `POST /v1/runtime/processing-state` (PROTOCOL §5.6): an adapter reports a state of one of its
 * assignments; the broker forwards it to the platform and applies the effects of §5.3.
 *
 * Theory of operation:
 * 1. Checks in the reference order: body shape (400), E404, PID, TOK (no ACT: reconnecting
 *    endpoints may report), record exists (409), record targets this endpoint (403), state not
 *    broker-owned (403 `<state>_broker_owned`, A2).
 * 2. Sequence guard (A1): the posted `state_sequence` is raised to at least `last + 1`, reserved
 *    when the post is issued. We raise rather than reject: adapters count their own states and
 *    cannot see the broker's reply_requested/target_lost posts, so a 409 would punish them for
 *    the broker's own interleaving. The planted fault `noSequenceGuard` posts the value as given.
 * 3. Effects run only after the platform took the event, on the record as it is *then*.
 *    `adapter_accepted` also takes back a message a pending restore had already put into the
 *    inbox, so an accepted assignment and an inbox row never coexist (A11).
 * 4. `adapter_accepted` and a restore's target_lost are never in flight together (acceptance.ts
 *    rule 5): an acceptance that arrives while a target_lost post is in flight is handled again,
 *    from the top, once that post settled; an acceptance in flight makes restores wait for it.
 */

import { PROCESSING_STATES, type ProcessingState, type ProcessingStateEvent } from "../api.ts";
import { BrokerHttpError, type IpcRequest, type Reply, type Route, type RouteHandler } from "../ipc/http.ts";
import type { Acceptance } from "./acceptance.ts";
import { type Ctx, postState } from "./context.ts";
import { body, guarded, optionalString, ownedEndpoint, requiredString } from "./gate.ts";
import { assignmentKey } from "./keys.ts";
import type { AssignmentRecord } from "./records.ts";

const STATES: ReadonlySet<string> = new Set<string>(PROCESSING_STATES);

/** States only the broker's own lifecycle may post (A2). */
export const BROKER_OWNED: ReadonlySet<string> = new Set([
  "assigned_to_runtime_target",
  "reply_requested",
  "reply_emitted",
]);

export function processingStateRoute(ctx: Ctx, acceptance: Acceptance): Route {
  return {
    method: "POST",
    pattern: "/v1/runtime/processing-state",
    handler: handlerFor(ctx, acceptance, false),
  };
}

/** `waited`: the request is handled again after waiting for a target_lost post (rule 4). */
function handlerFor(ctx: Ctx, acceptance: Acceptance, waited: boolean): RouteHandler {
  return guarded(ctx.env, (req: IpcRequest, reply: Reply) => handle(ctx, acceptance, req, reply, waited));
}

function handle(ctx: Ctx, acceptance: Acceptance, req: IpcRequest, reply: Reply, waited: boolean): void {
  const b = body(req);
  const sourceMessageId = requiredString(b, "source_message_id");
  const assignmentId = requiredString(b, "assignment_id");
  const state = requiredString(b, "state");
  if (!STATES.has(state)) throw new BrokerHttpError(400, "bad_request", `unknown state: ${state}`);
  const given = b.state_sequence;
  if (given !== undefined && (typeof given !== "number" || !Number.isInteger(given) || given < 0)) {
    throw new BrokerHttpError(400, "bad_request", "state_sequence must be a non-negative integer");
  }
  if (b.occurred_at !== undefined && (typeof b.occurred_at !== "number" || !Number.isFinite(b.occurred_at))) {
    throw new BrokerHttpError(400, "bad_request", "occurred_at must be a number");
  }
  if (b.retryable !== undefined && typeof b.retryable !== "boolean") {
    throw new BrokerHttpError(400, "bad_request", "retryable must be a boolean");
  }
  const optional = {
    state_event_id: optionalString(b, "state_event_id"),
    undispatched_id: optionalString(b, "undispatched_id"),
    reason_code: optionalString(b, "reason_code"),
    detail: optionalString(b, "detail"),
    reply_request_id: optionalString(b, "reply_request_id"),
    outbound_message_id: optionalString(b, "outbound_message_id"),
  };
  const entry = ownedEndpoint(ctx.deps.registry, b, false, "processing-state");
  const key = assignmentKey(sourceMessageId, assignmentId);
  const rec = ctx.store.get(key);
  if (!rec)
    throw new BrokerHttpError(
      409,
      "runtime_assignment_unknown",
      waited
        ? "the assignment was restored (target_lost_before_acceptance) before the acceptance was posted"
        : "source assignment is not known to this broker",
    );
  if (rec.context.targetRef.projection_endpoint_id !== entry.endpointId) {
    throw new BrokerHttpError(
      403,
      "runtime_assignment_target_mismatch",
      "endpoint_id does not match the assigned target",
    );
  }
  if (BROKER_OWNED.has(state)) {
    throw new BrokerHttpError(
      403,
      `${state}_broker_owned`,
      `${state} is emitted by the broker assignment lifecycle path`,
    );
  }

  const accepting = state === "adapter_accepted" && !rec.accepted;
  if (rec.resolvingAccept || (accepting && rec.restoring)) {
    ctx.env.log("info", "runtime_assignment_accept_waits_for_restore", {
      undispatched_id: rec.context.undispatchedId,
      assignment_id: assignmentId,
    });
    acceptance.afterRestore(rec, () => handlerFor(ctx, acceptance, true)(req, reply));
    return;
  }

  let seq: number;
  if (ctx.env.faults.noSequenceGuard && typeof given === "number") {
    seq = given;
  } else {
    seq = ctx.store.reserve(key, typeof given === "number" ? given : 0);
    if (typeof given === "number" && seq !== given) {
      ctx.env.log("info", "runtime_processing_state_sequence_raised", {
        assignment_id: assignmentId,
        state,
        given,
        posted: seq,
      });
    }
  }
  const event: ProcessingStateEvent = {
    type: "runtime_processing_state",
    version: 1,
    source_message_id: sourceMessageId,
    assignment_id: assignmentId,
    state_event_id: optional.state_event_id ?? `${assignmentId}:${state}:${seq}`,
    state_sequence: seq,
    target_ref: rec.context.targetRef,
    state: state as ProcessingState,
    occurred_at: typeof b.occurred_at === "number" ? b.occurred_at : ctx.env.nowMs,
    undispatched_id: optional.undispatched_id ?? rec.context.undispatchedId,
    ...(typeof b.retryable === "boolean" && { retryable: b.retryable }),
    ...(optional.reason_code !== undefined && { reason_code: optional.reason_code }),
    ...(optional.detail !== undefined && { detail: optional.detail }),
    ...(optional.reply_request_id !== undefined && { reply_request_id: optional.reply_request_id }),
    ...(optional.outbound_message_id !== undefined && { outbound_message_id: optional.outbound_message_id }),
  };
  if (accepting) acceptance.acceptStarted(rec);
  postState(ctx, event, (r) => {
    if (!r.ok) {
      // Acceptance rule 6: without a definite answer the platform may have applied it.
      // Only the record's latest post can be repeated in order (A1).
      if (
        accepting &&
        !r.terminal &&
        ctx.store.get(key) === rec &&
        !rec.accepted &&
        ctx.store.lastSequence(key) === seq
      )
        rec.ambiguousAccept = event;
      if (accepting) acceptance.acceptSettled(rec);
      reply.fail(
        r.terminal ? 409 : 503,
        "runtime_processing_state_rejected",
        r.detail ?? "runtime processing state was not accepted",
        r.assignmentFailureCategory !== undefined
          ? { assignment_failure_category: r.assignmentFailureCategory }
          : {},
      );
      return;
    }
    ctx.store.raise(key, seq);
    const current = ctx.store.get(key);
    if (current) applyEffects(ctx, acceptance, current, state, b.retryable === true);
    if (accepting) acceptance.acceptSettled(rec);
    reply.ok({ ok: true });
  });
}

function applyEffects(
  ctx: Ctx,
  acceptance: Acceptance,
  rec: AssignmentRecord,
  state: string,
  retryable: boolean,
): void {
  if (state === "adapter_accepted") {
    acceptance.markAccepted(rec);
    return;
  }
  if (
    !rec.accepted &&
    (state === "processing_failed" ||
      state === "waiting_for_runtime_capability" ||
      state === "target_lost_before_acceptance")
  ) {
    if (state === "processing_failed" && !retryable) {
      ctx.store.forget(rec.key);
      return;
    }
    acceptance.restoreBeforeAcceptance(rec, state);
    return;
  }
  if (state === "processing_failed" || state === "expired") ctx.store.forget(rec.key);
}
