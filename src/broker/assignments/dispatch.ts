/**
 * The `dispatch_undispatched` handler (PROTOCOL §5.2.1): bind an inbox row to a target endpoint
 * as a runtime assignment and hand it over.
 *
 * Theory of operation:
 * 1. Checks that need no platform answer run first; each failure after the row was taken from the
 *    inbox puts it back (`putBack`: re-add, or an `undispatched_changed` remove when full — A10).
 * 2. `assigned_to_runtime_target` is posted with the projection token and a reserved sequence
 *    (1 for a fresh key). While it is in flight the row is *held* by this dispatch (listed by
 *    `holding`), so nothing else can take it and a checker can still account for it.
 * 3. Only an ok post creates/updates the record, arms the acceptance deadline and pushes (with
 *    receipt) or appends to the target's buffer. A failed hand-off restores the target's pending
 *    assignments (§5.5) and fails the event.
 * 4. A re-dispatch of a non-accepted record reuses its message; if the record was restored,
 *    accepted or forgotten while the post was in flight, the dispatch fails without a push: the
 *    row already belongs to whoever overtook it.
 * 5. A row that is the restored copy of a live assignment (target_lost not yet confirmed) is not
 *    handed out again, not even to the same key (a replayed dispatch event): one message, one live
 *    binding (A11). Taking the copy under the same key would hold the row while the record's
 *    restore settles or the adapter's late acceptance takes it back, and the late `assigned`
 *    answer would then bind a message whose assignment was already accepted or finished.
 * 6. A dispatch of a row that is not in the inbox but held by another assignment (its dispatch in
 *    flight, or its live record) fails with "bound to assignment <id>" rather than the reference's
 *    "unknown undispatched_id" (docs/deviations.md): unknown means the broker does not hold it.
 *    A row that left the inbox for good (inbound/inbox.ts point 3a) fails with "already left the
 *    inbox", also after a restart.
 */

import type { EndpointEntry, InboxRow } from "../model.ts";
import type { PushEnvelope, RuntimeAssignmentRef, TargetRef } from "../types.ts";
import type { Acceptance } from "./acceptance.ts";
import { brokerEvent, type Ctx, postState, putBack } from "./context.ts";
import type { DispatchEvent } from "./events.ts";
import { assignmentKey, KEY_SEP, traceIdOf } from "./keys.ts";
import { type AssignmentRecord, newRecord } from "./records.ts";

export type HandlerOutcome = { ok: true } | { ok: false; detail: string };
export type Done = (r: HandlerOutcome) => void;

export class Dispatcher {
  /** Rows taken from the inbox whose `assigned` post is in flight, by assignment key. */
  readonly holding = new Map<string, InboxRow>();

  constructor(
    private readonly ctx: Ctx,
    private readonly acceptance: Acceptance,
  ) {}

  dispatch(ev: DispatchEvent, done: Done) {
    const { deps } = this.ctx;
    if (!ev.broker_projection_token) {
      return done({ ok: false, detail: "dispatch broker_projection_token missing" });
    }
    const targetId = ev.target_ref?.projection_endpoint_id ?? ev.target_endpoint_id;
    if (!targetId) return done({ ok: false, detail: "dispatch target_ref missing" });
    const key = assignmentKey(ev.source_message_id, ev.idempotency_key);
    if (this.holding.has(key))
      return done({ ok: false, detail: "dispatch already in progress for this key" });
    const existing = this.ctx.store.get(key);
    const restoring = this.restoringOwner(ev.undispatched_id);
    if (restoring) {
      // The row in the inbox is the restored copy of another assignment whose target_lost the
      // platform has not confirmed; that assignment may still be accepted. Handing the row to a
      // second assignment now could bind one message twice (A11), so the platform retries later.
      return done({
        ok: false,
        detail: `undispatched_id ${ev.undispatched_id} is still bound to assignment ${restoring.context.assignmentId} (restore pending)`,
      });
    }
    let row = deps.inbox.take(ev.undispatched_id);
    const fromInbox = row !== undefined;
    if (
      !row &&
      existing &&
      !existing.accepted &&
      existing.context.undispatchedId === ev.undispatched_id &&
      existing.context.targetRef.projection_endpoint_id === targetId
    ) {
      row = existing.message;
    }
    if (!row) {
      const owner = this.boundOwner(ev.undispatched_id);
      // Rule 6: a row another assignment holds is known, not lost; "unknown" is kept for rows this
      // broker does not hold at all, so the platform can tell a busy row from a lost one.
      if (owner !== undefined) {
        return done({
          ok: false,
          detail: `undispatched_id ${ev.undispatched_id} is bound to assignment ${owner}`,
        });
      }
      if (deps.inbox.departed(ev.undispatched_id)) {
        return done({
          ok: false,
          detail: `undispatched_id ${ev.undispatched_id} already left the inbox (handed off or settled)`,
        });
      }
      return done({ ok: false, detail: `unknown undispatched_id: ${ev.undispatched_id}` });
    }
    // A row re-used from a live record is not ours to put back: the record still owns it.
    const fail = (detail: string) => {
      if (fromInbox) putBack(this.ctx, row, detail);
      done({ ok: false, detail });
    };
    if (row.source_message_id === undefined) return fail("dispatch source_message_id missing from inbox row");
    if (row.source_message_id !== ev.source_message_id) {
      return fail(`source_message_id mismatch: ${ev.source_message_id}`);
    }
    const target = deps.registry.get(targetId);
    if (!target) return fail(`target endpoint not found: ${targetId}`);
    const targetRef = ev.target_ref ?? deriveTargetRef(target);
    if (!targetRef || !targetMatches(target, targetRef)) {
      return fail(`target endpoint is not background-exchange capable: ${targetId}`);
    }
    const context: RuntimeAssignmentRef = {
      undispatchedId: ev.undispatched_id,
      sourceMessageId: ev.source_message_id,
      assignmentId: ev.idempotency_key,
      targetRef,
      deliveryIntent: "external_handoff",
    };
    const corr = row.metadata.correlation_id;
    if (typeof corr === "string" && corr.length > 0) context.replyCorrelationId = corr;
    const traceId = traceIdOf(row.metadata);
    if (traceId !== undefined) context.originalTraceId = traceId;

    const event = brokerEvent(
      this.ctx,
      { key, context },
      "assigned_to_runtime_target",
      `${ev.idempotency_key}:assigned`,
      {
        occurred_at: ev.emitted_at,
        broker_projection_token: ev.broker_projection_token,
      },
    );
    const taken = row;
    if (fromInbox) this.holding.set(key, taken);
    postState(this.ctx, event, (r) => {
      if (fromInbox) this.holding.delete(key);
      if (!r.ok) {
        this.ctx.env.log("warn", "runtime_processing_state_emit_failed", {
          undispatched_id: ev.undispatched_id,
          source_message_id: ev.source_message_id,
          target_endpoint_id: targetId,
          status: r.status,
          terminal: r.terminal,
          detail: r.detail,
        });
        return fail(r.detail ?? "runtime_processing_state_assignment_failed");
      }
      const current = this.ctx.store.get(key);
      if (!fromInbox && (current !== existing || !current || current.accepted || current.restoring)) {
        return done({ ok: false, detail: "assignment changed while dispatching" });
      }
      const rec = this.bind(key, current, context, taken, ev.broker_projection_token!, ev.emitted_at);
      this.handOff(rec, targetId, done);
    });
  }

  /** The assignment id of a dispatch in flight or a live record that holds `undispatchedId`. */
  private boundOwner(undispatchedId: string): string | undefined {
    for (const [key, row] of this.holding) {
      if (row.id === undispatchedId) return key.slice(key.indexOf(KEY_SEP) + 1);
    }
    for (const r of this.ctx.store.values()) {
      if (r.context.undispatchedId === undispatchedId) return r.context.assignmentId;
    }
    return undefined;
  }

  /** A live record (of any key) whose restored copy of `undispatchedId` sits in the inbox. */
  private restoringOwner(undispatchedId: string): AssignmentRecord | undefined {
    for (const r of this.ctx.store.values()) {
      if (r.inInbox && r.context.undispatchedId === undispatchedId) return r;
    }
    return undefined;
  }

  private bind(
    key: string,
    current: AssignmentRecord | undefined,
    context: RuntimeAssignmentRef,
    message: InboxRow,
    token: string,
    assignedAtMs: number,
  ): AssignmentRecord {
    const rec: AssignmentRecord = current ?? newRecord(key, context, message, assignedAtMs);
    rec.context = context;
    rec.message = message;
    rec.token = token;
    rec.assignedAtMs = assignedAtMs;
    rec.generation++;
    // The row came out of the inbox (or never went back): it is bound to this record again.
    rec.inInbox = false;
    this.ctx.store.set(rec);
    this.acceptance.arm(rec);
    return rec;
  }

  private handOff(rec: AssignmentRecord, targetId: string, done: Done) {
    const { deps, env } = this.ctx;
    const target = deps.registry.get(targetId);
    if (!target) {
      // The endpoint left while the post was in flight: same path as any endpoint loss.
      this.acceptance.restoreOne(rec, "endpoint_lost");
      return done({ ok: false, detail: `target endpoint lost while dispatching: ${targetId}` });
    }
    const envelope = stamp(rec);
    const generation = rec.generation;
    if (target.state === "active") {
      deps.channels.pushMessage(target.channel, envelope, (received) => {
        const live = this.ctx.store.get(rec.key) === rec && rec.generation === generation;
        if (!received) {
          if (rec.accepted) {
            env.log("info", "ipc_push_ack_missing_after_adapter_accept", {
              assignment_id: rec.context.assignmentId,
              target_endpoint_id: targetId,
            });
          } else if (!live) {
            // Restored (or re-dispatched) while the push was in flight: that path owns the row now.
            return done({ ok: false, detail: `assignment restored while pushing: ${targetId}` });
          } else {
            this.acceptance.restoreEndpoint(targetId, "ipc_push_not_received");
            return done({
              ok: false,
              detail: `target endpoint did not acknowledge push receipt: ${targetId}`,
            });
          }
        } else if (live) {
          rec.delivered = true;
        }
        const corr = rec.message.metadata.correlation_id;
        if (typeof corr === "string" && corr.length > 0) deps.correlations.record(corr, targetId);
        this.dispatched(rec, target);
        done({ ok: true });
      });
      return;
    }
    deps.buffers.append(targetId, env.random.uuid(), envelope, (ok) => {
      if (!ok) {
        this.acceptance.restoreEndpoint(targetId, "reconnecting_buffer_failed");
        return done({ ok: false, detail: `reconnecting buffer append failed: ${targetId}` });
      }
      if (this.ctx.store.get(rec.key) === rec && rec.generation === generation) rec.delivered = true;
      this.dispatched(rec, target);
      done({ ok: true });
    });
  }

  /** The target has the message: the row's removal may be recorded in the inbox journal. */
  private dispatched(rec: AssignmentRecord, target: EndpointEntry): void {
    this.ctx.deps.inbox.settle(rec.context.undispatchedId);
    this.ctx.env.log("info", "undispatched_dispatched", {
      undispatched_id: rec.context.undispatchedId,
      target_endpoint_id: target.endpointId,
      target_state: target.state,
    });
  }
}

function stamp(rec: AssignmentRecord): PushEnvelope {
  const m = rec.message;
  return {
    from: m.sender_address,
    content: m.content,
    contentType: m.content_type,
    metadata: {
      ...m.metadata,
      dispatched_from: rec.context.undispatchedId,
      delivery_intent: "external_handoff",
    },
    sourceMessageId: rec.context.sourceMessageId,
    runtimeAssignment: rec.context,
  };
}

/** The target ref an endpoint's registration implies, or undefined when it cannot take one. */
export function deriveTargetRef(entry: EndpointEntry): TargetRef | undefined {
  if (entry.backgroundExchangeMode === "resident_endpoint") {
    return {
      kind: "projection_endpoint",
      projection_endpoint_id: entry.endpointId,
      background_exchange_mode: "resident_endpoint",
    };
  }
  if (entry.backgroundExchangeMode === "adapter_managed_turn" && entry.runtimeSessionId) {
    return {
      kind: "projection_endpoint",
      projection_endpoint_id: entry.endpointId,
      background_exchange_mode: "adapter_managed_turn",
      runtime_session_id: entry.runtimeSessionId,
    };
  }
  return undefined;
}

function targetMatches(entry: EndpointEntry, ref: TargetRef): boolean {
  if (!entry.capabilities.includes("background_exchange_v1")) return false;
  if (entry.backgroundExchangeMode !== ref.background_exchange_mode) return false;
  if (
    ref.background_exchange_mode === "adapter_managed_turn" &&
    entry.runtimeSessionId !== ref.runtime_session_id
  ) {
    return false;
  }
  return true;
}
