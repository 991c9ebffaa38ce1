/**
 * Buffer surfacing (invariant L5; a deviation from the reference, which deletes a removed
 * endpoint's buffer file and never reads buffer files of an earlier process — both lose messages
 * the connector was already told were handed off).
 *
 * Theory of operation:
 * 1. A batch is one endpoint's buffered records that no endpoint will ever drain: the endpoint was
 *    removed (grace timeout, unregister, plugin exit, force_unregister), or the file outlived the
 *    broker process that wrote it (handed in by the driver at start-up). Each record becomes an
 *    inbox row with reason `closed_session_continuation` and the endpoint as the original target,
 *    announced with an `undispatched_changed add`, as the pipeline does for a retired target.
 * 2. Records carrying a runtime assignment of this process are not surfaced: the assignments
 *    component restores the message of a removed endpoint's unaccepted assignments itself
 *    (`onEndpointRemoved`). In a file an earlier process left, such a record's assignment died
 *    with that process, and its inbox row was settled when the record was appended (L9): it is
 *    surfaced as the row it came from (its undispatched id, without the dispatch stamp), so the
 *    platform dispatches it again instead of the message dying with the file.
 * 3. Batches are served in the order they arrived and records in file order. A record waits until
 *    the inbox has a free slot (retry deadline `surface_retry`); nothing is dropped because
 *    the inbox is full.
 * 4. The add post is retried with the emitter backoff until the platform took it, refused it for
 *    good, or the row left the inbox meanwhile (dispatched: it was surfaced; a later add would
 *    describe a row that is gone).
 * 4a. An add answered `undispatched_row_settled` (the record was surfaced, dispatched and handled
 *    before a crash left its file behind) takes the row out of the inbox again: the platform will
 *    never dispatch it, and rows do not expire, so it would hold a slot for good (a few
 *    such rows fill a small inbox and wedge the cursor, L1). The pipeline does the same for a
 *    redelivered message (`settledRow`).
 * 5. The file is deleted only when every record of the batch is in the inbox and its post settled,
 *    so a crash before that finds the file again at the next start (a record may then surface
 *    twice; the platform treats a repeated add of a known row as a no-op). The delete is skipped
 *    when the endpoint id has a live buffer again (ids are not expected to be reused; if one is,
 *    its new records must not be deleted with the old ones).
 * 6. The ids of surfaced records are remembered (FIFO, `routeCacheMax`): the connector may still
 *    redeliver such a message (its seq was not acked when the old process died), and the pipeline
 *    then keeps the inbox as its one destination instead of routing it a second time (R1).
 * 6a. A record of an earlier process's file still waiting for an inbox slot is superseded when the
 *    connector redelivers its message and the redelivery is handed to an endpoint (pushed with
 *    receipt or buffered): the record is dropped when its turn comes. Surfacing it as well would
 *    give the message a second destination (R1). A redelivery that ends otherwise (a route claim
 *    `skip`, not accepted) leaves the record to be surfaced: it may be the only copy.
 * 7. L9: the file is deleted only once every surfaced row is also in the inbox journal (its write
 *    answered ok); if one write failed, the file is kept and the next start surfaces it again.
 * 8. A record whose row id a live runtime assignment of this process holds is not surfaced (as
 *    the pipeline's rule A11 for a redelivery): the platform's row is bound to that assignment and
 *    the assignment has the message, restoring it if it is lost. A surfaced copy would be a second
 *    row for one message: once the platform dispatched and the adapter accepted the copy, the
 *    first assignment's acceptance timeout would put the row back into an inbox the platform will
 *    never dispatch from again (it holds a slot for good and can wedge the cursor, L1).
 */

import { UNDISPATCHED_ROW_SETTLED, type UndispatchedChangedEvent } from "../api.ts";
import { type Deadline, type DeadlineOf, deadlineKey } from "../deadline-kinds.ts";
import type { Env } from "../env.ts";
import { FifoSet } from "../fifo-set.ts";
import type { UndispatchedInbox } from "../inbound/inbox.ts";
import { preview, traceIdOf, withTrace } from "../inbound/trace.ts";
import type { InboxRow } from "../model.ts";
import { invariant } from "../invariant.ts";
import type { BufferRecord } from "../types.ts";

export type SurfaceOrigin = "endpoint_removed" | "previous_process";

interface Batch {
  endpointId: string;
  origin: SurfaceOrigin;
  /** Records not yet in the inbox, in file order. */
  waiting: BufferRecord[];
  /** Rows added whose post has not settled yet. */
  posting: number;
  /** Rows added whose inbox journal write has not been answered yet. */
  persisting: number;
  /** Rows whose inbox journal write failed: the buffer file is then kept (point 7). */
  unsafe: number;
  surfaced: number;
}

/** The message id a record carries. */
const keyOf = (r: BufferRecord): string => r.envelope.sourceMessageId ?? r.id;

export const SURFACE_RETRY_DEADLINE: Deadline = { kind: "surface_retry" };
const postDeadline = (endpointId: string, undispatchedId: string): Deadline => ({
  kind: "buffer_post_retry",
  endpointId,
  undispatchedId,
});

export class BufferSurfacer {
  private readonly batches = new Map<string, Batch>();
  /** What each armed `buffer_post_retry` deadline repeats, by the deadline's key. */
  private readonly postRetries = new Map<
    string,
    { batch: Batch; event: UndispatchedChangedEvent; failures: number }
  >();
  private readonly surfacedIds: FifoSet<string>;
  /** Message ids redelivered while an earlier process's record of them waited (point 6a). */
  private readonly superseded: FifoSet<string>;

  constructor(
    private readonly env: Env,
    private readonly inbox: UndispatchedInbox,
    /** Does `endpointId` have a live (registered) buffer again? Then its file is not deleted. */
    private readonly bufferLive: (endpointId: string) => boolean,
    /** Does a live runtime assignment hold this undispatched id (point 8)? */
    private readonly bound: (undispatchedId: string) => boolean = () => false,
  ) {
    this.surfacedIds = new FifoSet(env.opts.routeCacheMax);
    this.superseded = new FifoSet(env.opts.routeCacheMax);
    env.onDeadline("surface_retry", () => this.pump());
    env.onDeadline("buffer_post_retry", (d) => this.postRetryDue(d));
  }

  /** Was a record with this message id surfaced into the inbox by this process (point 6)? */
  surfaced(messageId: string): boolean {
    return this.surfacedIds.has(messageId);
  }

  /**
   * Point 6a: mark the records of earlier processes' files that wait for an inbox slot and carry
   * this message id; each is dropped when its turn comes.
   */
  supersede(messageId: string): void {
    for (const batch of this.batches.values()) {
      if (batch.origin !== "previous_process") continue;
      if (batch.waiting.some((r) => keyOf(r) === messageId)) this.superseded.add(messageId);
    }
  }

  /** Records of batches not yet settled (tests, snapshots). */
  get pending(): number {
    let n = 0;
    for (const b of this.batches.values()) n += b.waiting.length + b.posting;
    return n;
  }

  /** Endpoint ids whose buffer file is kept until its records are surfaced. */
  endpoints(): string[] {
    return [...this.batches.keys()];
  }

  surface(endpointId: string, records: readonly BufferRecord[], origin: SurfaceOrigin): void {
    const { env } = this;
    const own: BufferRecord[] = [];
    for (const r of records) {
      if (r.envelope.runtimeAssignment && origin !== "previous_process") {
        env.log("info", "buffer_surface_assignment_skipped", {
          endpoint_id: endpointId,
          id: r.id,
          assignment_id: r.envelope.runtimeAssignment.assignmentId,
          origin,
        });
      } else {
        own.push(r);
      }
    }
    let batch = this.batches.get(endpointId);
    if (!batch && own.length === 0) {
      this.deleteFile(endpointId);
      return;
    }
    if (batch) {
      const known = new Set(batch.waiting.map((r) => r.id));
      for (const r of own) if (!known.has(r.id)) batch.waiting.push(r);
    } else {
      batch = { endpointId, origin, waiting: own, posting: 0, persisting: 0, unsafe: 0, surfaced: 0 };
      this.batches.set(endpointId, batch);
    }
    env.log("info", "buffer_surface_started", { endpoint_id: endpointId, records: own.length, origin });
    this.pump();
    this.settleIfDone(batch);
  }

  /** Move waiting records into the inbox, oldest batch first, until the inbox is full. */
  private pump(): void {
    for (const batch of this.batches.values()) {
      while (batch.waiting.length > 0) {
        const record = batch.waiting[0]!;
        const row = this.rowOf(batch.endpointId, record);
        if (batch.origin === "previous_process" && this.superseded.has(keyOf(record))) {
          batch.waiting.shift();
          this.env.log("info", "buffer_surface_superseded", { endpoint_id: batch.endpointId, id: record.id });
          this.settleIfDone(batch);
          continue;
        }
        if (this.bound(row.row.id)) {
          batch.waiting.shift();
          this.env.log("info", "buffer_surface_bound_skipped", {
            endpoint_id: batch.endpointId,
            id: row.row.id,
          });
          this.settleIfDone(batch);
          continue;
        }
        const b = batch;
        const durable = (ok: boolean) => {
          b.persisting--;
          if (!ok) b.unsafe++;
          this.settleIfDone(b);
        };
        b.persisting++;
        if (!this.inbox.tryAdd(row.row, undefined, durable)) {
          b.persisting--;
          this.env.log("warn", "buffer_surface_inbox_full", {
            endpoint_id: batch.endpointId,
            id: record.id,
            waiting: this.pending,
            capacity: this.inbox.capacity,
          });
          if (!this.env.isArmed(SURFACE_RETRY_DEADLINE)) {
            this.env.arm(SURFACE_RETRY_DEADLINE, this.env.opts.bufferSurfaceRetryMs);
          }
          return;
        }
        batch.waiting.shift();
        batch.posting++;
        this.surfacedIds.add(keyOf(record));
        this.env.log("info", "buffer_record_surfaced", { id: record.id, endpoint_id: batch.endpointId });
        this.post(batch, row.event, 0);
      }
    }
  }

  private post(batch: Batch, event: UndispatchedChangedEvent, failures: number): void {
    const { env } = this;
    env.api("undispatched_changed", event, (r) => {
      if (r.ok) return this.posted(batch);
      if (r.terminal && r.code === UNDISPATCHED_ROW_SETTLED) {
        // Point 4a: the platform already handled this message (a record surfaced again after a
        // crash); it will never dispatch the row, so the row must not hold an inbox slot.
        this.inbox.drop(event.undispatched_id);
        env.log("info", "buffer_surface_row_settled", { id: event.undispatched_id });
        return this.posted(batch);
      }
      env.log("warn", "buffer_surface_post_failed", {
        id: event.undispatched_id,
        status: r.status,
        terminal: r.terminal,
      });
      if (r.terminal) return this.posted(batch);
      const n = failures + 1;
      const delay = Math.min(env.opts.emitterBackoffInitialMs * 2 ** (n - 1), env.opts.emitterBackoffMaxMs);
      const deadline = postDeadline(batch.endpointId, event.undispatched_id);
      this.postRetries.set(deadlineKey(deadline), { batch, event, failures: n });
      env.arm(deadline, delay);
    });
  }

  private postRetryDue(d: DeadlineOf<"buffer_post_retry">): void {
    const key = deadlineKey(d);
    const r = this.postRetries.get(key);
    invariant(r !== undefined, `buffer post retry fell due for ${d.undispatchedId} with nothing to repeat`);
    this.postRetries.delete(key);
    if (this.inbox.has(r.event.undispatched_id)) {
      this.post(r.batch, { ...r.event, arrived_at: this.env.nowMs }, r.failures);
    } else {
      this.posted(r.batch);
    }
  }

  private posted(batch: Batch): void {
    batch.posting--;
    batch.surfaced++;
    this.settleIfDone(batch);
  }

  private settleIfDone(batch: Batch): void {
    if (batch.waiting.length > 0 || batch.posting > 0 || batch.persisting > 0) return;
    if (this.batches.get(batch.endpointId) !== batch) return;
    this.batches.delete(batch.endpointId);
    const id = batch.endpointId;
    this.env.log("info", "buffer_surfaced", {
      endpoint_id: id,
      records: batch.surfaced,
      origin: batch.origin,
    });
    if (batch.unsafe > 0) {
      this.env.log("warn", "buffer_surface_delete_skipped", {
        endpoint_id: id,
        why: "inbox_journal_write_failed",
      });
      return;
    }
    this.deleteFile(id);
  }

  private deleteFile(id: string): void {
    if (this.bufferLive(id)) {
      this.env.log("warn", "buffer_surface_delete_skipped", { endpoint_id: id, why: "buffer_live_again" });
      return;
    }
    this.env.storage({ op: "delete_buffer", endpointId: id }, (ok, error) => {
      if (!ok) this.env.log("warn", "buffer_surface_delete_failed", { endpoint_id: id, error });
    });
  }

  private rowOf(
    endpointId: string,
    record: BufferRecord,
  ): { row: InboxRow; event: UndispatchedChangedEvent } {
    const { env } = this;
    const e = record.envelope;
    const id = e.runtimeAssignment?.undispatchedId ?? record.id;
    const raw = isRecord(e.metadata) ? { ...e.metadata } : {};
    if (e.runtimeAssignment) {
      // Point 2: the row as it was before the dispatch stamped it (dispatch.ts `stamp`).
      delete raw.dispatched_from;
      delete raw.delivery_intent;
    }
    const { metadata, traceparent } = withTrace(raw, env.random);
    const cid = typeof metadata.correlation_id === "string" ? metadata.correlation_id : undefined;
    const row: InboxRow = {
      id,
      arrived_at: record.arrived_at,
      sender_address: e.from,
      content: e.content,
      content_type: e.contentType,
      metadata,
      reason: "closed_session_continuation",
      original_target_endpoint_id: endpointId,
    };
    if (e.sourceMessageId !== undefined) row.source_message_id = e.sourceMessageId;
    if (cid !== undefined) row.original_correlation_id = cid;
    const event: UndispatchedChangedEvent = {
      type: "undispatched_changed",
      version: 1,
      action: "add",
      undispatched_id: id,
      sender_address: e.from,
      content_preview: preview(e.content, env.opts.contentPreviewMaxChars),
      reason: "closed_session_continuation",
      traceparent,
      traceId: traceIdOf(traceparent),
      arrived_at: env.nowMs,
      target_endpoint_id_hint: endpointId,
    };
    if (e.sourceMessageId !== undefined) event.source_message_id = e.sourceMessageId;
    if (cid !== undefined) event.in_reply_to = cid;
    return { row, event };
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
