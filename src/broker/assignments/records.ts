/**
 * The live runtime assignments (PROTOCOL §5.1) and the sequence book behind invariant A1.
 *
 * Theory of operation:
 * 1. A record is keyed by `source_message_id ⟂ assignment_id` and lives in memory only.
 * 2. `state_sequence` values are *reserved* here at the moment a post is issued, never when it
 *    returns: every post the broker makes for an assignment takes `last + 1` (or more), so the
 *    values are strictly increasing in post order even with several posts in flight (A1).
 * 3. The sequence book outlives the record: a key that is forgotten (target lost, reply emitted)
 *    and later dispatched again, or whose reply_emitted is still being retried, continues from its
 *    last value. Forgotten keys are remembered in a FIFO bounded by `retiredMax`.
 * 4. Forgetting a record cancels its acceptance deadline; reply_emitted retries belong to reply
 *    keys (see replies.ts) and deliberately survive it.
 */

import type { Deadline } from "../deadline-kinds.ts";
import type { ProcessingStateEvent } from "../api.ts";
import type { Env } from "../env.ts";
import type { InboxRow } from "../model.ts";
import type { RuntimeAssignmentRef } from "../types.ts";

export interface AssignmentRecord {
  key: string;
  context: RuntimeAssignmentRef;
  /** The inbox-shaped message; it goes back to the inbox when the assignment is restored. */
  message: InboxRow;
  token?: string;
  accepted: boolean;
  assignedAtMs: number;
  /** Bumped on every (re)dispatch, so a restore that finishes late can tell it was overtaken. */
  generation: number;
  /** The target has the message (push receipt or buffer append succeeded). */
  delivered: boolean;
  /** A target_lost post is in flight; a second restore must not post another one. */
  restoring: boolean;
  /** The message was put back into the inbox by a restore whose record is still live. */
  inInbox: boolean;
  /** `adapter_accepted` posts in flight; a restore waits for their outcome (acceptance.ts rule 5). */
  accepting: number;
  /** The reason of a restore that was due while an `adapter_accepted` post was in flight. */
  deferredRestore: string | undefined;
  /** Waiting for the in-flight target_lost post to settle (adapter_accepted requests). */
  restoreWaiters: Array<() => void>;
  /**
   * The last `adapter_accepted` event whose post failed without a definite answer (the platform may
   * have applied it); a restore re-posts it first (acceptance.ts rule 6).
   */
  ambiguousAccept: ProcessingStateEvent | undefined;
  /** The ambiguous acceptance is being re-posted; adapter reports wait for it (`restoreWaiters`). */
  resolvingAccept: boolean;
}

/** A fresh, unaccepted record (dispatch fills in token and generation). */
export function newRecord(
  key: string,
  context: RuntimeAssignmentRef,
  message: InboxRow,
  assignedAtMs: number,
): AssignmentRecord {
  return {
    key,
    context,
    message,
    accepted: false,
    assignedAtMs,
    generation: 0,
    delivered: false,
    restoring: false,
    inInbox: false,
    accepting: 0,
    deferredRestore: undefined,
    restoreWaiters: [],
    ambiguousAccept: undefined,
    resolvingAccept: false,
  };
}

/** The acceptance deadline of the assignment `context` names (acceptance.ts). */
export function acceptDeadline(context: { sourceMessageId: string; assignmentId: string }): Deadline {
  return { kind: "acceptance", sourceMessageId: context.sourceMessageId, assignmentId: context.assignmentId };
}

export class RecordStore {
  private readonly records = new Map<string, AssignmentRecord>();
  private readonly lastSeq = new Map<string, number>();
  private readonly retired: string[] = [];

  constructor(
    private readonly env: Env,
    private readonly retiredMax: number,
  ) {}

  get size(): number {
    return this.records.size;
  }

  get(key: string): AssignmentRecord | undefined {
    return this.records.get(key);
  }

  set(rec: AssignmentRecord): void {
    this.records.set(rec.key, rec);
  }

  values(): IterableIterator<AssignmentRecord> {
    return this.records.values();
  }

  /** Unaccepted records targeting `endpointId`, in creation order (a snapshot: callers mutate). */
  pendingFor(endpointId: string): AssignmentRecord[] {
    const out: AssignmentRecord[] = [];
    for (const r of this.records.values()) {
      if (!r.accepted && r.context.targetRef.projection_endpoint_id === endpointId) out.push(r);
    }
    return out;
  }

  forget(key: string): void {
    const rec = this.records.get(key);
    if (rec === undefined) return;
    this.records.delete(key);
    this.env.disarm(acceptDeadline(rec.context));
    this.retired.push(key);
    while (this.retired.length > this.retiredMax) {
      const old = this.retired.shift()!;
      if (!this.records.has(old)) this.lastSeq.delete(old);
    }
  }

  /** The highest sequence reserved for `key` so far (0 if none). */
  lastSequence(key: string): number {
    return this.lastSeq.get(key) ?? 0;
  }

  /** Reserve the next sequence for a post about to be issued. */
  reserve(key: string, atLeast = 0): number {
    const next = Math.max(this.lastSequence(key) + 1, atLeast);
    this.lastSeq.set(key, next);
    return next;
  }

  /** Record that `seq` was used (only needed when a post bypassed `reserve`). */
  raise(key: string, seq: number): void {
    if (seq > this.lastSequence(key)) this.lastSeq.set(key, seq);
  }
}
