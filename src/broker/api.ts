/**
 * The platform API port (PROTOCOL.md §4) as data: each operation the core can ask the driver to
 * perform, its arguments, and the result the driver returns in an `api_result` input.
 *
 * Outcome convention for every op: `{ ok: true, ... }` or a `Failure`. A failure is *terminal* when
 * retrying cannot help (4xx), *transient* otherwise (5xx, network error, timeout). Operations that
 * the reference package models as "resolve or throw" use the same shape.
 */

import type { TargetRef } from "./types.ts";

export type AssignmentFailureCategory =
  | "assignment_in_progress"
  | "target_unavailable_before_acceptance"
  | "acceptance_rejected"
  | "processing_failed_or_expired"
  | "reply_handle_stale";

export interface Failure {
  ok: false;
  terminal: boolean;
  status?: number;
  code?: string;
  detail?: string;
  assignmentFailureCategory?: AssignmentFailureCategory;
}

/**
 * Failure code of an `undispatched_changed add` for a row the platform has already settled (its
 * message was dispatched and handled). A redelivery of a message handled before a broker crash
 * meets it; the broker treats it like a route-claim `skip` (see docs/deviations.md, L1).
 */
export const UNDISPATCHED_ROW_SETTLED = "undispatched_row_settled";

export type Ok<T = unknown> = { ok: true } & T;
export type Outcome<T = unknown> = Ok<T> | Failure;

export interface RegisterArgs {
  nonce: string;
  plugin_pid: number;
  kind: string;
  agent_id?: string;
  capabilities: string[];
  workspace?: { root: string; cwd: string; remote?: string; branch?: string };
  runtime_session_id?: string;
  background_exchange_mode?: string;
  display_label: string;
  /** Display metadata the plugin sent (published SDK `registerEndpoint`), passed through. */
  session_name?: string;
  tracking_ref?: string;
  task_hint?: string;
  /** `headless` or any other surface name; `headless` also makes the entry headless (§1.8). */
  execution_surface?: string;
}

export interface UndispatchedChangedEvent {
  type: "undispatched_changed";
  version: 1;
  action: "add" | "remove";
  undispatched_id: string;
  source_message_id?: string;
  sender_address?: string;
  content_preview?: string;
  reason?: "no_target_endpoint" | "closed_session_continuation" | "correlated_continuation";
  target_endpoint_id_hint?: string;
  in_reply_to?: string;
  traceparent?: string;
  traceId?: string;
  arrived_at?: number;
  remove_reason?: "lost_at_capacity_during_redispatch_bounce";
}

export interface RouteClaimEvent {
  type: "runtime_inbound_route_claim";
  version: 1;
  source_message_id: string;
  routed_to_endpoint_id: string;
  route_kind: "active_endpoint" | "reconnecting_endpoint";
  claimed_at: number;
}

export interface RoutedEvent {
  type: "runtime_inbound_routed";
  version: 1;
  source_message_id: string;
  routed_to_endpoint_id: string;
  route_kind: "active_endpoint" | "reconnecting_endpoint";
  routed_at: number;
}

/** Every processing state of PROTOCOL §5.3, in lifecycle order. */
export const PROCESSING_STATES = [
  "assigned_to_runtime_target",
  "delivery_attempted",
  "adapter_accepted",
  "processing_started",
  "reply_requested",
  "reply_emitted",
  "processing_failed",
  "waiting_for_runtime_capability",
  "target_lost_before_acceptance",
  "processing_interrupted",
  "expired",
] as const;

export type ProcessingState = (typeof PROCESSING_STATES)[number];

export interface ProcessingStateEvent {
  type: "runtime_processing_state";
  version: 1;
  source_message_id: string;
  assignment_id: string;
  state_event_id: string;
  state_sequence: number;
  target_ref: TargetRef;
  state: ProcessingState;
  occurred_at: number;
  undispatched_id?: string;
  retryable?: boolean;
  reason_code?: string;
  detail?: string;
  reply_request_id?: string;
  outbound_message_id?: string;
  broker_projection_token?: string;
}

export interface PresenceChangedEvent {
  type: "network_presence_changed";
  version: 1;
  state: "online" | "reconnecting" | "offline";
  ts: number;
  reason?: string;
}

/** Arguments of each port operation. */
export interface ApiArgs {
  register: RegisterArgs;
  heartbeat: { endpoint_id: string };
  unregister: { endpoint_id: string };
  transition_state: {
    endpoint_id: string;
    state: "active" | "reconnecting" | "closed";
    reason: string;
    ts: string;
  };
  undispatched_changed: UndispatchedChangedEvent;
  inbound_route_claim: RouteClaimEvent;
  inbound_routed: RoutedEvent;
  processing_state: ProcessingStateEvent;
  presence_changed: PresenceChangedEvent;
  /** Does this endpoint id name an endpoint the platform has retired? */
  closed_endpoint_lookup: { endpoint_id: string };
  /** Platform claim candidates for `GET /v1/undispatched` (§3.2). */
  list_claim_candidates: { endpoint_id: string; endpoint_nonce: string; limit: number };
}

/** A success that carries nothing beyond `ok: true`. */
export type EmptyBody = Record<never, never>;

/** Success payloads per op (failures are always `Failure`). */
export interface ApiOkBodies {
  register: { endpoint_id: string; heartbeat_after_seconds?: number; session_naming?: unknown };
  heartbeat: EmptyBody;
  unregister: EmptyBody;
  transition_state: EmptyBody;
  undispatched_changed: EmptyBody;
  inbound_route_claim: { action: "route" | "skip" };
  inbound_routed: EmptyBody;
  processing_state: EmptyBody;
  presence_changed: EmptyBody;
  closed_endpoint_lookup: { retired: boolean };
  list_claim_candidates: { items: ClaimCandidate[] };
}

export interface ClaimCandidate {
  undispatched_id: string;
  source_message_id?: string;
  content_preview?: string;
  sender_address?: string;
  reason?: string;
  claim_policy?: string;
  active_assignment_id?: string;
  active_target_endpoint_id?: string;
  conversation_ref?: unknown;
  target_endpoint_id_hint?: string;
  in_reply_to?: string;
  arrived_at?: number;
}

export type ApiOp = keyof ApiArgs;
export type ApiResult<K extends ApiOp> = Ok<ApiOkBodies[K]> | Failure;
