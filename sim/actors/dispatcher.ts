/**
 * The platform's dispatcher: turns undispatched rows into `dispatch_undispatched` control events
 * for registered endpoints that can take background work, and reacts to control acks and
 * processing states. Sans-IO: it emits control events and timer requests; the driver delivers them.
 *
 * Theory of operation:
 * 1. A new pending row is dispatched after a short random delay to a random live endpoint that
 *    advertises `background_exchange_v1` with a background-exchange mode. No such endpoint ⇒ try
 *    again after `retryDelayMs`; after `attemptsMax` attempts only every `waitForTargetMs`. The
 *    platform never abandons a pending row: the broker holds it in its inbox until a dispatch takes
 *    it, so a row given up for good would hold an inbox slot forever and, once the inbox filled,
 *    wedge the broker's cursor (an unfair world, not a broker bug).
 * 2. Each dispatch attempt is a new assignment (its idempotency key is the assignment id) with a
 *    fresh `broker_projection_token`. With probability `duplicateProbability` the same event is
 *    delivered twice (SSE redelivery), which the broker must absorb (PROTOCOL §7.3 A9).
 * 2a. A row the broker re-adds (PROTOCOL §1.8 redelivery after a crash) is dispatched anew, with its
 *    attempt count reset; the platform model has made it pending again.
 * 2b. An event with no control ack after `redeliverAfterMs` is delivered again, every
 *    `redeliverAfterMs`, for as long as it is its row's live assignment: SSE redelivers what was
 *    never acknowledged (Last-Event-ID). Without this a dropped event or ack left its row
 *    `assigned` on the platform and in the broker's inbox forever (a full inbox of such rows
 *    wedges the cursor). The broker must absorb the repeat (A9).
 * 3. Ack `failed` (before the adapter accepted) ⇒ the row is pending again and re-dispatched after
 *    a backoff that doubles with every consecutive unsuccessful dispatch of the row, from
 *    `retryDelayMs` up to `retryMaxMs`. A `target_lost_before_acceptance`, a retryable
 *    `processing_failed` or a `waiting_for_runtime_capability` of the row's newest assignment
 *    before acceptance is an unsuccessful dispatch too and requeues on the same backoff. Only the
 *    adapter's acceptance or a re-add resets it: an `applied` ack says the broker took the
 *    dispatch, not that the message found a taker, so a row whose every dispatch is applied and
 *    then lost (an endpoint that keeps missing push receipts) backs off like one whose dispatches
 *    fail. `reply_emitted`, `expired` and non-retryable failures end the row.
 * 3a. A failed ack of a newer assignment does not requeue a row one of whose assignments the
 *    adapter accepted: the message is being handled (a real platform tracks the row's accepted
 *    assignment, not only its latest one). Before this, a stale re-dispatch racing an accepted one
 *    kept the row pending and dispatched it to a broker that no longer held it.
 * 3b. A dispatch the broker answered "target endpoint not found: <id>" takes that endpoint out of
 *    the candidates until the platform hears from it again (register or heartbeat): after a broker
 *    crash the platform still lists the dead process's endpoints until they go stale, and picking
 *    them at random made most re-dispatches fail.
 * 4. A row whose dispatches the broker answered `unknown undispatched_id` (or, from our broker,
 *    "already left the inbox") `unknownRowAttemptsMax` times in a row is one the broker no longer
 *    holds: the platform stops dispatching it and marks it `lost`. PROTOCOL §4.4 is silent on what the platform does here; the conservative choice is
 *    to give up dispatching (a storm helps nobody) without settling the row: it is not `done`, so a
 *    later `add` of the same message (a redelivery) revives it and is dispatched anew, and never
 *    answered `undispatched_row_settled` (which would let the broker drop its copy as handled).
 *    Giving up hides nothing: the message was acked and never handed over, which L9 reports.
 */

import type { ProcessingStateEvent } from "../../src/broker/api.ts";
import type { TargetRef } from "../../src/broker/types.ts";
import type { Stream } from "../kernel/prng.ts";
import type { PlatformApi, PlatformAssignment, PlatformListener, PlatformRow } from "./platform-api.ts";

export interface DispatcherOptions {
  /** Delay before dispatching a new row: uniform in [min, max] ms. */
  dispatchDelayMinMs: number;
  dispatchDelayMaxMs: number;
  /** Delay before retrying a row whose dispatch failed or whose target was lost. */
  retryDelayMs: number;
  /** Ceiling of the doubling delay after consecutive failed acks of one row. */
  retryMaxMs: number;
  /** Consecutive `unknown undispatched_id` answers after which a row is marked lost (point 4). */
  unknownRowAttemptsMax: number;
  /** Dispatch attempts per row at `retryDelayMs`; later no-target retries wait `waitForTargetMs`. */
  attemptsMax: number;
  /** Delay between no-target retries once a row has used `attemptsMax` attempts. */
  waitForTargetMs: number;
  /** Probability that a control event is delivered a second time. */
  duplicateProbability: number;
  /** A control event with no control ack after this long is delivered again (SSE redelivery). */
  redeliverAfterMs: number;
}

export const DEFAULT_DISPATCHER_OPTIONS: DispatcherOptions = {
  dispatchDelayMinMs: 20,
  dispatchDelayMaxMs: 400,
  retryDelayMs: 1_000,
  retryMaxMs: 30_000,
  unknownRowAttemptsMax: 6,
  attemptsMax: 20,
  waitForTargetMs: 10_000,
  duplicateProbability: 0,
  redeliverAfterMs: 10_000,
};

export type DispatcherOut =
  | { kind: "control_event"; event: Record<string, unknown> }
  | { kind: "timer"; atMs: number; tag: string };

const BACKGROUND_MODES = new Set(["resident_endpoint", "adapter_managed_turn"]);

const TARGET_NOT_FOUND = "target endpoint not found: ";

/** A failed dispatch's detail saying the broker does not hold the row (point 4). */
function notHeld(detail: string | undefined): boolean {
  if (detail === undefined) return false;
  return (
    detail.startsWith("unknown undispatched_id") ||
    detail.endsWith("already left the inbox (handed off or settled)")
  );
}

export class Dispatcher implements PlatformListener {
  private outputs: DispatcherOut[] = [];
  private assignmentSeq = 0;
  private readonly attempts = new Map<string, number>();
  /** Control events by idempotency key (for duplicates and acks). */
  private readonly events = new Map<string, Record<string, unknown>>();
  dispatched = 0;
  acks = { applied: 0, failed: 0, received: 0 };
  /** Control events delivered again for want of an ack. */
  redelivered = 0;
  private readonly acked = new Set<string>();
  /** No-target retries that fell back to the slow `waitForTargetMs` cadence. */
  slowRetries = 0;
  /** Consecutive unsuccessful dispatches per row (point 3) and the trailing "not held" answers among them. */
  private readonly failures = new Map<string, { failed: number; unknown: number }>();
  /** Rows given up as lost by the broker (point 4). */
  rowsLost = 0;
  /** Endpoint id → when a dispatch to it failed "target endpoint not found" (point 3b). */
  private readonly unreachable = new Map<string, number>();
  /** Rows one of whose assignments the adapter accepted since the row was last added (point 3a). */
  private readonly acceptedRows = new Set<string>();

  constructor(
    private readonly api: PlatformApi,
    private readonly rng: Stream,
    readonly opts: DispatcherOptions = DEFAULT_DISPATCHER_OPTIONS,
  ) {
    api.listener = this;
  }

  takeOutputs(): DispatcherOut[] {
    const o = this.outputs;
    this.outputs = [];
    return o;
  }

  onRowAdded(row: PlatformRow, nowMs: number): void {
    // A re-added row starts over: the broker holds it again, so earlier attempts do not count.
    this.attempts.delete(row.undispatchedId);
    this.failures.delete(row.undispatchedId);
    this.acceptedRows.delete(row.undispatchedId);
    const delay = this.rng.range(this.opts.dispatchDelayMinMs, this.opts.dispatchDelayMaxMs);
    this.timer(nowMs + delay, `dispatch:${row.undispatchedId}`);
  }

  onProcessingState(a: PlatformAssignment, ev: ProcessingStateEvent, nowMs: number): void {
    const row = this.api.rows.get(a.undispatchedId);
    if (row?.status !== "assigned") return;
    const accepted = a.accepted.some((x) => x.state === "adapter_accepted");
    if (accepted) {
      this.acceptedRows.add(a.undispatchedId);
      this.failures.delete(a.undispatchedId);
    }
    // Only the row's newest assignment may send it back to pending (as for failed acks, point 3a).
    const newest = this.latestKey(row) === a.assignmentId;
    switch (ev.state) {
      case "target_lost_before_acceptance":
      case "waiting_for_runtime_capability":
        if (!accepted && newest) this.backOff(row, false, nowMs);
        return;
      case "processing_failed":
        if (accepted || !ev.retryable) row.status = "done";
        else if (newest) this.backOff(row, false, nowMs);
        return;
      case "reply_emitted":
      case "expired":
        row.status = "done";
        return;
      default:
        return;
    }
  }

  onLocalAssignment(row: PlatformRow, a: PlatformAssignment): void {
    this.latestByRow.set(row.undispatchedId, a.assignmentId);
  }

  onControlAck(key: string, status: string, detail: string | undefined, nowMs: number): void {
    const ev = this.events.get(key);
    if (!ev) return;
    this.acked.add(key);
    const id = ev.undispatched_id as string;
    if (status === "applied") {
      this.acks.applied++;
      // The broker holds the row: earlier "not held" answers no longer count (point 4).
      const f = this.failures.get(id);
      if (f) f.unknown = 0;
    } else if (status === "received") this.acks.received++;
    else {
      this.acks.failed++;
      const target = detail?.startsWith(TARGET_NOT_FOUND) ? detail.slice(TARGET_NOT_FOUND.length) : undefined;
      if (target !== undefined) this.unreachable.set(target, nowMs);
      const row = this.api.rows.get(id);
      const a = this.api.assignments.get(key);
      // Only the newest assignment of a row may send it back to pending, and only before the
      // adapter accepted it. A `failed` ack wins over an `assigned_to_runtime_target` the platform
      // did record: the broker posted it, the answer was lost, and it put the row back in its inbox
      // (ignoring such acks leaves rows in a full inbox that nobody would dispatch).
      const accepted = a?.accepted.some((x) => x.state === "adapter_accepted") ?? true;
      if (row?.status !== "assigned" || !a || accepted || this.latestKey(row) !== key) return;
      if (this.acceptedRows.has(id)) return;
      this.backOff(row, notHeld(detail), nowMs);
    }
  }

  /**
   * An unsuccessful dispatch of `row` (point 3): requeue it after the doubling backoff, or mark it
   * lost after `unknownRowAttemptsMax` consecutive answers that the broker does not hold it.
   */
  private backOff(row: PlatformRow, notHeldAnswer: boolean, nowMs: number): void {
    const f = this.failures.get(row.undispatchedId) ?? { failed: 0, unknown: 0 };
    f.failed++;
    f.unknown = notHeldAnswer ? f.unknown + 1 : 0;
    this.failures.set(row.undispatchedId, f);
    if (f.unknown >= this.opts.unknownRowAttemptsMax) {
      row.status = "lost";
      this.rowsLost++;
      return;
    }
    const delay = Math.min(this.opts.retryDelayMs * 2 ** (f.failed - 1), this.opts.retryMaxMs);
    this.requeue(row, nowMs, delay);
  }

  onTimer(tag: string, nowMs: number): void {
    if (tag.startsWith("dispatch:")) this.tryDispatch(tag.slice("dispatch:".length), nowMs);
    else if (tag.startsWith("redeliver:")) this.redeliver(tag.slice("redeliver:".length), nowMs);
    else if (tag.startsWith("duplicate:")) {
      const ev = this.events.get(tag.slice("duplicate:".length));
      if (ev) this.outputs.push({ kind: "control_event", event: ev });
    }
  }

  private readonly latestByRow = new Map<string, string>();

  private latestKey(row: PlatformRow): string | undefined {
    return this.latestByRow.get(row.undispatchedId);
  }

  private requeue(row: PlatformRow, nowMs: number, delayMs = this.opts.retryDelayMs): void {
    row.status = "pending";
    this.timer(nowMs + delayMs, `dispatch:${row.undispatchedId}`);
  }

  private tryDispatch(undispatchedId: string, nowMs: number): void {
    const row = this.api.rows.get(undispatchedId);
    if (row?.status !== "pending" || row.sourceMessageId === undefined) return;
    const n = (this.attempts.get(undispatchedId) ?? 0) + 1;
    this.attempts.set(undispatchedId, n);
    const targets = this.api
      .liveEndpoints(nowMs)
      .filter(
        (e) =>
          e.capabilities.includes("background_exchange_v1") &&
          e.backgroundExchangeMode !== undefined &&
          BACKGROUND_MODES.has(e.backgroundExchangeMode) &&
          !((this.unreachable.get(e.endpointId) ?? -1) >= e.lastSeenMs),
      );
    if (targets.length === 0) {
      if (n >= this.opts.attemptsMax) this.slowRetries++;
      const wait = n < this.opts.attemptsMax ? this.opts.retryDelayMs : this.opts.waitForTargetMs;
      this.timer(nowMs + wait, `dispatch:${undispatchedId}`);
      return;
    }
    const target = this.rng.pick(targets);
    const assignmentId = `asg-${++this.assignmentSeq}`;
    const token = `bpt-${this.rng.hex(8)}`;
    const targetRef: TargetRef = {
      kind: "projection_endpoint",
      projection_endpoint_id: target.endpointId,
      background_exchange_mode: target.backgroundExchangeMode as TargetRef["background_exchange_mode"],
    };
    if (targetRef.background_exchange_mode === "adapter_managed_turn" && target.runtimeSessionId) {
      targetRef.runtime_session_id = target.runtimeSessionId;
    }
    this.api.issueAssignment({
      assignmentId,
      undispatchedId,
      sourceMessageId: row.sourceMessageId,
      targetRef,
      token,
    });
    row.status = "assigned";
    this.latestByRow.set(undispatchedId, assignmentId);
    const event: Record<string, unknown> = {
      type: "dispatch_undispatched",
      version: 1,
      idempotency_key: assignmentId,
      emitted_at: nowMs,
      undispatched_id: undispatchedId,
      source_message_id: row.sourceMessageId,
      target_ref: targetRef,
      delivery_intent: "external_handoff",
      broker_projection_token: token,
      target_endpoint_id: target.endpointId,
    };
    this.events.set(assignmentId, event);
    this.dispatched++;
    this.outputs.push({ kind: "control_event", event });
    this.timer(nowMs + this.opts.redeliverAfterMs, `redeliver:${assignmentId}`);
    if (this.rng.chance(this.opts.duplicateProbability)) {
      this.timer(nowMs + this.rng.range(1, 200), `duplicate:${assignmentId}`);
    }
  }

  /** Deliver `key`'s event again if it is unacknowledged and still its row's live assignment. */
  private redeliver(key: string, nowMs: number): void {
    const ev = this.events.get(key);
    if (!ev || this.acked.has(key)) return;
    const row = this.api.rows.get(ev.undispatched_id as string);
    if (row?.status !== "assigned" || this.latestKey(row) !== key) return;
    this.redelivered++;
    this.outputs.push({ kind: "control_event", event: ev });
    this.timer(nowMs + this.opts.redeliverAfterMs, `redeliver:${key}`);
  }

  private timer(atMs: number, tag: string): void {
    this.outputs.push({ kind: "timer", atMs, tag });
  }
}
