/**
 * Inbound tasks: one per MESSAGE_RECEIVED, and the one way each of them ends.
 *
 * Theory of operation:
 * 1. A task ends exactly once (`finish`). Accepted ⇒ its seq is reported to the cursor; not
 *    accepted ⇒ its seq is released (so a redelivery is processed again) and kept in `blocked`
 *    until a deferred acceptance or a later task accepts it.
 * 2. A deferred acceptance (a routed post the routed emitter retried successfully) may arrive while
 *    a newer task for the same seq is still running; it is remembered in `asyncAccepted` so that
 *    task's end does not block the seq again.
 * 3. Every step of a task runs inside `guard`: an exception is a bug in the core, so the task ends
 *    not accepted, the error counts as the core's internal error, and nothing escapes the core.
 */

import type { IpcChannels } from "../endpoints/channels.ts";
import type { ReconnectingBuffers } from "../endpoints/buffers.ts";
import type { CorrelationCache } from "../endpoints/correlation-cache.ts";
import type { RetryEmitter } from "../emitters/retry-emitter.ts";
import type { Env } from "../env.ts";
import type { InboxRow, MessageReceivedFrame, Registry } from "../model.ts";
import type { Cause } from "../types.ts";
import { type GateTicket, HandoffGate } from "./handoff-gate.ts";
import type { InboxReservation, UndispatchedInbox } from "./inbox.ts";
import type { RouteCache } from "./route-cache.ts";
import type { RoutingKeys } from "./routing.ts";

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
  /** A live assignment owns this undispatched id; absent = never. */
  boundToAssignment?: (undispatchedId: string) => boolean;
  /** This process surfaced the message from a dead endpoint's buffer; absent = never. */
  surfaced?: (messageId: string) => boolean;
  /** This message was handed to an endpoint: an earlier process's record still waiting to be surfaced is dropped; absent = none. */
  handedOff?: (messageId: string) => void;
}

export interface InboundTask {
  id: number;
  seq: number | undefined;
  messageId: string | undefined;
  startedAtMs: number;
  accepted: boolean;
  done: boolean;
  ticket: GateTicket | undefined;
  /** Inbox slot held while the closed-endpoint lookup is in flight. */
  reservation: InboxReservation | undefined;
}

/** A message as a task sees it: the frame, its metadata with a trace, its routing keys. */
export interface Msg {
  frame: MessageReceivedFrame;
  metadata: Record<string, unknown>;
  traceparent: string;
  keys: RoutingKeys;
}

export type InboxReason = InboxRow["reason"];

export class Tasks {
  /** Tasks not yet finished, by task id, in start order. */
  readonly inflight = new Map<number, InboundTask>();
  /** Seqs whose last task finished not accepted and that no deferred ack accepted since. */
  readonly blocked = new Set<number>();
  /** Seqs a deferred ack accepted while their task was still running. */
  readonly asyncAccepted = new Set<number>();
  /** Per-endpoint hand-off order; a task leaves it when it ends. */
  readonly gate = new HandoffGate();
  private nextTaskId = 1;

  constructor(private readonly d: PipelineDeps) {}

  open(seq: number | undefined, messageId: string | undefined): InboundTask {
    const task: InboundTask = {
      id: this.nextTaskId++,
      seq,
      messageId,
      startedAtMs: this.d.env.nowMs,
      accepted: false,
      done: false,
      ticket: undefined,
      reservation: undefined,
    };
    this.inflight.set(task.id, task);
    return task;
  }

  accepted(task: InboundTask): void {
    task.accepted = true;
    if (task.seq !== undefined) this.d.cursor.accept(task.seq);
    this.finish(task, true);
  }

  /** A queued routed post succeeded later: the seq counts as accepted now. */
  deferredAccept(seq: number): void {
    if (this.blocked.has(seq)) this.blocked.delete(seq);
    else this.asyncAccepted.add(seq);
    this.d.env.log("info", "inbound_deferred_ack", { seq });
    this.d.cursor.accept(seq);
  }

  /** End `task` (idempotent): it leaves the hand-off gate and gives back its inbox slot. */
  finish(task: InboundTask, accepted: boolean): void {
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

  /** A continuation of `task` that runs guarded. */
  cont<T>(task: InboundTask, fn: (v: T) => void): (v: T) => void {
    return (v: T) => this.guard(task, () => fn(v));
  }

  /** Run a step of `task` under its `task` cause; an exception ends the task not accepted. */
  guard(task: InboundTask, fn: () => void): void {
    const cause: Cause = { kind: "task", task: task.id };
    if (task.messageId !== undefined) cause.messageId = task.messageId;
    if (task.seq !== undefined) cause.seq = task.seq;
    try {
      this.d.env.withCause(cause, fn);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      this.d.env.log("error", "inbound_message_handling_failed", { seq: task.seq, message: e.message });
      this.finish(task, false);
      this.d.env.internalError(e, "inbound_task");
    }
  }
}
