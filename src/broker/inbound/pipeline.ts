/**
 * Inbound pipeline (PROTOCOL §1.8): what happens to every MESSAGE_RECEIVED the connector delivers.
 *
 * Theory of operation:
 * 1. Each message starts a task. Tasks are independent: a task waiting for the platform never blocks
 *    another one, except through the hand-off gate (point 5).
 * 2. A delivered-route cache hit ⇒ re-post the routed event only, whatever routing says now (R1,
 *    a deviation, see `decide`). Otherwise routing (§1.7) picks an endpoint E or none; the §1.8
 *    decision table sends the message to the inbox (with an `undispatched_changed add` posted
 *    directly) or hands it to E: route claim (`skip` ⇒ accepted, nothing delivered), then push
 *    (E active) or buffer append (E reconnecting), then the routed post.
 * 3. A sequenced task reports accepted (`connector.accept(seq)`) only once its outcome is final:
 *    pushed with receipt, appended, inbox row posted, claim `skip`, or routed post ok. An inbox row
 *    is posted only once its journal write is on disk (L9, see inbound/inbox.ts); a failed write
 *    ends the task not accepted and the row waits in memory for the redelivery to write it again. Otherwise its
 *    seq is released (`connector.release(seq)`) so a redelivery is processed, and kept in `blocked`.
 * 4. Deferred ack: a routed post that failed transiently is queued on the routed emitter with an
 *    on-success callback that accepts the seq later.
 * 5. R5 — deviation from the reference: hand-offs to one endpoint are released in seq order. A
 *    sequenced task routed to E joins E's gate before its route claim and may push/append only
 *    when no lower-seq task of E's gate is still waiting; a task ending without hand-off leaves.
 * 6. Before pushing or appending the task re-reads E from the registry (E3, R3): removed ⇒ not
 *    accepted; the current state decides push vs append and the route kind of the routed event.
 * 7. Any exception inside a task ends it not accepted (`inbound_message_handling_failed`); it never
 *    escapes the core with the task left running.
 * 8. L1 — deviation from the reference: inbox slots go to tasks in arrival order. A task that needs
 *    the closed-endpoint lookup before it knows its inbox reason reserves a slot when it starts
 *    (no slot ⇒ not accepted at once, as a full inbox would answer after the lookup) and consumes
 *    it when the row is added; `finish` gives back a reservation still held. Without this, every
 *    replay burst's later seqs took the freed slots while the head seq waited for its lookup, and
 *    the cursor never moved past it.
 * 9. L1 — deviation: an inbox add answered `undispatched_row_settled` (a redelivered message the
 *    platform already saw handled) counts as accepted like a claim `skip`; its row leaves the inbox.
 * 10. A11 — deviation: a message whose id is bound to a live runtime assignment is not added to the
 *    inbox again. This is the redelivery of a message whose `undispatched_changed add` reached the
 *    platform (it was dispatched from it) but whose answer was lost, so the seq was released; a
 *    second row would sit beside the assignment, never be dispatched, and never expire. The seq
 *    counts as accepted: the platform has the row and the assignment has the message.
 * 11. R1 — a message this process surfaced into the inbox from a dead endpoint's buffer (L5, see
 *    endpoints/buffer-surfacer.ts) stays an inbox message when the connector redelivers it.
 * 12. L9 — deviation: the row is written to the inbox journal before its add is posted (point 3).
 *    A row a dispatch took while the write was in flight is not announced again: the task counts
 *    as accepted, as in point 10, while an assignment holds the row (or the row left the inbox for
 *    good). A row whose dispatch failed and could not be put back at capacity is held by nobody:
 *    the task ends not accepted and the redelivery adds the row again (S1).
 * Planted fault `ackBeforeHandoff`: the seq is accepted when the task starts (breaks S1/R1).
 */

import {
  type RoutedEvent,
  type RouteClaimEvent,
  UNDISPATCHED_ROW_SETTLED,
  type UndispatchedChangedEvent,
} from "../api.ts";
import type { IpcChannels } from "../endpoints/channels.ts";
import type { ReconnectingBuffers } from "../endpoints/buffers.ts";
import type { CorrelationCache } from "../endpoints/correlation-cache.ts";
import type { RetryEmitter } from "../emitters/retry-emitter.ts";
import type { Env } from "../env.ts";
import type { EndpointEntry, InboxRow, MessageReceivedFrame, Registry } from "../model.ts";
import type { PushEnvelope } from "../types.ts";
import { type GateTicket, HandoffGate } from "./handoff-gate.ts";
import type { InboxReservation, UndispatchedInbox } from "./inbox.ts";
import type { RouteCache } from "./route-cache.ts";
import { type RoutingKeys, route, routingKeys } from "./routing.ts";
import { preview, traceIdOf, withTrace } from "./trace.ts";

/** The cursor side of the connector the pipeline reports to. */
export interface CursorPort {
  accept(seq: number): void;
  release(seq: number): void;
}

export interface PipelineDeps {
  env: Env;
  registry: Registry;
  inbox: UndispatchedInbox;
  channels: IpcChannels;
  buffers: ReconnectingBuffers;
  correlations: CorrelationCache;
  routeCache: RouteCache;
  routedEmitter: RetryEmitter<"inbound_routed">;
  undispatchedEmitter: RetryEmitter<"undispatched_changed">;
  cursor: CursorPort;
  /** A live assignment owns this undispatched id (point 10); absent = never. */
  boundToAssignment?: (undispatchedId: string) => boolean;
  /** This process surfaced the message from a dead endpoint's buffer (point 11); absent = never. */
  surfaced?: (messageId: string) => boolean;
}

export interface InboundTask {
  id: number;
  seq: number | undefined;
  messageId: string | undefined;
  startedAtMs: number;
  accepted: boolean;
  done: boolean;
  ticket: GateTicket | undefined;
  /** Inbox slot held while the closed-endpoint lookup is in flight (point 8). */
  reservation: InboxReservation | undefined;
}

interface Msg {
  frame: MessageReceivedFrame;
  metadata: Record<string, unknown>;
  traceparent: string;
  keys: RoutingKeys;
}

type InboxReason = InboxRow["reason"];

export class InboundPipeline {
  /** Tasks not yet finished, by task id, in start order. */
  readonly inflight = new Map<number, InboundTask>();
  /** Seqs whose last task finished not accepted and that no deferred ack accepted since. */
  readonly blocked = new Set<number>();
  /** Seqs a deferred ack accepted while their task was still running. */
  readonly asyncAccepted = new Set<number>();
  readonly gate = new HandoffGate();
  private nextTaskId = 1;

  constructor(private readonly d: PipelineDeps) {}

  start(frame: MessageReceivedFrame): void {
    const { env } = this.d;
    const seq = typeof frame.seq === "number" && Number.isInteger(frame.seq) ? frame.seq : undefined;
    const task: InboundTask = {
      id: this.nextTaskId++,
      seq,
      messageId:
        typeof frame.messageId === "string" && frame.messageId.length > 0 ? frame.messageId : undefined,
      startedAtMs: env.nowMs,
      accepted: false,
      done: false,
      ticket: undefined,
      reservation: undefined,
    };
    this.inflight.set(task.id, task);
    if (seq !== undefined && env.faults.ackBeforeHandoff) this.d.cursor.accept(seq);
    this.guard(task, () => {
      const raw = isRecord(frame.metadata) ? frame.metadata : {};
      const { metadata, traceparent } = withTrace(raw, env.random);
      this.decide(task, { frame, metadata, traceparent, keys: routingKeys(metadata) });
    });
  }

  /** DELIVERY_PENDING is legacy (the connector logs and ignores it); we add the blocked seqs. */
  deliveryPending(): void {
    this.d.env.log("debug", "delivery_pending_blocked_seqs", { blocked: [...this.blocked] });
  }

  private decide(task: InboundTask, msg: Msg): void {
    const { registry, env } = this.d;
    // R1 — deviation from the reference, which consults the delivered-route cache only when
    // routing finds an endpoint: a message this process already handed to an endpoint keeps that
    // one outcome even if its endpoint has been removed since. Otherwise the redelivery of a message
    // whose routed post failed would also go to the inbox, and the platform could dispatch a second
    // copy of what the plugin already has.
    // A message whose buffer record was surfaced into the inbox (its endpoint was removed, L5) has
    // the inbox as its one destination now, even though the route cache still names the endpoint
    // it was buffered for: re-posting that routed event would announce a destination that no longer
    // holds it. So the surfaced check comes first.
    if (task.messageId !== undefined && this.d.surfaced?.(task.messageId) === true) {
      this.alreadySurfaced(task, msg, task.messageId);
      return;
    }
    if (task.messageId !== undefined) {
      const cached = this.d.routeCache.get(task.messageId);
      if (cached) {
        env.log("debug", "delivered_route_cache_hit", { message_id: task.messageId, seq: task.seq });
        this.postRouted(task, cached);
        return;
      }
    }
    const decision = route(registry, msg.keys);
    if (decision.kind === "endpoint") {
      const e = decision.entry;
      if (decision.collisions.length > 0) {
        env.log("warn", "correlation_id_collision", {
          correlation_id: msg.keys.correlationId,
          endpoint_id: e.endpointId,
          others: decision.collisions,
        });
      }
      const cid = msg.keys.correlationId;
      const continuation = cid !== undefined && registry.ringHas(e.endpointId, cid);
      if (isBackgroundTarget(e) && !continuation) {
        this.toInbox(task, msg, "unaddressed", e.endpointId);
        return;
      }
      if (continuation && !e.headless && !e.capabilities.includes("foreground_channel_v1")) {
        this.toInbox(task, msg, "correlated_continuation", e.endpointId);
        return;
      }
      this.handOff(task, msg, e);
      return;
    }
    const target = msg.keys.targetEndpointId;
    if (target === undefined) {
      this.toInbox(task, msg, "unaddressed", undefined);
      return;
    }
    if (!this.reserveInboxSlot(task)) return;
    env.api(
      "closed_endpoint_lookup",
      { endpoint_id: target },
      this.cont(task, (r) => {
        if (r.ok && r.retired === true) return this.toInbox(task, msg, "closed_session_continuation", target);
        if (!r.ok) env.log("warn", "closed_lookup_failed", { endpoint_id: target, status: r.status });
        this.toInbox(task, msg, "unaddressed", undefined);
      }),
    );
  }

  /**
   * Point 11: a redelivery of a message this process surfaced from a buffer keeps the inbox as its
   * one destination (R1): the row is overwritten and its add posted again; if the row has been
   * dispatched meanwhile, the surfaced add was its outcome and the seq is accepted as it is.
   */
  private alreadySurfaced(task: InboundTask, msg: Msg, messageId: string): void {
    const row = this.d.inbox.get(messageId);
    this.d.env.log("info", "inbound_already_surfaced", {
      message_id: messageId,
      seq: task.seq,
      in_inbox: !!row,
    });
    if (row) {
      this.toInbox(task, msg, row.reason, row.original_target_endpoint_id);
      return;
    }
    this.accepted(task);
  }

  /**
   * Point 8: hold a slot for a task whose inbox row is only added after the lookup. A row that
   * already exists under the message id will be overwritten (always possible), so it needs none.
   */
  private reserveInboxSlot(task: InboundTask): boolean {
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
    this.finish(task, false);
    return false;
  }

  private toInbox(task: InboundTask, msg: Msg, reason: InboxReason, hint: string | undefined): void {
    const { env, inbox } = this.d;
    if (task.messageId !== undefined && this.d.boundToAssignment?.(task.messageId) === true) {
      env.log("info", "undispatched_row_bound_skip", { id: task.messageId, seq: task.seq });
      this.accepted(task);
      return;
    }
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
    const reservation = task.reservation;
    task.reservation = undefined;
    let durable: boolean | undefined;
    let announce: (() => void) | undefined;
    const added = inbox.tryAdd(
      row,
      reservation,
      this.cont(task, (ok: boolean) => {
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
      this.finish(task, false);
      return;
    }
    env.log("info", "undispatched_added", { id, reason, seq: task.seq });
    // L9: the row is on disk before the platform hears of it, so before its seq can be acked.
    announce = () => {
      if (durable === false) {
        env.log("warn", "undispatched_inbox_persist_failed", { id, seq: task.seq });
        this.finish(task, false);
        return;
      }
      // A dispatch took the row while it was being written: the platform knew the row already
      // (it dispatched it), so the message is where point 10 would find it. Announcing it now
      // would tell the platform the broker holds it undispatched again, and the platform would
      // dispatch a row that is gone.
      if (!this.d.inbox.has(id)) {
        // Point 12: only a row an assignment holds, or one that left the inbox for good, is safe.
        if (this.d.boundToAssignment?.(id) === true || this.d.inbox.departed(id)) {
          env.log("info", "undispatched_row_taken_while_persisting", { id, seq: task.seq });
          this.accepted(task);
        } else {
          env.log("warn", "undispatched_row_lost_while_persisting", { id, seq: task.seq });
          this.finish(task, false);
        }
        return;
      }
      this.announceRow(task, msg, id, reason, hint);
    };
    if (durable !== undefined) announce();
  }

  private announceRow(
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
      this.cont(task, (r) => {
        if (r.ok) return this.accepted(task);
        if (r.terminal && r.code === UNDISPATCHED_ROW_SETTLED) return this.settledRow(task, id);
        env.log("warn", "undispatched_changed_direct_post_failed", {
          id,
          status: r.status,
          terminal: r.terminal,
        });
        if (task.seq === undefined && !r.terminal) this.d.undispatchedEmitter.enqueue(event);
        this.finish(task, false);
      }),
    );
  }

  /**
   * L1 — deviation: the platform answered the add `undispatched_row_settled`, so this is the
   * redelivery of a message it dispatched and saw handled (before a broker crash, typically). Like a
   * route-claim `skip`, the message counts as handled; the row leaves the inbox, because the
   * platform will never dispatch it and rows do not expire (§1.6).
   */
  private settledRow(task: InboundTask, id: string): void {
    this.d.inbox.drop(id);
    this.d.env.log("info", "undispatched_row_settled_skip", { id, seq: task.seq });
    this.accepted(task);
  }

  private handOff(task: InboundTask, msg: Msg, e: EndpointEntry): void {
    const { env } = this.d;
    const endpointId = e.endpointId;
    if (task.seq !== undefined) task.ticket = this.gate.join(endpointId, task.seq);
    const deliver = () => this.deliver(task, msg, endpointId);
    if (task.messageId === undefined) {
      this.whenTurn(task, deliver);
      return;
    }
    const claim: RouteClaimEvent = {
      type: "runtime_inbound_route_claim",
      version: 1,
      source_message_id: task.messageId,
      routed_to_endpoint_id: endpointId,
      route_kind: e.state === "active" ? "active_endpoint" : "reconnecting_endpoint",
      claimed_at: env.nowMs,
    };
    env.api(
      "inbound_route_claim",
      claim,
      this.cont(task, (r) => {
        if (!r.ok || (r.action !== "route" && r.action !== "skip")) {
          env.log("warn", "runtime_inbound_route_claim_failed", {
            message_id: task.messageId,
            status: r.ok ? undefined : r.status,
          });
          return this.finish(task, false);
        }
        if (r.action === "skip") {
          env.log("info", "runtime_inbound_route_claim_skip", { message_id: task.messageId, seq: task.seq });
          return this.accepted(task);
        }
        this.whenTurn(task, deliver);
      }),
    );
  }

  private whenTurn(task: InboundTask, go: () => void): void {
    if (!task.ticket) {
      this.guard(task, go);
      return;
    }
    this.gate.whenTurn(task.ticket, () => this.guard(task, go));
  }

  private deliver(task: InboundTask, msg: Msg, endpointId: string): void {
    const { env, registry, channels, buffers } = this.d;
    const e = registry.get(endpointId);
    if (!e) {
      env.log("warn", "inbound_endpoint_gone", { endpoint_id: endpointId, seq: task.seq });
      this.finish(task, false);
      return;
    }
    const f = msg.frame;
    const envelope: PushEnvelope = {
      from: f.from,
      content: f.content,
      contentType: f.contentType,
      metadata: msg.metadata,
    };
    if (task.messageId !== undefined) envelope.sourceMessageId = task.messageId;
    if (e.state === "active") {
      channels.pushMessage(
        e.channel,
        envelope,
        this.cont(task, (received) => {
          if (!received) {
            env.log("warn", "ipc_push_not_received", { endpoint_id: endpointId, seq: task.seq });
            return this.finish(task, false);
          }
          this.handedOff(task, msg, endpointId, "active_endpoint");
        }),
      );
      return;
    }
    buffers.append(
      endpointId,
      task.messageId ?? env.random.uuid(),
      envelope,
      this.cont(task, (ok) => {
        if (!ok) return this.finish(task, false);
        env.log("info", "buffered_for_reconnecting_endpoint", { endpoint_id: endpointId, seq: task.seq });
        this.handedOff(task, msg, endpointId, "reconnecting_endpoint");
      }),
    );
  }

  private handedOff(task: InboundTask, msg: Msg, endpointId: string, kind: RoutedEvent["route_kind"]): void {
    const cid = msg.keys.correlationId;
    if (cid !== undefined) this.d.correlations.record(cid, endpointId);
    if (task.messageId === undefined) {
      this.accepted(task);
      return;
    }
    const event: RoutedEvent = {
      type: "runtime_inbound_routed",
      version: 1,
      source_message_id: task.messageId,
      routed_to_endpoint_id: endpointId,
      route_kind: kind,
      routed_at: this.d.env.nowMs,
    };
    this.d.routeCache.set(task.messageId, event);
    this.postRouted(task, event);
  }

  private postRouted(task: InboundTask, event: RoutedEvent): void {
    const { env, routedEmitter } = this.d;
    env.api(
      "inbound_routed",
      event,
      this.cont(task, (r) => {
        if (r.ok) return this.accepted(task);
        env.log("warn", "runtime_inbound_routed_direct_post_failed", {
          message_id: event.source_message_id,
          status: r.status,
          terminal: r.terminal,
        });
        if (r.terminal) return this.finish(task, false);
        const seq = task.seq;
        if (seq === undefined) return this.finish(task, routedEmitter.enqueue(event));
        routedEmitter.enqueue(event, () => this.deferredAccept(seq));
        this.finish(task, false);
      }),
    );
  }

  /** A queued routed post succeeded later: the seq counts as accepted now. */
  private deferredAccept(seq: number): void {
    if (this.blocked.has(seq)) this.blocked.delete(seq);
    else this.asyncAccepted.add(seq);
    this.d.env.log("info", "inbound_deferred_ack", { seq });
    this.d.cursor.accept(seq);
  }

  private accepted(task: InboundTask): void {
    task.accepted = true;
    if (task.seq !== undefined) this.d.cursor.accept(task.seq);
    this.finish(task, true);
  }

  private finish(task: InboundTask, accepted: boolean): void {
    if (task.done) return;
    task.done = true;
    this.inflight.delete(task.id);
    if (task.ticket) this.gate.leave(task.ticket);
    this.d.inbox.release(task.reservation);
    task.reservation = undefined;
    const seq = task.seq;
    if (seq === undefined) return;
    if (accepted || this.asyncAccepted.has(seq)) {
      this.blocked.delete(seq);
      this.asyncAccepted.delete(seq);
      return;
    }
    this.d.cursor.release(seq);
    this.blocked.add(seq);
  }

  private cont<T>(task: InboundTask, fn: (v: T) => void): (v: T) => void {
    return (v: T) => this.guard(task, () => fn(v));
  }

  private guard(task: InboundTask, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      this.d.env.log("error", "inbound_message_handling_failed", { seq: task.seq, message: e.message });
      this.finish(task, false);
    }
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isBackgroundTarget(e: EndpointEntry): boolean {
  return (
    e.capabilities.includes("background_exchange_v1") &&
    (e.backgroundExchangeMode === "resident_endpoint" || e.backgroundExchangeMode === "adapter_managed_turn")
  );
}
