/**
 * What every assignments module shares: the environment, the dependencies, the record store, and
 * the one function that builds and posts a `runtime_processing_state` event.
 */

import type { Failure, ProcessingState, ProcessingStateEvent } from "../api.ts";
import type { Env } from "../env.ts";
import type { InboxReservation } from "../inbound/inbox.ts";
import type { AssignmentDeps, InboxRow } from "../model.ts";
import type { AssignmentRecord, RecordStore } from "./records.ts";

export interface Ctx {
  env: Env;
  deps: AssignmentDeps;
  store: RecordStore;
  /** A slot held for the reinsertion queue, given up for a row bounced back (set by Acceptance). */
  reclaimInboxSlot?: () => InboxReservation | undefined;
}

export type PostOutcome = { ok: true } | Failure;

/** Post a processing-state event; the callback gets `{ok:true}` or the failure. */
export function postState(ctx: Ctx, event: ProcessingStateEvent, cb: (r: PostOutcome) => void): void {
  ctx.env.api("processing_state", event, (r) => cb(r.ok ? { ok: true } : r));
}

/** A broker-originated event for `rec`, with a freshly reserved sequence. */
export function brokerEvent(
  ctx: Ctx,
  rec: Pick<AssignmentRecord, "key" | "context">,
  state: ProcessingState,
  stateEventId: string,
  extra: Partial<ProcessingStateEvent> = {},
): ProcessingStateEvent {
  return {
    type: "runtime_processing_state",
    version: 1,
    source_message_id: rec.context.sourceMessageId,
    assignment_id: rec.context.assignmentId,
    state_event_id: stateEventId,
    state_sequence: ctx.store.reserve(rec.key),
    target_ref: rec.context.targetRef,
    state,
    occurred_at: ctx.env.nowMs,
    undispatched_id: rec.context.undispatchedId,
    ...extra,
  };
}

/**
 * Put a row back into the inbox after it was taken. The row was accepted (its seq acked, the
 * platform holds it), so it always goes back, over the capacity if need be (inbound/inbox.ts,
 * "Accepted rows always fit"): a full inbox never loses it. The planted fault `silentInboxLoss`
 * drops it at capacity instead, silently, to prove the A10 checker notices.
 */
export function putBack(ctx: Ctx, row: InboxRow, why: string): void {
  if (ctx.deps.inbox.tryAdd(row)) return;
  // Taking this row freed the slot the reinsertion queue may now hold; the row had it first.
  const held = ctx.reclaimInboxSlot?.();
  if (held && ctx.deps.inbox.tryAdd(row, held)) return;
  if (ctx.env.faults.silentInboxLoss) return;
  ctx.deps.inbox.readmit(row);
  ctx.env.log("warn", "dispatch_putback_over_capacity", {
    undispatched_id: row.id,
    why,
    inbox_size: ctx.deps.inbox.size,
    inbox_capacity: ctx.deps.inbox.capacity,
  });
}
