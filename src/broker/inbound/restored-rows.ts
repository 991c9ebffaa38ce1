/**
 * Restored inbox rows are announced to the platform again (a deviation: the published broker has
 * no inbox journal; see docs/deviations.md and docs/durability.md).
 *
 * Theory of operation:
 * 1. The journal gives a new process every row an earlier one still held, including rows a dispatch
 *    of that process had taken (its hand-off not settled). The platform lists such a row as
 *    `assigned` to an assignment that died with the old process: nobody will post its
 *    `target_lost_before_acceptance`, so the platform never dispatches it again while the row holds
 *    an inbox slot here for good (rows never expire, §1.6; a small inbox full of them stops the
 *    cursor, L1).
 * 2. So a process that restored rows posts `undispatched_changed add` for each of them, one at a
 *    time in journal order, as a redelivery after a crash does (§1.8): the broker holds the message
 *    undispatched again, and the platform dispatches the row anew whatever its assignment was.
 * 3. `undispatched_row_settled` (the platform saw the message handled) drops the row and records it
 *    as departed, as for a redelivered message (to-inbox.ts). Any other terminal answer is logged
 *    and the next row goes. A transient failure is retried after the emitter backoff (doubling,
 *    capped) until it lands: a row the platform never hears of would wedge its slot again.
 * 4. A row that left the inbox before its turn (a dispatch took it, a redelivery re-added it) is
 *    skipped: the platform already acts on it.
 */

import type { UndispatchedChangedEvent } from "../api.ts";
import { UNDISPATCHED_ROW_SETTLED } from "../api.ts";
import type { Env } from "../env.ts";
import type { InboxRow } from "../model.ts";
import type { UndispatchedInbox } from "./inbox.ts";
import { preview, traceIdOf } from "./trace.ts";

const RETRY_DEADLINE = "inbox:restored_announce_retry";

export class RestoredRowAnnouncer {
  private readonly ids: string[];
  private failures = 0;
  private started = false;

  constructor(
    private readonly env: Env,
    private readonly inbox: UndispatchedInbox,
    rows: readonly InboxRow[],
  ) {
    this.ids = rows.map((r) => r.id);
  }

  /** Rows still waiting to be announced. */
  get pending(): number {
    return this.ids.length;
  }

  /** Point 2: start announcing (once). */
  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.ids.length > 0)
      this.env.log("info", "undispatched_restored_announce_begin", { rows: this.ids.length });
    this.next();
  }

  private next(): void {
    while (this.ids.length > 0 && !this.inbox.has(this.ids[0]!)) this.ids.shift();
    const id = this.ids[0];
    if (id === undefined) return;
    const row = this.inbox.get(id)!;
    this.env.api("undispatched_changed", this.event(row), (r) => {
      if (r.ok) {
        this.done(id);
        return;
      }
      if (r.terminal) {
        if (r.code === UNDISPATCHED_ROW_SETTLED) {
          this.inbox.drop(id);
          this.env.log("info", "undispatched_restored_row_settled", { id });
        } else {
          this.env.log("warn", "undispatched_restored_announce_refused", {
            id,
            status: r.status,
            code: r.code,
          });
        }
        this.done(id);
        return;
      }
      this.failures++;
      const { emitterBackoffInitialMs: initial, emitterBackoffMaxMs: max } = this.env.opts;
      const delayMs = Math.min(initial * 2 ** Math.min(this.failures - 1, 30), max);
      this.env.log("warn", "undispatched_restored_announce_failed", {
        id,
        failures: this.failures,
        retry_in_ms: delayMs,
      });
      this.env.after(RETRY_DEADLINE, delayMs, () => this.next());
    });
  }

  private done(id: string): void {
    if (this.ids[0] === id) this.ids.shift();
    this.failures = 0;
    this.next();
  }

  private event(row: InboxRow): UndispatchedChangedEvent {
    const { env } = this;
    const tp = typeof row.metadata.traceparent === "string" ? row.metadata.traceparent : undefined;
    const event: UndispatchedChangedEvent = {
      type: "undispatched_changed",
      version: 1,
      action: "add",
      undispatched_id: row.id,
      sender_address: row.sender_address,
      content_preview: preview(row.content, env.opts.contentPreviewMaxChars),
      reason: row.reason === "unaddressed" ? "no_target_endpoint" : row.reason,
      arrived_at: env.nowMs,
    };
    if (tp !== undefined) {
      event.traceparent = tp;
      event.traceId = traceIdOf(tp);
    }
    if (row.source_message_id !== undefined) event.source_message_id = row.source_message_id;
    if (row.original_target_endpoint_id !== undefined)
      event.target_endpoint_id_hint = row.original_target_endpoint_id;
    if (row.original_correlation_id !== undefined) event.in_reply_to = row.original_correlation_id;
    return event;
  }
}
