/**
 * Idempotent assignment replies (PROTOCOL §5.7) and the reply_emitted retry (§5.8).
 *
 * Theory of operation:
 * 1. A reply key (`source ⟂ assignment ⟂ reply_request_id`) owns at most one reply record. The
 *    record is stored right after the one successful `reply_requested` post (A3, A6: the route
 *    only gets here for accepted assignments) and carries a wire message id drawn once, so every
 *    SEND_MESSAGE, the reply_emitted `outbound_message_id` and the answer to the plugin share it
 *    (A5). The record also snapshots what a send needs (token, context, addressee), so a reply
 *    still completes if the assignment record is forgotten meanwhile.
 * 2. Send outcomes: `unavailable` wrote nothing ⇒ 503 retryable, record stays sendable and the
 *    next identical request sends again without a new reply_requested. `outcome_unknown` and
 *    `rejected` (connector ERROR frame) both mean a SEND_MESSAGE was written: the record remembers
 *    the outcome and every later identical request gets the same error — never a second send (A4).
 * 3. One task per reply key at a time: an identical request while it runs waits for the same
 *    outcome; a different fingerprint gets 409 (A7). In-flight entries live until their task
 *    finishes, even if the assignment is forgotten, so no second task can race the first send.
 * 4. After SEND_ACK, reply_emitted is posted with a freshly reserved sequence on every attempt
 *    (A1, A3), with the token (A8), retried with backoff without bound; ok or terminal forgets the
 *    assignment. Records expire `replyRecordTtlMs` after their last change once their assignment
 *    is gone (pruned lazily on the next reply request).
 */

import type { ProcessingStateEvent } from "../api.ts";
import type { Reply } from "../ipc/http.ts";
import type { EndpointEntry, OutboundMessage, SendResult } from "../model.ts";
import type { RuntimeAssignmentRef } from "../types.ts";
import type { Deadline } from "../deadline-kinds.ts";
import { brokerEvent, type Ctx, postState } from "./context.ts";
import { mintTraceparent, replyKey, sanitiseReplyMetadata } from "./keys.ts";
import type { AssignmentRecord } from "./records.ts";

export interface ReplyRecord {
  replyKey: string;
  assignmentKey: string;
  replyRequestId: string;
  endpointId: string;
  pluginPid: number;
  fingerprint: string;
  wireMessageId: string;
  correlationId: string;
  context: RuntimeAssignmentRef;
  token: string;
  to: string;
  inboundMessageId?: string;
  requestedSequence: number;
  /** A SEND_MESSAGE was written for this key (A4). */
  written: boolean;
  result?: { messageId: string; status: "delivered" | "stored" };
  outcomeUnknown?: string;
  rejected?: { code: string; detail: string };
  expiresAtMs: number;
}

export interface ReplyRequest {
  entry: EndpointEntry;
  pluginPid: number;
  replyKey: string;
  assignmentKey: string;
  replyRequestId: string;
  fingerprint: string;
  content: string;
  contentType: string;
  metadata: Record<string, unknown> | undefined;
}

interface InFlight {
  endpointId: string;
  pluginPid: number;
  fingerprint: string;
  waiters: Reply[];
}

interface PendingEmitted {
  record: ReplyRecord;
  attempt: number;
  posting: boolean;
  /** Its retry deadline is armed: the post is repeated when it fires. */
  retryArmed?: boolean;
}

export type Answer =
  | { ok: true; body: unknown }
  | { ok: false; status: number; code: string; message: string; extra?: object };

/** The retry deadline of `rec`'s reply_emitted post. */
export function emittedDeadline(rec: ReplyRecord): Deadline {
  return {
    kind: "reply_emitted",
    sourceMessageId: rec.context.sourceMessageId,
    assignmentId: rec.context.assignmentId,
    replyRequestId: rec.replyRequestId,
  };
}

export class Replies {
  readonly records = new Map<string, ReplyRecord>();
  readonly inFlight = new Map<string, InFlight>();
  readonly emitted = new Map<string, PendingEmitted>();

  constructor(private readonly ctx: Ctx) {
    ctx.env.onDeadline("reply_emitted", (d) => {
      const p = this.emitted.get(replyKey(d.sourceMessageId, d.assignmentId, d.replyRequestId));
      if (p?.retryArmed !== true) return;
      p.retryArmed = false;
      this.postEmitted(p);
    });
  }

  /** Drop records that expired and whose assignment is gone. */
  prune(): void {
    const now = this.ctx.env.nowMs;
    for (const [k, r] of this.records) {
      if (r.expiresAtMs <= now && !this.ctx.store.get(r.assignmentKey)) this.records.delete(k);
    }
  }

  /** Join an identical in-flight request; false when none is running. */
  join(replyKey: string, reply: Reply): boolean {
    const f = this.inFlight.get(replyKey);
    if (!f) return false;
    f.waiters.push(reply);
    return true;
  }

  /** Start the reply task for an accepted assignment with a projection token. */
  start(req: ReplyRequest, rec: AssignmentRecord, reply: Reply): void {
    const flight: InFlight = {
      endpointId: req.entry.endpointId,
      pluginPid: req.pluginPid,
      fingerprint: req.fingerprint,
      waiters: [reply],
    };
    this.inFlight.set(req.replyKey, flight);
    const finish = (a: Answer) => {
      if (this.inFlight.get(req.replyKey) === flight) this.inFlight.delete(req.replyKey);
      for (const w of flight.waiters) {
        if (a.ok) w.ok(a.body);
        else w.fail(a.status, a.code, a.message, { ...a.extra });
      }
    };
    const stored = this.records.get(req.replyKey);
    if (stored) {
      this.send(stored, req, finish);
      return;
    }
    const event = brokerEvent(
      this.ctx,
      rec,
      "reply_requested",
      `${rec.context.assignmentId}:reply_requested:${req.replyRequestId}`,
      { reply_request_id: req.replyRequestId, broker_projection_token: rec.token },
    );
    const token = rec.token!;
    const context = rec.context;
    const message = rec.message;
    postState(this.ctx, event, (r) => {
      if (!r.ok) {
        finish({
          ok: false,
          status: r.terminal ? 409 : 503,
          code: "runtime_reply_request_rejected",
          message: r.detail ?? "runtime reply request was not accepted",
          extra:
            r.assignmentFailureCategory !== undefined
              ? { assignment_failure_category: r.assignmentFailureCategory }
              : {},
        });
        return;
      }
      const corr = context.replyCorrelationId;
      const inbound = message.metadata.message_id;
      const record: ReplyRecord = {
        replyKey: req.replyKey,
        assignmentKey: req.assignmentKey,
        replyRequestId: req.replyRequestId,
        endpointId: req.entry.endpointId,
        pluginPid: req.pluginPid,
        fingerprint: req.fingerprint,
        wireMessageId: this.ctx.env.random.uuid(),
        correlationId: corr !== undefined && corr.length > 0 ? corr : this.ctx.env.random.uuid(),
        context,
        token,
        to: message.sender_address,
        ...(typeof inbound === "string" && inbound.length > 0 && { inboundMessageId: inbound }),
        requestedSequence: event.state_sequence,
        written: false,
        expiresAtMs: this.ctx.env.nowMs + this.ctx.env.opts.replyRecordTtlMs,
      };
      this.records.set(req.replyKey, record);
      if (this.ctx.env.faults.forgetReplyRecords) this.records.delete(req.replyKey);
      this.send(record, req, finish);
    });
  }

  private send(record: ReplyRecord, req: ReplyRequest, finish: (a: Answer) => void): void {
    const { env, deps } = this.ctx;
    if (deps.registry.get(record.endpointId)) deps.registry.ringAdd(record.endpointId, record.correlationId);
    const metadata: Record<string, unknown> = {
      ...sanitiseReplyMetadata(req.metadata),
      traceparent: mintTraceparent(env.random),
      ...(record.context.originalTraceId !== undefined && {
        originalTraceId: record.context.originalTraceId,
      }),
      message_id: record.wireMessageId,
      ...(record.inboundMessageId !== undefined && { in_reply_to: record.inboundMessageId }),
      correlation_id: record.correlationId,
      source_endpoint_id: record.endpointId,
      require_live: false,
    };
    const msg: OutboundMessage = {
      to: record.to,
      content: req.content,
      contentType: req.contentType,
      metadata,
    };
    let settled = false;
    deps.connector.send(
      msg,
      (r: SendResult) => {
        if (settled) {
          env.log("warn", "connector_send_double_completion", { message_id: record.wireMessageId });
          return;
        }
        settled = true;
        this.onSent(record, r, finish);
      },
      record.wireMessageId,
    );
  }

  private onSent(record: ReplyRecord, r: SendResult, finish: (a: Answer) => void): void {
    const { env } = this.ctx;
    if (!r.ok && r.error === "unavailable") {
      finish({
        ok: false,
        status: 503,
        code: "connector_unavailable",
        message: "connector is not connected",
        extra: { retryable: true },
      });
      return;
    }
    record.written = true;
    record.expiresAtMs = env.nowMs + env.opts.replyRecordTtlMs;
    if (!r.ok && r.error === "outcome_unknown") {
      record.outcomeUnknown = r.detail;
      finish(outcomeUnknownAnswer(r.detail));
      return;
    }
    if (!r.ok) {
      record.rejected = { code: r.code, detail: r.detail };
      finish(rejectedAnswer(record.rejected));
      return;
    }
    record.result = { messageId: record.wireMessageId, status: r.status };
    env.log("info", "runtime_assignment_reply_sent", {
      source_message_id: record.context.sourceMessageId,
      assignment_id: record.context.assignmentId,
      target_endpoint_id: record.endpointId,
      outbound_message_id: record.wireMessageId,
    });
    const pending: PendingEmitted = { record, attempt: 0, posting: false };
    this.emitted.set(record.replyKey, pending);
    this.postEmitted(pending);
    finish({ ok: true, body: record.result });
  }

  private postEmitted(p: PendingEmitted): void {
    const { env, store } = this.ctx;
    const rec = p.record;
    const event: ProcessingStateEvent = brokerEvent(
      this.ctx,
      { key: rec.assignmentKey, context: rec.context },
      "reply_emitted",
      `${rec.context.assignmentId}:reply_emitted:${rec.replyRequestId}`,
      {
        reply_request_id: rec.replyRequestId,
        outbound_message_id: rec.wireMessageId,
        broker_projection_token: rec.token,
      },
    );
    p.posting = true;
    postState(this.ctx, event, (r) => {
      p.posting = false;
      if (this.emitted.get(rec.replyKey) !== p) return;
      if (r.ok || r.terminal) {
        if (!r.ok) {
          env.log("warn", "runtime_reply_emitted_projection_failed", {
            assignment_id: rec.context.assignmentId,
            status: r.status,
            terminal: true,
            detail: r.detail,
          });
        }
        this.emitted.delete(rec.replyKey);
        store.forget(rec.assignmentKey);
        return;
      }
      env.log("warn", "runtime_reply_emitted_projection_failed", {
        assignment_id: rec.context.assignmentId,
        status: r.status,
        terminal: false,
        detail: r.detail,
        attempt: p.attempt,
      });
      const delay = Math.min(
        env.opts.replyEmittedRetryInitialMs * 2 ** p.attempt,
        env.opts.replyEmittedRetryMaxMs,
      );
      p.attempt++;
      p.retryArmed = true;
      env.arm(emittedDeadline(rec), delay);
    });
  }

  /** Shutdown (§5.10): post each remembered reply_emitted once more, then drop everything. */
  flushOnShutdown(): void {
    for (const p of [...this.emitted.values()]) {
      this.ctx.env.disarm(emittedDeadline(p.record));
      p.retryArmed = false;
      if (!p.posting) this.postEmitted(p);
    }
    this.emitted.clear();
  }
}

export function outcomeUnknownAnswer(detail: string): Answer {
  return {
    ok: false,
    status: 503,
    code: "connector_send_outcome_unknown",
    message: detail,
    extra: { retryable: false, outcome_unknown: true },
  };
}

export function rejectedAnswer(rej: { code: string; detail: string }): Answer {
  return {
    ok: false,
    status: 502,
    code: "connector_send_rejected",
    message: rej.detail || `connector rejected the message: ${rej.code}`,
    extra: { retryable: false, connector_code: rej.code },
  };
}
