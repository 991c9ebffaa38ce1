/**
 * The platform HTTP API (PROTOCOL.md §4) as a sans-IO model: `handle(op, args, nowMs)` answers one
 * port call synchronously; the simulator adds latency and faults around it. It keeps the platform's
 * side of every projection, which is the ground truth checkers compare the broker against.
 *
 * Theory of operation:
 * 1. Endpoints: `register` issues `ep-<n>` ids; `unregister` retires an id for good (the closed
 *    endpoint lookup then answers `retired: true`); heartbeats and transitions for unknown ids fail
 *    terminally (404) like the real platform.
 * 2. Undispatched rows come from `undispatched_changed` add/remove events; the dispatcher is told.
 * 3. Route claims: a message already reported as routed is answered `skip`, otherwise `route`.
 * 4. Processing states are validated like the real platform: the assignment must exist, broker-owned
 *    states must carry the assignment's projection token, and a `state_sequence` that does not
 *    increase is a terminal 409 — unless it repeats an accepted event exactly (same event id and
 *    sequence), which is an idempotent retry.
 * 5. An `undispatched_changed add` of a known row means the broker holds its message undispatched
 *    again: a redelivery after a broker crash, which took any live assignment of the row with it.
 *    A pending or assigned row is therefore (re)dispatched — at least once, as after any crash. For a
 *    row already done (the assignment replied, failed for good or expired) the add can only be the
 *    redelivery of a message handled before a broker crash, whose delivery ack never reached the
 *    connector: it is answered 422 `undispatched_row_settled` rather than dispatched a second time
 *    (that would run the message twice) or accepted silently (the broker's inbox row would then
 *    wait forever for a dispatch, §1.6 rows never expire). The broker drops its row and counts the
 *    message as handled, as for a route-claim `skip`.
 * 6. `sequenceCheck: "accept"` models a platform that records whatever arrives (no regression
 *    check). With it, A1 ("accepted sequences increase") rests on the broker alone, which is what
 *    lets a sweep catch a broker that forwards stale adapter sequences (planted `noSequenceGuard`).
 *    The default, `"reject"`, is the real platform's behaviour (point 4).
 * 7. A local dispatch (`POST /v1/dispatch`, key `local-<uuid>`, a broker-chosen projection token)
 *    is adopted when its `assigned_to_runtime_target` arrives for a row the platform still holds:
 *    it becomes the row's newest assignment, judged like the dispatcher's own from then on.
 */

import type {
  ApiArgs,
  ApiOp,
  ApiResult,
  Failure,
  ProcessingStateEvent,
  UndispatchedChangedEvent,
} from "../../src/broker/api.ts";
import type { TargetRef } from "../../src/broker/types.ts";
import { UNDISPATCHED_ROW_SETTLED } from "../../src/broker/api.ts";

export interface PlatformEndpoint {
  endpointId: string;
  nonce: string;
  pid: number;
  kind: string;
  capabilities: string[];
  backgroundExchangeMode: string | undefined;
  runtimeSessionId: string | undefined;
  retired: boolean;
  /** Projected states in arrival order (E4 ground truth). */
  states: string[];
  heartbeats: number;
  /** Last register or heartbeat: endpoints silent for `staleAfterMs` are not dispatched to. */
  lastSeenMs: number;
  /**
   * This endpoint's own staleness bound, when its register answer named another heartbeat interval
   * (three missed beats; infinite when it named none); absent = the platform's `staleAfterMs`.
   */
  staleAfterMs?: number;
}

export interface PlatformRow {
  undispatchedId: string;
  sourceMessageId: string | undefined;
  reason: string | undefined;
  hint: string | undefined;
  addedAtMs: number;
  /**
   * `pending` rows can be dispatched; `assigned` ones have a live assignment; `lost` ones the
   * broker answered `unknown undispatched_id` for until the dispatcher gave up (a re-add revives
   * them, like a pending row).
   */
  status: "pending" | "assigned" | "removed" | "done" | "lost";
}

export interface PlatformAssignment {
  assignmentId: string;
  undispatchedId: string;
  sourceMessageId: string;
  targetRef: TargetRef;
  token: string;
  lastSequence: number;
  /** Accepted events, in order. */
  accepted: Array<{ state: string; seq: number; eventId: string }>;
  /** The last state the platform accepted. */
  state: string;
}

/** How the platform treats a `state_sequence` that does not increase (theory of operation, 6). */
export type SequenceCheck = "reject" | "accept";

export interface PlatformApiOptions {
  sequenceCheck: SequenceCheck;
}

/** What the dispatcher (or a test) wants to hear about. */
export interface PlatformListener {
  onRowAdded(row: PlatformRow, nowMs: number): void;
  onProcessingState(a: PlatformAssignment, ev: ProcessingStateEvent, nowMs: number): void;
  /** The broker assigned `row` by a local `/v1/dispatch` (point 7): it is the row's newest assignment. */
  onLocalAssignment?(row: PlatformRow, a: PlatformAssignment): void;
}

/** States only the broker may originate (PROTOCOL §5.3). */
const BROKER_OWNED = new Set([
  "assigned_to_runtime_target",
  "reply_requested",
  "reply_emitted",
  "delivery_attempted",
]);

export class PlatformApi {
  readonly endpoints = new Map<string, PlatformEndpoint>();
  readonly rows = new Map<string, PlatformRow>();
  readonly assignments = new Map<string, PlatformAssignment>();
  /** source_message_id → endpoint it was routed to. */
  readonly routed = new Map<string, string>();
  readonly claims = new Map<string, string>();
  readonly presence: Array<{ state: string; ts: number }> = [];
  /** Count of calls per op (reports, coverage). */
  readonly calls = new Map<string, number>();
  listener: PlatformListener | undefined;
  /** An endpoint without register/heartbeat for this long counts as gone (three missed beats). */
  staleAfterMs = 90_000;
  sequenceCheck: SequenceCheck = "reject";
  private endpointSeq = 0;

  constructor(opts: Partial<PlatformApiOptions> = {}) {
    if (opts.sequenceCheck !== undefined) this.sequenceCheck = opts.sequenceCheck;
  }

  handle<K extends ApiOp>(op: K, args: ApiArgs[K], nowMs: number): ApiResult<K> {
    this.calls.set(op, (this.calls.get(op) ?? 0) + 1);
    return this.dispatch(op, args, nowMs) as ApiResult<K>;
  }

  /** The platform's own record of an assignment it issued (dispatcher). */
  issueAssignment(a: Omit<PlatformAssignment, "lastSequence" | "accepted" | "state">): PlatformAssignment {
    const rec: PlatformAssignment = { ...a, lastSequence: 0, accepted: [], state: "issued" };
    this.assignments.set(a.assignmentId, rec);
    return rec;
  }

  /** Endpoints not retired and, when `nowMs` is given, heard from recently. */
  liveEndpoints(nowMs?: number): PlatformEndpoint[] {
    const out: PlatformEndpoint[] = [];
    for (const e of this.endpoints.values()) {
      if (e.retired) continue;
      if (nowMs !== undefined && nowMs - e.lastSeenMs > (e.staleAfterMs ?? this.staleAfterMs)) continue;
      out.push(e);
    }
    return out;
  }

  private dispatch(op: ApiOp, args: unknown, nowMs: number): ApiResult<ApiOp> {
    switch (op) {
      case "register": {
        const a = args as ApiArgs["register"];
        const endpointId = `ep-${++this.endpointSeq}`;
        this.endpoints.set(endpointId, {
          endpointId,
          nonce: a.nonce,
          pid: a.plugin_pid,
          kind: a.kind,
          capabilities: [...a.capabilities],
          backgroundExchangeMode: a.background_exchange_mode,
          runtimeSessionId: a.runtime_session_id,
          retired: false,
          states: [],
          heartbeats: 0,
          lastSeenMs: nowMs,
        });
        return { ok: true, endpoint_id: endpointId, heartbeat_after_seconds: 30 };
      }
      case "heartbeat": {
        const e = this.endpoints.get((args as ApiArgs["heartbeat"]).endpoint_id);
        if (!e || e.retired) return fail(404, "endpoint_not_found");
        e.heartbeats++;
        e.lastSeenMs = nowMs;
        return OK;
      }
      case "unregister": {
        const e = this.endpoints.get((args as ApiArgs["unregister"]).endpoint_id);
        if (e) e.retired = true;
        return OK;
      }
      case "transition_state": {
        const a = args as ApiArgs["transition_state"];
        const e = this.endpoints.get(a.endpoint_id);
        if (!e) return fail(404, "endpoint_not_found");
        e.states.push(a.state);
        return OK;
      }
      case "undispatched_changed":
        return this.onUndispatched(args as UndispatchedChangedEvent, nowMs);
      case "inbound_route_claim": {
        const a = args as ApiArgs["inbound_route_claim"];
        if (this.routed.has(a.source_message_id)) return { ok: true, action: "skip" };
        this.claims.set(a.source_message_id, a.routed_to_endpoint_id);
        return { ok: true, action: "route" };
      }
      case "inbound_routed": {
        const a = args as ApiArgs["inbound_routed"];
        this.routed.set(a.source_message_id, a.routed_to_endpoint_id);
        return OK;
      }
      case "processing_state":
        return this.onProcessingState(args as ProcessingStateEvent, nowMs);
      case "presence_changed": {
        const a = args as ApiArgs["presence_changed"];
        this.presence.push({ state: a.state, ts: a.ts });
        return OK;
      }
      case "closed_endpoint_lookup": {
        const e = this.endpoints.get((args as ApiArgs["closed_endpoint_lookup"]).endpoint_id);
        return { ok: true, retired: e?.retired === true };
      }
      case "list_claim_candidates": {
        const a = args as ApiArgs["list_claim_candidates"];
        const items = [];
        for (const r of this.rows.values()) {
          if (r.status !== "pending") continue;
          if (items.length >= a.limit) break;
          items.push({
            undispatched_id: r.undispatchedId,
            source_message_id: r.sourceMessageId,
            reason: r.reason,
            target_endpoint_id_hint: r.hint,
            arrived_at: r.addedAtMs,
          });
        }
        return { ok: true, items };
      }
      default:
        return fail(404, "unknown_operation");
    }
  }

  private onUndispatched(ev: UndispatchedChangedEvent, nowMs: number): ApiResult<"undispatched_changed"> {
    if (typeof ev.undispatched_id !== "string" || ev.undispatched_id.length === 0) {
      return fail(422, "undispatched_id_required");
    }
    if (ev.action === "remove") {
      const r = this.rows.get(ev.undispatched_id);
      if (r) r.status = "removed";
      return OK;
    }
    if (ev.action !== "add") return fail(422, "unknown_action");
    const existing = this.rows.get(ev.undispatched_id);
    // Point 5: the message was handled already; keeping the broker's copy would strand it there.
    if (existing?.status === "done") return fail(422, UNDISPATCHED_ROW_SETTLED);
    if (existing && existing.status !== "removed") {
      // Point 5: the broker holds the message undispatched again, so whatever assignment the row
      // had died with an earlier broker process (or the dispatcher gave up on it): dispatch anew.
      existing.status = "pending";
      this.listener?.onRowAdded(existing, nowMs);
      return OK;
    }
    const row: PlatformRow = {
      undispatchedId: ev.undispatched_id,
      sourceMessageId: ev.source_message_id,
      reason: ev.reason,
      hint: ev.target_endpoint_id_hint,
      addedAtMs: nowMs,
      status: "pending",
    };
    this.rows.set(row.undispatchedId, row);
    this.listener?.onRowAdded(row, nowMs);
    return OK;
  }

  private onProcessingState(ev: ProcessingStateEvent, nowMs: number): ApiResult<"processing_state"> {
    const a = this.assignments.get(ev.assignment_id) ?? this.adoptLocal(ev);
    if (!a) return fail(404, "runtime_assignment_unknown", "reply_handle_stale");
    if (BROKER_OWNED.has(ev.state) && ev.broker_projection_token !== a.token) {
      return fail(403, "broker_projection_token_invalid");
    }
    if (!Number.isInteger(ev.state_sequence)) return fail(422, "state_sequence_invalid");
    if (ev.state_sequence <= a.lastSequence) {
      const same = a.accepted.some((x) => x.eventId === ev.state_event_id && x.seq === ev.state_sequence);
      if (same) return OK;
      if (this.sequenceCheck === "reject") return fail(409, "state_sequence_regression");
    }
    a.lastSequence = Math.max(a.lastSequence, ev.state_sequence);
    a.accepted.push({ state: ev.state, seq: ev.state_sequence, eventId: ev.state_event_id });
    a.state = ev.state;
    this.listener?.onProcessingState(a, ev, nowMs);
    return OK;
  }

  /**
   * Point 7: the first post of a local dispatch (`assigned_to_runtime_target` under a `local-` key,
   * for a row the platform still wants dispatched) makes the platform adopt it as the row's
   * assignment, with the broker's projection token.
   */
  private adoptLocal(ev: ProcessingStateEvent): PlatformAssignment | undefined {
    if (ev.state !== "assigned_to_runtime_target" || !LOCAL_DISPATCH.test(ev.assignment_id)) return undefined;
    const row = ev.undispatched_id !== undefined ? this.rows.get(ev.undispatched_id) : undefined;
    if (!row || row.status === "done" || row.status === "removed") return undefined;
    const a = this.issueAssignment({
      assignmentId: ev.assignment_id,
      undispatchedId: row.undispatchedId,
      sourceMessageId: ev.source_message_id,
      targetRef: ev.target_ref,
      token: ev.broker_projection_token ?? "",
    });
    row.status = "assigned";
    this.listener?.onLocalAssignment?.(row, a);
    return a;
  }
}

/** Idempotency keys of the broker's local dispatches (`POST /v1/dispatch`, PROTOCOL §3.2). */
const LOCAL_DISPATCH = /^local-/;

/** `{ok: true}` for ops whose success body is empty (`Record<string, never>` does not admit `ok`). */
const OK = { ok: true } as unknown as ApiResult<never>;

function fail(status: number, code: string, category?: Failure["assignmentFailureCategory"]): Failure {
  const f: Failure = { ok: false, terminal: true, status, code, detail: `${code}` };
  if (category) f.assignmentFailureCategory = category;
  return f;
}
