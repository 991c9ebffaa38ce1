/**
 * Acceptance timeouts and the restore routine (PROTOCOL §5.5).
 *
 * Theory of operation:
 * 1. Every non-staged record gets an `acceptance` deadline (its source message and assignment ids)
 *    when it is created. When it fires for
 *    a still-unaccepted record, every unaccepted assignment of the same target is restored.
 * 2. Restoring = put the message back into the inbox, then post `target_lost_before_acceptance`;
 *    the record is forgotten once the platform took that event. If the inbox is full, the record
 *    is kept and waits in the reinsertion queue (reinsert-queue.ts), which gets the next freed
 *    slot ahead of new inbound rows; the deadline is re-armed too, as a safety retry. So the
 *    message is never dropped (A10). If the post fails, the record and the inbox row coexist
 *    until the next attempt (the re-armed deadline).
 * 3. One target_lost post per record at a time (`restoring`). When it lands, the platform's view
 *    wins: ok ⇒ the assignment is over even if the adapter accepted meanwhile (the row is in the
 *    inbox); failed ⇒ an acceptance that arrived meanwhile wins and the row is taken back out of
 *    the inbox (A11). A re-dispatch of the same key while the post was in flight is a newer
 *    binding and keeps the record.
 * 4. The same routine serves endpoint removal, push failure, buffer failure and shutdown; only the
 *    reason differs. The target_lost sequence is reserved like every other (A1), not the constant
 *    2 of the reference package (see docs/deviations.md).
 * 5. `adapter_accepted` and `target_lost_before_acceptance` are never in flight together for one
 *    record, because the platform may apply them in either order and only one order re-queues the
 *    row (a target_lost applied after an acceptance leaves the platform's row assigned while ours
 *    sits in the inbox for good). So: a restore that falls due while an `adapter_accepted` post is
 *    in flight is deferred until that post's outcome is known (ok ⇒ accepted, no restore; failure
 *    ⇒ restore now), and an `adapter_accepted` request that arrives while a target_lost post is in
 *    flight waits for it (`afterRestore`): ok ⇒ the assignment is gone and the adapter gets 409
 *    `runtime_assignment_unknown`; failure ⇒ the acceptance is posted and wins (rule 3).
 * 6. An `adapter_accepted` post that failed without a definite answer (a timeout, a 5xx: the
 *    platform may have applied it) leaves the acceptance ambiguous, and rule 5 alone would then
 *    restore: a target_lost applied after that acceptance leaves the platform's row assigned to an
 *    accepted assignment while ours sits in the inbox for good (a 1-slot inbox wedges). So a
 *    restore of such a record first re-posts the same event (same `state_event_id` and sequence,
 *    which the platform takes as an idempotent retry) and waits for a definite answer, retrying a
 *    transient failure after the emitter backoff: ok ⇒ the assignment is accepted, no restore;
 *    terminal ⇒ the restore runs.
 */

import type { InboxReservation } from "../inbound/inbox.ts";
import { brokerEvent, type Ctx, type PostOutcome, postState } from "./context.ts";
import { assignmentKey } from "./keys.ts";
import { type AssignmentRecord, acceptDeadline } from "./records.ts";
import { type ReinsertKind, ReinsertQueue } from "./reinsert-queue.ts";

export class Acceptance {
  private readonly queue: ReinsertQueue;
  /** The records whose ambiguous acceptance waits for its next re-post (rule 6), by record key. */
  private readonly resolveRetries = new Map<
    string,
    { rec: AssignmentRecord; reason: string; attempt: number }
  >();

  constructor(private readonly ctx: Ctx) {
    this.queue = new ReinsertQueue(ctx, (entry, reservation) => {
      if (entry.kind === "restore") this.restoreOne(entry.rec, entry.reason, reservation);
      else this.restoreBeforeAcceptance(entry.rec, entry.reason, reservation);
    });
    // A row bounced straight back by its taker gets its slot back ahead of the queue.
    ctx.reclaimInboxSlot = () => this.queue.reclaim();
    ctx.env.onDeadline("acceptance", (d) => this.onTimeout(assignmentKey(d.sourceMessageId, d.assignmentId)));
    ctx.env.onDeadline("accept_resolve", (d) =>
      this.onResolveRetry(assignmentKey(d.sourceMessageId, d.assignmentId)),
    );
  }

  /** Arm the acceptance deadline unless one is armed, the record is accepted, or timeouts are off. */
  arm(rec: AssignmentRecord): void {
    const { env } = this.ctx;
    if (env.opts.acceptanceTimeoutMs <= 0 || rec.accepted) return;
    const deadline = acceptDeadline(rec.context);
    if (env.isArmed(deadline)) return;
    env.arm(deadline, env.opts.acceptanceTimeoutMs);
  }

  private onTimeout(key: string): void {
    const rec = this.ctx.store.get(key);
    if (!rec || rec.accepted) return;
    this.ctx.env.log("warn", "runtime_assignment_acceptance_timeout", {
      undispatched_id: rec.context.undispatchedId,
      source_message_id: rec.context.sourceMessageId,
      target_endpoint_id: rec.context.targetRef.projection_endpoint_id,
    });
    this.restoreEndpoint(rec.context.targetRef.projection_endpoint_id, "adapter_acceptance_timeout");
  }

  /** Restore every unaccepted assignment targeting `endpointId`. */
  restoreEndpoint(endpointId: string, reason: string): void {
    for (const rec of this.ctx.store.pendingFor(endpointId)) this.restoreOne(rec, reason);
  }

  restoreOne(rec: AssignmentRecord, reason: string, reservation?: InboxReservation): void {
    const { env, deps } = this.ctx;
    if (rec.restoring || rec.accepted) return;
    env.disarm(acceptDeadline(rec.context));
    if (rec.accepting > 0) {
      // Rule 5: the adapter's acceptance may already be applied by the platform; its outcome
      // decides (acceptSettled).
      if (rec.deferredRestore === undefined) {
        rec.deferredRestore = reason;
        env.log("info", "runtime_assignment_restore_deferred", {
          undispatched_id: rec.context.undispatchedId,
          assignment_id: rec.context.assignmentId,
          reason,
        });
      }
      return;
    }
    if (rec.resolvingAccept || (rec.ambiguousAccept !== undefined && this.resolveAcceptance(rec, reason))) {
      rec.deferredRestore ??= reason;
      return;
    }
    if (!rec.inInbox && !this.heldElsewhere(rec, reason)) {
      if (!deps.inbox.tryAdd(rec.message, reservation)) {
        this.reinsertFailedAtCapacity(rec, reason, "restore");
        return;
      }
      rec.inInbox = true;
      this.queue.remove(rec);
    }
    rec.restoring = true;
    const generation = rec.generation;
    const event = brokerEvent(
      this.ctx,
      rec,
      "target_lost_before_acceptance",
      `${rec.context.assignmentId}:target_lost`,
      { occurred_at: env.nowMs, reason_code: reason },
    );
    postState(this.ctx, event, (r) => {
      rec.restoring = false;
      this.settleRestore(rec, generation, r);
      // Acceptances that waited for this outcome (rule 5) run now, on the record as it is.
      for (const waiter of rec.restoreWaiters.splice(0)) waiter();
    });
  }

  private settleRestore(rec: AssignmentRecord, generation: number, r: PostOutcome): void {
    const { env, store } = this.ctx;
    if (store.get(rec.key) !== rec) return;
    // A re-dispatch of the same key while the post was in flight is a newer binding (its
    // assigned post has the higher sequence) and owns the row now.
    if (rec.generation !== generation) return;
    if (r.ok) {
      // The platform now considers the assignment lost and the row is back in the inbox for the
      // next dispatch. (Rule 5 keeps an acceptance from being posted meanwhile.)
      store.forget(rec.key);
      return;
    }
    if (rec.accepted) {
      // The platform never learned of the loss and the adapter has the message: acceptance wins,
      // and the copy in the inbox must go so the message is not handed out twice (A11).
      this.takeBack(rec);
      return;
    }
    env.log("warn", "runtime_assignment_target_lost_emit_failed", {
      undispatched_id: rec.context.undispatchedId,
      source_message_id: rec.context.sourceMessageId,
      status: r.status,
      terminal: r.terminal,
      detail: r.detail,
    });
    this.arm(rec);
  }

  /**
   * Rule 6: re-post the ambiguous `adapter_accepted` event before restoring; the restore waits as
   * for any acceptance in flight (rule 5), and so do the adapter's reports, whose posts would take
   * higher sequences and could land before the repeat (A1). Only the record's latest post may be
   * repeated: once a later one was issued, its outcome decides. False if nothing was re-posted.
   */
  private resolveAcceptance(rec: AssignmentRecord, reason: string, attempt = 1): boolean {
    const { env, store } = this.ctx;
    const event = rec.ambiguousAccept;
    if (event === undefined || store.lastSequence(rec.key) !== event.state_sequence) {
      rec.ambiguousAccept = undefined;
      return false;
    }
    rec.deferredRestore ??= reason;
    rec.accepting++;
    rec.resolvingAccept = true;
    env.log("info", "runtime_assignment_acceptance_resolving", {
      undispatched_id: rec.context.undispatchedId,
      assignment_id: rec.context.assignmentId,
      state_event_id: event.state_event_id,
      attempt,
      reason,
    });
    const settle = () => this.settleResolve(rec);
    postState(this.ctx, event, (r) => {
      if (r.ok) {
        rec.ambiguousAccept = undefined;
        if (store.get(rec.key) === rec) this.markAccepted(rec);
        settle();
        return;
      }
      if (r.terminal || store.get(rec.key) !== rec) {
        rec.ambiguousAccept = undefined;
        settle();
        return;
      }
      const { emitterBackoffInitialMs: initial, emitterBackoffMaxMs: max } = env.opts;
      const delayMs = Math.min(initial * 2 ** Math.min(attempt - 1, 30), max);
      this.resolveRetries.set(rec.key, { rec, reason, attempt });
      env.arm(
        {
          kind: "accept_resolve",
          sourceMessageId: rec.context.sourceMessageId,
          assignmentId: rec.context.assignmentId,
        },
        delayMs,
      );
    });
    return true;
  }

  /** The backoff of a rule-6 re-post ended: post it again, or let the waiting restore run. */
  private onResolveRetry(key: string): void {
    const retry = this.resolveRetries.get(key);
    if (retry === undefined) return;
    this.resolveRetries.delete(key);
    const { rec, reason, attempt } = retry;
    rec.accepting--;
    rec.resolvingAccept = false;
    if (
      this.ctx.store.get(rec.key) === rec &&
      !rec.accepted &&
      this.resolveAcceptance(rec, reason, attempt + 1)
    )
      return;
    rec.accepting++;
    this.settleResolve(rec);
  }

  /** A rule-6 re-post has its answer: the acceptance it stood for settles, and waiters run. */
  private settleResolve(rec: AssignmentRecord): void {
    rec.resolvingAccept = false;
    this.acceptSettled(rec);
    for (const waiter of rec.restoreWaiters.splice(0)) waiter();
  }

  /**
   * The platform took an `adapter_accepted` for `rec`: it is accepted, its acceptance deadline
   * ends, and its message leaves the inbox for good (process-state route, rule 3 of that module).
   */
  markAccepted(rec: AssignmentRecord): void {
    if (rec.accepted) return;
    rec.accepted = true;
    rec.ambiguousAccept = undefined;
    this.ctx.env.disarm(acceptDeadline(rec.context));
    // A restored copy waits in the inbox. While its target_lost post is in flight the outcome
    // of that post decides (rule 3); otherwise the platform never heard of the loss and the
    // accepted assignment owns the message again.
    if (!rec.restoring) this.takeBack(rec);
    // The plugin has the message: its row's removal goes into the inbox journal now, not only
    // when the push receipt arrives, or a crash in between restores a row the platform holds as
    // handed off and will never dispatch again (it would hold an inbox slot for ever).
    this.ctx.deps.inbox.settle(rec.context.undispatchedId);
  }

  /**
   * Run `fn` once no target_lost post (and no rule-6 repeat of an acceptance) is in flight for
   * `rec`: now, or when it settles.
   */
  afterRestore(rec: AssignmentRecord, fn: () => void): void {
    if (rec.restoring || rec.resolvingAccept) rec.restoreWaiters.push(this.ctx.env.bind(fn));
    else fn();
  }

  /** An `adapter_accepted` post for `rec` is being issued: restores wait for it (rule 5). */
  acceptStarted(rec: AssignmentRecord): void {
    rec.accepting++;
  }

  /**
   * An `adapter_accepted` post for `rec` has its outcome (the effects of an ok one are applied
   * already). A restore that fell due meanwhile runs now unless the assignment was accepted.
   */
  acceptSettled(rec: AssignmentRecord): void {
    rec.accepting--;
    if (rec.accepting > 0) return;
    const reason = rec.deferredRestore;
    rec.deferredRestore = undefined;
    if (reason === undefined || rec.accepted || this.ctx.store.get(rec.key) !== rec) return;
    this.restoreOne(rec, reason);
  }

  /**
   * Take a restored row back out of the inbox: the record owns the message again. Its adapter
   * accepted it, so the row leaves the inbox journal too.
   */
  takeBack(rec: AssignmentRecord): void {
    if (!rec.inInbox) return;
    this.ctx.deps.inbox.drop(rec.context.undispatchedId);
    rec.inInbox = false;
  }

  /**
   * The single-record variant for adapter-reported failures before acceptance: put the message
   * back and forget the record, without a target_lost event (the adapter already reported one).
   */
  restoreBeforeAcceptance(rec: AssignmentRecord, reason: string, reservation?: InboxReservation): void {
    const { env, deps, store } = this.ctx;
    env.disarm(acceptDeadline(rec.context));
    if (rec.inInbox || this.heldElsewhere(rec, reason) || deps.inbox.tryAdd(rec.message, reservation)) {
      this.queue.remove(rec);
      store.forget(rec.key);
      return;
    }
    this.reinsertFailedAtCapacity(rec, reason, "before_acceptance");
  }

  /**
   * Was `rec`'s message accepted by the adapter of another live assignment (a later dispatch of the
   * same row, after a copy of it came back through another path)? Then that adapter has it, and a
   * restore must not put a second copy into the inbox (A11). An unaccepted holder does not count:
   * it may be restored too, and one of the two must put the message back.
   */
  private heldElsewhere(rec: AssignmentRecord, reason: string): boolean {
    const id = rec.context.undispatchedId;
    for (const other of this.ctx.store.values()) {
      if (other === rec || !other.accepted || other.context.undispatchedId !== id) continue;
      this.ctx.env.log("info", "runtime_assignment_restore_held_elsewhere", {
        undispatched_id: id,
        assignment_id: rec.context.assignmentId,
        holder: other.context.assignmentId,
        reason,
      });
      return true;
    }
    return false;
  }

  /**
   * The inbox is full: keep the record, queue it for the next freed slot, and keep the deadline
   * as a safety retry (the capacity-full reinsertion loop of §5.5). The planted `silentInboxLoss`
   * fault drops it instead.
   */
  private reinsertFailedAtCapacity(rec: AssignmentRecord, reason: string, kind: ReinsertKind): void {
    const { env, deps, store } = this.ctx;
    if (env.faults.silentInboxLoss) {
      store.forget(rec.key);
      return;
    }
    env.log("error", "runtime_assignment_reinsert_failed_at_capacity", {
      undispatched_id: rec.context.undispatchedId,
      source_message_id: rec.context.sourceMessageId,
      target_endpoint_id: rec.context.targetRef.projection_endpoint_id,
      inbox_size: deps.inbox.size,
      inbox_capacity: deps.inbox.capacity,
      reason,
      queued: this.queue.length,
    });
    this.queue.enqueue(rec, reason, kind);
    this.arm(rec);
  }
}
