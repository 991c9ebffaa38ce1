/**
 * The inbox destination of an inbound task (PROTOCOL §1.6, §1.8).
 *
 * Theory of operation:
 * 1. A message bound to a live runtime assignment is not added again: the platform has its row and
 *    the assignment has the message, so the task counts as accepted (deviation A11).
 * 2. Otherwise the row takes an inbox slot (the one the task reserved before a closed-endpoint
 *    lookup, if any, so slots go in arrival order: deviation L1); a full inbox ends the task not
 *    accepted.
 * 3. The row is written to the inbox journal before its `undispatched_changed add` is posted
 *    (deviation L9): a failed write ends the task not accepted, and a row a dispatch took while the
 *    write was in flight is not announced again (the task counts as accepted).
 * 4. The add post decides: ok ⇒ accepted; `undispatched_row_settled` ⇒ the platform already saw
 *    the message handled, the row leaves and the task counts as accepted (deviation L1); any other
 *    failure ⇒ not accepted (an unsequenced message's add is queued on the undispatched emitter).
 * 5. A redelivery of a message this process surfaced from a dead endpoint's buffer stays an inbox
 *    message (deviation L5): its row is overwritten and announced again, or, if it was dispatched
 *    meanwhile, the surfaced add was its outcome.
 */

import { UNDISPATCHED_ROW_SETTLED, type UndispatchedChangedEvent } from "../api.ts";
import type { InboxRow } from "../model.ts";
import type { InboundTask, InboxReason, Msg, PipelineDeps, Tasks } from "./task.ts";
import { preview, traceIdOf } from "./trace.ts";

export class InboxDestination {
  constructor(
    private readonly d: PipelineDeps,
    private readonly tasks: Tasks,
  ) {}

  /** Rule 5. */
  alreadySurfaced(task: InboundTask, msg: Msg, messageId: string): void {
    const row = this.d.inbox.get(messageId);
    this.d.env.log("info", "inbound_already_surfaced", {
      message_id: messageId,
      seq: task.seq,
      in_inbox: !!row,
    });
    if (row) {
      this.add(task, msg, row.reason, row.original_target_endpoint_id);
      return;
    }
    this.tasks.accepted(task);
  }

  /**
   * Rule 2: hold a slot for a task whose inbox row is only added after the lookup. A row that
   * already exists under the message id will be overwritten (always possible), so it needs none.
   */
  reserveSlot(task: InboundTask): boolean {
    const { inbox, env } = this.d;
    if (task.messageId !== undefined && inbox.has(task.messageId)) return true;
    task.reservation = inbox.reserve();
    if (task.reservation) return true;
    env.log("warn", "undispatched_inbox_at_capacity", {
      id: task.messageId,
      capacity: inbox.capacity,
      reserved: inbox.reserved,
      seq: task.seq,
      before: "closed_endpoint_lookup",
    });
    this.tasks.finish(task, false);
    return false;
  }

  /**
   * Rule 1: a message bound to a live assignment ends its task accepted, with no new destination.
   * The pipeline asks before routing too (the message goes to no endpoint either), and `add` asks
   * again because the binding may have come while the task waited for a lookup.
   */
  skipIfBound(task: InboundTask): boolean {
    if (task.messageId === undefined || this.d.boundToAssignment?.(task.messageId) !== true) return false;
    this.d.env.log("info", "undispatched_row_bound_skip", { id: task.messageId, seq: task.seq });
    this.tasks.accepted(task);
    return true;
  }

  add(task: InboundTask, msg: Msg, reason: InboxReason, hint: string | undefined): void {
    const { env, inbox } = this.d;
    if (this.skipIfBound(task)) return;
    const f = msg.frame;
    const id = task.messageId ?? env.random.uuid();
    const row: InboxRow = {
      id,
      arrived_at: env.iso(),
      sender_address: f.from,
      content: f.content,
      content_type: f.contentType,
      metadata: msg.metadata,
      reason,
    };
    if (task.messageId !== undefined) row.source_message_id = task.messageId;
    if (hint !== undefined) row.original_target_endpoint_id = hint;
    if (msg.keys.correlationId !== undefined) row.original_correlation_id = msg.keys.correlationId;
    // A new row without a reserved slot reserves one now: an inbound reservation may use a slot
    // kept for inbound, and a refused one tells the reinsertion queue that inbound waits.
    const reservation = task.reservation ?? (inbox.has(id) ? undefined : inbox.reserve());
    task.reservation = undefined;
    let durable: boolean | undefined;
    let announce: (() => void) | undefined;
    const added = inbox.tryAdd(
      row,
      reservation,
      this.tasks.cont(task, (ok: boolean) => {
        durable = ok;
        announce?.();
      }),
    );
    if (!added) {
      env.log("warn", "undispatched_inbox_at_capacity", {
        id,
        capacity: inbox.capacity,
        reserved: inbox.reserved,
        seq: task.seq,
      });
      this.tasks.finish(task, false);
      return;
    }
    env.log("info", "undispatched_added", { id, reason, seq: task.seq });
    // Rule 3: the row is on disk before the platform hears of it, so before its seq can be acked.
    announce = () => {
      if (durable === false) {
        env.log("warn", "undispatched_inbox_persist_failed", { id, seq: task.seq });
        this.tasks.finish(task, false);
        return;
      }
      // A dispatch took the row while it was being written: the platform knew the row already
      // (it dispatched it), so the message is where rule 1 would find it. Announcing it now would
      // tell the platform the broker holds it undispatched again, and the platform would dispatch
      // a row that is gone.
      // Only a row an assignment holds, or one that left the inbox for good, is safe: a row held by
      // nobody (a failed dispatch puts its row back, so only a planted fault leaves one) ends the
      // task not accepted, and the redelivery adds the row again (S1).
      if (!this.d.inbox.has(id)) {
        if (this.d.boundToAssignment?.(id) === true || this.d.inbox.departed(id)) {
          env.log("info", "undispatched_row_taken_while_persisting", { id, seq: task.seq });
          this.tasks.accepted(task);
        } else {
          env.log("warn", "undispatched_row_lost_while_persisting", { id, seq: task.seq });
          this.tasks.finish(task, false);
        }
        return;
      }
      this.announce(task, msg, id, reason, hint);
    };
    if (durable !== undefined) announce();
  }

  /** Rule 4. */
  private announce(
    task: InboundTask,
    msg: Msg,
    id: string,
    reason: InboxReason,
    hint: string | undefined,
  ): void {
    const { env } = this.d;
    const f = msg.frame;
    const event: UndispatchedChangedEvent = {
      type: "undispatched_changed",
      version: 1,
      action: "add",
      undispatched_id: id,
      sender_address: f.from,
      content_preview: preview(f.content, env.opts.contentPreviewMaxChars),
      reason: reason === "unaddressed" ? "no_target_endpoint" : reason,
      traceparent: msg.traceparent,
      traceId: traceIdOf(msg.traceparent),
      arrived_at: env.nowMs,
    };
    if (task.messageId !== undefined) event.source_message_id = task.messageId;
    if (hint !== undefined) event.target_endpoint_id_hint = hint;
    if (msg.keys.correlationId !== undefined) event.in_reply_to = msg.keys.correlationId;
    env.api(
      "undispatched_changed",
      event,
      this.tasks.cont(task, (r) => {
        if (r.ok) return this.tasks.accepted(task);
        if (r.terminal && r.code === UNDISPATCHED_ROW_SETTLED) return this.settledRow(task, id);
        env.log("warn", "undispatched_changed_direct_post_failed", {
          id,
          status: r.status,
          terminal: r.terminal,
        });
        if (task.seq === undefined && !r.terminal) this.d.undispatchedEmitter.enqueue(event);
        this.tasks.finish(task, false);
      }),
    );
  }

  /**
   * Rule 4, `undispatched_row_settled`: the redelivery of a message the platform dispatched and saw
   * handled (before a broker crash, typically). Like a route-claim `skip`, the message counts as
   * handled; the row leaves the inbox, because the platform will never dispatch it and rows do not
   * expire (§1.6).
   */
  private settledRow(task: InboundTask, id: string): void {
    this.d.inbox.drop(id);
    this.d.env.log("info", "undispatched_row_settled_skip", { id, seq: task.seq });
    this.tasks.accepted(task);
  }
}
