/**
 * The endpoint destination of an inbound task (PROTOCOL §1.8): route claim, hand-off, routed post.
 *
 * Theory of operation:
 * 1. A sequenced task joins the endpoint's hand-off gate before its route claim, so hand-offs to
 *    one endpoint are released in seq order whatever order the claims answer in (deviation R5).
 * 2. The route claim decides: `skip` ⇒ accepted, nothing delivered; `route` ⇒ wait for the gate;
 *    anything else ⇒ not accepted. A message without id has no claim.
 * 3. At its turn the task re-reads the endpoint (E3, R3): removed ⇒ not accepted; `active` ⇒ push
 *    (with receipt when the channel supports it); `reconnecting` ⇒ buffer append. A push not
 *    received or an append that failed ⇒ not accepted.
 * 4. After the hand-off the correlation id is recorded for the endpoint, the routed event is cached
 *    (a redelivery only re-posts it: deviation R1) and posted. Ok ⇒ accepted; terminal failure ⇒
 *    not accepted; transient failure ⇒ not accepted now and queued on the routed emitter, whose
 *    success accepts the seq later.
 */

import type { RoutedEvent, RouteClaimEvent } from "../api.ts";
import type { EndpointEntry } from "../model.ts";
import type { PushEnvelope } from "../types.ts";
import type { InboundTask, Msg, PipelineDeps, Tasks } from "./task.ts";

export class EndpointDestination {
  constructor(
    private readonly d: PipelineDeps,
    private readonly tasks: Tasks,
  ) {}

  handOff(task: InboundTask, msg: Msg, e: EndpointEntry): void {
    const { env } = this.d;
    const endpointId = e.endpointId;
    if (task.seq !== undefined) task.ticket = this.tasks.gate.join(endpointId, task.seq);
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
      this.tasks.cont(task, (r) => {
        if (!r.ok || (r.action !== "route" && r.action !== "skip")) {
          env.log("warn", "runtime_inbound_route_claim_failed", {
            message_id: task.messageId,
            status: r.ok ? undefined : r.status,
          });
          return this.tasks.finish(task, false);
        }
        if (r.action === "skip") {
          env.log("info", "runtime_inbound_route_claim_skip", { message_id: task.messageId, seq: task.seq });
          return this.tasks.accepted(task);
        }
        this.whenTurn(task, deliver);
      }),
    );
  }

  /** Rule 4 for a redelivery: re-post the cached routed event, whatever routing says now. */
  postRouted(task: InboundTask, event: RoutedEvent): void {
    const { env, routedEmitter } = this.d;
    env.api(
      "inbound_routed",
      event,
      this.tasks.cont(task, (r) => {
        if (r.ok) return this.tasks.accepted(task);
        env.log("warn", "runtime_inbound_routed_direct_post_failed", {
          message_id: event.source_message_id,
          status: r.status,
          terminal: r.terminal,
        });
        if (r.terminal) return this.tasks.finish(task, false);
        const seq = task.seq;
        if (seq === undefined) return this.tasks.finish(task, routedEmitter.enqueue(event));
        routedEmitter.enqueue(event, () => this.tasks.deferredAccept(seq));
        this.tasks.finish(task, false);
      }),
    );
  }

  private whenTurn(task: InboundTask, go: () => void): void {
    if (!task.ticket) {
      this.tasks.guard(task, go);
      return;
    }
    this.tasks.gate.whenTurn(task.ticket, () => this.tasks.guard(task, go));
  }

  private deliver(task: InboundTask, msg: Msg, endpointId: string): void {
    const { env, registry, channels, buffers } = this.d;
    const e = registry.get(endpointId);
    if (!e) {
      env.log("warn", "inbound_endpoint_gone", { endpoint_id: endpointId, seq: task.seq });
      this.tasks.finish(task, false);
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
        this.tasks.cont(task, (received) => {
          if (!received) {
            env.log("warn", "ipc_push_not_received", { endpoint_id: endpointId, seq: task.seq });
            return this.tasks.finish(task, false);
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
      this.tasks.cont(task, (ok) => {
        if (!ok) return this.tasks.finish(task, false);
        env.log("info", "buffered_for_reconnecting_endpoint", { endpoint_id: endpointId, seq: task.seq });
        this.handedOff(task, msg, endpointId, "reconnecting_endpoint");
      }),
    );
  }

  private handedOff(task: InboundTask, msg: Msg, endpointId: string, kind: RoutedEvent["route_kind"]): void {
    const cid = msg.keys.correlationId;
    if (cid !== undefined) this.d.correlations.record(cid, endpointId);
    if (task.messageId === undefined) {
      this.tasks.accepted(task);
      return;
    }
    this.d.handedOff?.(task.messageId);
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
}
