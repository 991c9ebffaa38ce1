/**
 * Inbound pipeline (PROTOCOL §1.8): what happens to every MESSAGE_RECEIVED the connector delivers.
 *
 * Theory of operation:
 * 1. Each message starts a task (inbound/task.ts). Tasks are independent: a task waiting for the
 *    platform never blocks another, except at an endpoint's hand-off gate.
 * 2. A task reports its seq accepted only once the message's outcome is final (pushed with
 *    receipt, appended to a reconnecting buffer, inbox row on disk and announced, route claim
 *    `skip`, routed post ok); any other end releases the seq so the redelivery is processed.
 * 3. The destination is decided once, in this order: a message this process surfaced from a dead
 *    endpoint's buffer stays in the inbox; a message this process already handed to an endpoint
 *    only re-posts its routed event; a message bound to a live assignment gets no destination
 *    (accepted); otherwise routing (§1.7) and the §1.8 decision table pick the
 *    inbox (inbound/to-inbox.ts) or one endpoint (inbound/to-endpoint.ts). An addressed message
 *    whose endpoint is unknown asks the closed-endpoint lookup for its inbox reason.
 * 4. An exception inside a task is a bug in the core: the task ends not accepted and the error is
 *    counted as an internal error; it never escapes the core.
 *
 * Deviations from the reference this pipeline implements (docs/deviations.md):
 * - R1: the delivered-route cache is consulted before routing, not only when an endpoint is found.
 * - R5: hand-offs to one endpoint are released in seq order.
 * - L1: inbox slots are allocated in arrival order (reservation before the closed-endpoint lookup).
 * - L1: an inbox add answered `undispatched_row_settled` counts as handled.
 * - L5: a redelivery of a message surfaced from a removed endpoint's buffer stays in the inbox.
 * - L5/R1: a message handed to an endpoint supersedes an earlier process's buffer record of it
 *   that still waits to be surfaced (the record is dropped when its turn comes).
 * - L9: the inbox row is journaled before it is announced.
 * - A11/L5: a redelivered message bound to a live assignment is neither added to the inbox again
 *   nor handed to an endpoint (it counts as accepted).
 *
 * Planted fault `ackBeforeHandoff`: the seq is accepted when the task starts (breaks S1/R1).
 */

import type { EndpointEntry, MessageReceivedFrame } from "../model.ts";
import type { HandoffGate } from "./handoff-gate.ts";
import { route, routingKeys } from "./routing.ts";
import { EndpointDestination } from "./to-endpoint.ts";
import { InboxDestination } from "./to-inbox.ts";
import { type InboundTask, type Msg, type PipelineDeps, Tasks } from "./task.ts";
import { withTrace } from "./trace.ts";

export type { CursorPort, InboundTask, PipelineDeps } from "./task.ts";

export class InboundPipeline {
  private readonly tasks: Tasks;
  private readonly inbox: InboxDestination;
  private readonly endpoint: EndpointDestination;

  constructor(private readonly d: PipelineDeps) {
    this.tasks = new Tasks(d);
    this.inbox = new InboxDestination(d, this.tasks);
    this.endpoint = new EndpointDestination(d, this.tasks);
  }

  /** Tasks not yet finished, by task id, in start order. */
  get inflight(): ReadonlyMap<number, InboundTask> {
    return this.tasks.inflight;
  }

  /** Seqs whose last task finished not accepted and that no deferred ack accepted since. */
  get blocked(): ReadonlySet<number> {
    return this.tasks.blocked;
  }

  get gate(): HandoffGate {
    return this.tasks.gate;
  }

  start(frame: MessageReceivedFrame): void {
    const { env } = this.d;
    const seq = typeof frame.seq === "number" && Number.isInteger(frame.seq) ? frame.seq : undefined;
    const messageId =
      typeof frame.messageId === "string" && frame.messageId.length > 0 ? frame.messageId : undefined;
    const task = this.tasks.open(seq, messageId);
    if (seq !== undefined && env.faults.ackBeforeHandoff) this.d.cursor.accept(seq);
    this.tasks.guard(task, () => {
      const raw = isRecord(frame.metadata) ? frame.metadata : {};
      const { metadata, traceparent } = withTrace(raw, env.random);
      this.decide(task, { frame, metadata, traceparent, keys: routingKeys(metadata) });
    });
  }

  /** DELIVERY_PENDING is legacy (the connector logs and ignores it); we add the blocked seqs. */
  deliveryPending(): void {
    this.d.env.log("debug", "delivery_pending_blocked_seqs", { blocked: [...this.tasks.blocked] });
  }

  /** Rule 3. */
  private decide(task: InboundTask, msg: Msg): void {
    const { registry, env } = this.d;
    // The surfaced check comes before the route cache: the cache still names the endpoint the
    // message was buffered for, and re-posting that routed event would announce a destination
    // that no longer holds it.
    if (task.messageId !== undefined && this.d.surfaced?.(task.messageId) === true) {
      this.inbox.alreadySurfaced(task, msg, task.messageId);
      return;
    }
    if (task.messageId !== undefined) {
      const cached = this.d.routeCache.get(task.messageId);
      if (cached) {
        env.log("debug", "delivered_route_cache_hit", { message_id: task.messageId, seq: task.seq });
        this.endpoint.postRouted(task, cached);
        return;
      }
    }
    // A message bound to a live assignment is that assignment's: handing it to an endpoint as well
    // would deliver it twice (a redelivery may route to the endpoint that replied to it, through
    // the reply's correlation id). If the assignment fails before acceptance it restores the row.
    if (this.inbox.skipIfBound(task)) return;
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
        this.inbox.add(task, msg, "unaddressed", e.endpointId);
        return;
      }
      if (continuation && !e.headless && !e.capabilities.includes("foreground_channel_v1")) {
        this.inbox.add(task, msg, "correlated_continuation", e.endpointId);
        return;
      }
      this.endpoint.handOff(task, msg, e);
      return;
    }
    const target = msg.keys.targetEndpointId;
    if (target === undefined) {
      this.inbox.add(task, msg, "unaddressed", undefined);
      return;
    }
    if (!this.inbox.reserveSlot(task)) return;
    env.api(
      "closed_endpoint_lookup",
      { endpoint_id: target },
      this.tasks.cont(task, (r) => {
        if (r.ok && r.retired === true)
          return this.inbox.add(task, msg, "closed_session_continuation", target);
        if (!r.ok) env.log("warn", "closed_lookup_failed", { endpoint_id: target, status: r.status });
        this.inbox.add(task, msg, "unaddressed", undefined);
      }),
    );
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
