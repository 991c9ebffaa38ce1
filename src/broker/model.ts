/**
 * Interfaces between the components of the core. Each is implemented in its own module; this file
 * exists so components can be written (and tested) against each other's contracts.
 */

import type { UndispatchedChangedEvent } from "./api.ts";
import type { MessageReceivedFrame } from "./connector/frames.ts";
import type { InboxReservation } from "./inbound/inbox.ts";
import type { Route } from "./ipc/http.ts";
import type { PushEnvelope, TargetRef } from "./types.ts";

export type EndpointState = "active" | "reconnecting";

export type BackgroundExchangeMode = "resident_endpoint" | "adapter_managed_turn";

/** One registered runtime endpoint (PROTOCOL §1.4). */
export interface EndpointEntry {
  endpointId: string;
  nonce: string;
  ownerToken: string;
  agentId?: string;
  pluginPid: number;
  kind: string;
  /** The IPC channel the endpoint is bound to (the pid's channel at register/reattach time). */
  channel: number;
  state: EndpointState;
  stateSinceMs: number;
  graceDeadlineMs?: number;
  capabilities: string[];
  runtimeSessionId?: string;
  backgroundExchangeMode?: BackgroundExchangeMode;
  /** Is this endpoint headless (no foreground UI)? From the register body `headless`. */
  headless: boolean;
  /** Registration order (routing scans in this order). */
  order: number;
}

export interface Registry {
  get(endpointId: string): EndpointEntry | undefined;
  /** Entries in registration order. */
  all(): Iterable<EndpointEntry>;
  /** Does `endpointId`'s correlation ring contain `correlationId`? */
  ringHas(endpointId: string, correlationId: string): boolean;
  ringAdd(endpointId: string, correlationId: string): void;
}

/** One undispatched inbox row (PROTOCOL §1.6). */
export interface InboxRow {
  id: string;
  source_message_id?: string;
  arrived_at: string;
  sender_address: string;
  content: string;
  content_type: string;
  metadata: Record<string, unknown>;
  reason: "unaddressed" | "closed_session_continuation" | "correlated_continuation";
  original_target_endpoint_id?: string;
  original_correlation_id?: string;
}

export interface Inbox {
  readonly size: number;
  readonly capacity: number;
  has(id: string): boolean;
  get(id: string): InboxRow | undefined;
  /** Add or overwrite. Overwrite always succeeds; a new id fails when full unless it brings a reservation. */
  tryAdd(row: InboxRow, reservation?: InboxReservation, onDurable?: (ok: boolean) => void): boolean;
  /** Put back an accepted row that was taken; it always fits, over the capacity if need be. */
  readmit(row: InboxRow): void;
  /** Remove and return; the row stays in the inbox journal until `settle` (inbound/inbox.ts). */
  take(id: string): InboxRow | undefined;
  /** Record in the journal that a taken row's message is safe elsewhere or gone for good. */
  settle(id: string): void;
  /** `take` and `settle`. */
  drop(id: string): InboxRow | undefined;
  /** Did a row with this id leave the inbox for good (handed off or settled, not back since)? */
  departed(id: string): boolean;
  values(): Iterable<InboxRow>;
  /** Hold one free slot for a later `tryAdd`; undefined when none is free. */
  reserve(quiet?: boolean): InboxReservation | undefined;
  release(reservation: InboxReservation | undefined): void;
  /** Whether a non-quiet `reserve` was refused since the last call (inbound wanted a slot); clears it. */
  takeRefused(): boolean;
  /** Keep one free slot that only a non-quiet `reserve` may use; false when none is free. */
  keepForInbound(): boolean;
  /** Slots kept for inbound and not yet reserved. */
  readonly kept: number;
  /** Give back every slot kept for inbound; returns how many. */
  releaseKept(): number;
  /** Call `fn` after every `take` that removed a row. */
  onSlotFreed(fn: () => void): void;
}

/** Result of a push on an IPC channel. `received` = receipt acked (or no receipt capability and OPEN). */
export type PushCallback = (received: boolean) => void;

export interface Channels {
  /** The current channel of `pid`, if open. */
  channelOf(pid: number): number | undefined;
  isOpen(channel: number): boolean;
  /**
   * Push `message_received` on `channel`; with a receipt when the channel advertised
   * `push_receipt_ack_v1`. `cb(false)` on closed socket, timeout, channel close.
   */
  pushMessage(channel: number, envelope: PushEnvelope, cb: PushCallback): void;
}

/** Endpoint reconnecting buffers (in-memory mirror of what storage persisted). */
export interface Buffers {
  /** Append through storage; `cb(ok)` after storage answered. Duplicate ids are skipped (ok). */
  append(endpointId: string, id: string, envelope: PushEnvelope, cb: (ok: boolean) => void): void;
  count(endpointId: string): number;
}

/** What the assignments component needs from the rest of the broker, and what it gives back. */
export interface AssignmentsHooks {
  /** The endpoint left the registry (closed): restore its unaccepted assignments. */
  onEndpointRemoved(endpointId: string, reason: string): void;
  /** Shutdown flush (§5.10). */
  onShutdown(): void;
}

export type { MessageReceivedFrame, TargetRef };

/** Outcome of a connector send (SEND_MESSAGE → SEND_ACK). */
export type SendResult =
  | { ok: true; messageId: string; status: "delivered" | "stored" }
  /** Socket not OPEN: nothing was written; safe to retry. */
  | { ok: false; error: "unavailable"; messageId: string }
  /** Written, but no SEND_ACK (timeout or connection closed): outcome unknown, do not resend. */
  | { ok: false; error: "outcome_unknown"; messageId: string; detail: string }
  /** The connector answered with an ERROR frame for this message id. */
  | { ok: false; error: "rejected"; messageId: string; code: string; detail: string };

export interface OutboundMessage {
  to: string;
  content: string;
  contentType: string;
  metadata?: Record<string, unknown>;
}

export interface ConnectorPort {
  /** Is the connector socket OPEN and registered? */
  readonly ready: boolean;
  /**
   * Write a SEND_MESSAGE with `messageId` (callers that need a stable wire id pass their own;
   * otherwise a fresh one is drawn) and call `cb` with the outcome.
   */
  send(msg: OutboundMessage, cb: (r: SendResult) => void, messageId?: string): string;
}

/** The reply-correlation cache of §1.10. */
export interface ReplyCorrelations {
  record(correlationId: string, endpointId: string): void;
  ownerOf(correlationId: string): string | undefined;
}

/** Everything the assignments/replies/control component uses from the rest of the core. */
export interface AssignmentDeps {
  registry: Registry;
  inbox: Inbox;
  channels: Channels;
  buffers: Buffers;
  connector: ConnectorPort;
  correlations: ReplyCorrelations;
  /** Queue an `undispatched_changed` event through the undispatched retry emitter. */
  enqueueUndispatched(event: UndispatchedChangedEvent): void;
  /** Apply the `explicit_unregister` transition to an endpoint (force_unregister). */
  unregisterEndpoint(endpointId: string): void;
}

/** What the assignments component exposes to the composition root. */
export interface AssignmentsComponent extends AssignmentsHooks {
  /** IPC routes it serves (assignment-reply, processing-state, dispatch). */
  routes: Route[];
  /** Feed a control event; the component emits the `control_ack` output itself. */
  onControlEvent(event: unknown): void;
  /** Live records, for snapshots and checkers. */
  records(): Iterable<{
    key: string;
    assignmentId: string;
    undispatchedId: string;
    targetEndpointId: string;
    accepted: boolean;
    lastStateSequence: number;
  }>;
  /**
   * Undispatched ids of live assignments whose target has the message (pushed with receipt or
   * buffered), for A11.
   */
  liveUndispatchedIds(): string[];
  /** Undispatched ids taken from the inbox by a dispatch whose `assigned` post is in flight (A10). */
  heldUndispatchedIds(): string[];
  /**
   * A live assignment (or a dispatch in flight) owns this undispatched id: a redelivered copy of
   * the message must not become a second inbox row (A11).
   */
  isBound(undispatchedId: string): boolean;
}
