/**
 * The broker core's boundary: everything that enters the core is an `Input`, everything it does to
 * the world is an `Output`. Drivers (the simulator in `sim/`, the Node daemon in `src/daemon/`)
 * translate between these records and real or simulated I/O.
 *
 * Rules every driver keeps:
 * 1. Inputs are handed to `BrokerCore.handle(input, nowMs)` one at a time; `nowMs` never decreases.
 * 2. After each `handle`/`advance` call the driver takes the outputs (`takeOutputs()`) and performs
 *    them in order.
 * 3. Every `connector_connect` is answered by exactly one `connector_open` or `connector_closed`;
 *    every `connector_close` the core asked for is answered by a `connector_closed`.
 * 4. Every `api_call` is answered by exactly one `api_result` with the same id (unless the broker
 *    was shut down); the same for `storage` / `storage_result`.
 * 5. Every `ipc_request` is answered by the core with exactly one `ipc_response` with the same id,
 *    possibly much later (requests that wait for the platform stay pending in the core).
 */

import type { ApiOp, ApiArgs, ApiResult } from "./api.ts";
import type { InboundFrameText, OutboundFrame } from "./connector/frames.ts";
import type { Deadline } from "./deadline-kinds.ts";
import type { InboxRow } from "./model.ts";

/** Injected randomness. The simulator passes a seeded stream, the daemon a crypto-backed one. */
export interface Random {
  /** A RFC 4122 version-4 shaped UUID string. */
  uuid(): string;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** Uniform float in [0, 1). */
  float(): number;
  /** `n` random bytes, hex encoded (2n characters). */
  hex(n: number): string;
}

/**
 * Storage operations. Buffers are NDJSON files per endpoint; the cursor is one small JSON file; the
 * undispatched inbox is a journal of row puts and removes (a deviation, docs/durability.md).
 */
export type StorageOp =
  | { op: "write_cursor"; lastKnownSeq: number }
  | { op: "append_buffer"; endpointId: string; record: BufferRecord }
  | { op: "delete_buffer"; endpointId: string }
  | { op: "inbox_put"; row: InboxRow }
  | { op: "inbox_remove"; id: string };

export interface BufferRecord {
  id: string;
  arrived_at: string;
  envelope: PushEnvelope;
}

/** What a plugin receives in a `message_received` push, minus the transport fields. */
export interface PushEnvelope {
  from: string;
  content: string;
  contentType: string;
  metadata?: Record<string, unknown>;
  sourceMessageId?: string;
  runtimeAssignment?: RuntimeAssignmentRef;
}

export interface RuntimeAssignmentRef {
  undispatchedId: string;
  sourceMessageId: string;
  assignmentId: string;
  targetRef: TargetRef;
  deliveryIntent: "external_handoff";
  replyCorrelationId?: string;
  originalTraceId?: string;
}

export interface TargetRef {
  kind: "projection_endpoint";
  projection_endpoint_id: string;
  background_exchange_mode: "resident_endpoint" | "adapter_managed_turn";
  runtime_session_id?: string;
}

/** Frames the broker writes on a plugin's `/v1/stream` socket. */
export type PushFrame =
  | ({ event: "message_received"; push_id?: string } & PushEnvelope)
  | { event: "presence_changed"; presence: string; reason?: string };

export type HttpMethod = "GET" | "POST" | "DELETE" | "PUT" | "PATCH";

export type Input =
  /** Start the broker: it asks for its first connector socket. */
  | { kind: "start" }
  /** The socket asked for by `connector_connect` is open. */
  | { kind: "connector_open" }
  /** A text frame arrived on the connector socket (not yet parsed: the core validates it). */
  | { kind: "connector_frame"; text: InboundFrameText }
  /** The connector socket closed (or failed to open). */
  | { kind: "connector_closed"; code: number; reason: string }
  | { kind: "api_result"; id: number; result: ApiResult<ApiOp> }
  | { kind: "storage_result"; id: number; ok: boolean; error?: string }
  /** A plugin opened `/v1/stream`. `channel` is a driver-chosen id, never reused by one driver. */
  | { kind: "ipc_channel_open"; channel: number; pid: number; capabilities: readonly string[] }
  | { kind: "ipc_channel_message"; channel: number; text: string }
  /** A plugin stream closed; `pluginAlive` is the driver's liveness probe of the channel's pid. */
  | { kind: "ipc_channel_closed"; channel: number; pluginAlive: boolean }
  /**
   * An authenticated IPC HTTP request. `path` is the raw URL (with query). `pidHeader` is the raw
   * `x-plugin-pid` header. `body` is the parsed JSON body (`undefined` for GET/DELETE without body).
   */
  | { kind: "ipc_request"; id: number; method: HttpMethod; path: string; pidHeader?: string; body: unknown }
  /** A platform control event (already parsed from the SSE stream). */
  | { kind: "control_event"; event: unknown }
  | { kind: "shutdown" };

/**
 * Why the core produced an output, as plain data. Every output of the core carries one:
 * - `task`: an inbound pipeline task (PROTOCOL §1.8) working on one message, in any of its steps
 *   (the frame itself, the answers to its calls, its push receipt, its turn at the hand-off gate);
 * - `queue`: a retry emitter (§1.9) posting an item, or acting on the answer to that post;
 *   `attempt` counts from 1 and `repeats` is the id of the post this attempt repeats;
 * - `timer`: a deadline that fired, as data (`deadline.kind` and its id fields, deadline-kinds.ts);
 * - `request`: an IPC HTTP request and whatever waits on its behalf (a reattach drain, say);
 * - `input`: any other input, handled directly.
 * A continuation keeps the cause of the work that asked for it: the answer to a platform call or a
 * storage op, a push receipt and a gate turn act under the cause that made the call, the push or
 * the wait.
 */
export type Cause =
  | { kind: "task"; task: number; messageId?: string; seq?: number }
  | { kind: "queue"; queue: string; attempt: number; repeats?: number; ids: string[] }
  | { kind: "timer"; deadline: Deadline }
  | { kind: "request"; request: number; method: HttpMethod; path: string }
  | { kind: "input"; input: Input["kind"]; channel?: number };

/**
 * Outputs carry their `cause` (see `Cause`). It is optional in the type because other brokers
 * behind the same boundary (sim/targets) expose none; the core always sets it.
 */
export type Output = OutputBody & { cause?: Cause };

export type OutputBody =
  | { kind: "connector_connect" }
  | { kind: "connector_send"; frame: OutboundFrame }
  | { kind: "connector_close"; code: number; reason: string }
  | { [K in ApiOp]: { kind: "api_call"; id: number; op: K; args: ApiArgs[K] } }[ApiOp]
  | { kind: "storage"; id: number; op: StorageOp }
  | { kind: "ipc_push"; channel: number; frame: PushFrame }
  | { kind: "ipc_response"; id: number; status: number; body: unknown }
  | { kind: "ipc_close_channel"; channel: number; code: number; reason: string }
  | {
      kind: "control_ack";
      idempotency_key: string;
      status: "received" | "applied" | "failed";
      detail?: string;
    }
  /** The core finished shutting down: the driver may exit. */
  | { kind: "stopped" };

export type LogLevel = "debug" | "info" | "warn" | "error";

/** Every decision of the core is logged with a stable event name (PROTOCOL.md appendix B). */
export type LogSink = (level: LogLevel, event: string, fields?: Record<string, unknown>) => void;
