/**
 * Endpoint-state projections (PROTOCOL §1.9 "transitions", invariant E4).
 *
 * Theory of operation:
 * 1. Every transition `{state, reason, ts}` joins one FIFO queue. It is posted at once when presence
 *    is `online` and nothing else for the same endpoint is in flight; otherwise it waits. The queue
 *    is flushed in order whenever presence becomes `online`.
 * 2. E4 (deviation from the reference's fire-and-forget): per endpoint at most one transition is in
 *    flight, so the platform receives an endpoint's states in the order they occurred even when the
 *    network reorders concurrent calls. Different endpoints do not wait for each other.
 * 3. A transient failure is retried once after `transitionRetryMs` (deadline
 *    `{ kind: "transition_retry", endpointId }`); the item keeps its place at the head of its endpoint, so a
 *    retry never overtakes a later transition. A terminal failure (e.g. 404) or a second transient
 *    failure is logged and the item dropped; the next one for that endpoint goes out.
 * 4. Queued items are capped at `transitionQueueMax`; overflow drops the oldest queued (not in
 *    flight) item and logs `transition_state_retry_queue_overflow`.
 * 5. `shutdown()` logs and drops the queue.
 */

import type { ApiArgs } from "../api.ts";
import type { Env } from "../env.ts";

export type TransitionArgs = ApiArgs["transition_state"];

interface Item {
  args: TransitionArgs;
  attempts: number;
  state: "queued" | "inflight" | "retry_wait";
}

export class TransitionQueue {
  private items: Item[] = [];
  private online = false;
  private stopped = false;

  constructor(private readonly env: Env) {
    env.onDeadline("transition_retry", (d) => this.retryDue(d.endpointId));
  }

  get size(): number {
    return this.items.length;
  }

  emit(endpointId: string, state: TransitionArgs["state"], reason: string): void {
    if (this.stopped) return;
    this.items.push({
      args: { endpoint_id: endpointId, state, reason, ts: this.env.iso() },
      attempts: 0,
      state: "queued",
    });
    if (!this.online)
      this.env.log("debug", "transition_state_deferred", { endpoint_id: endpointId, state, reason });
    this.enforceCap();
    this.pump();
  }

  setOnline(online: boolean): void {
    this.online = online;
    if (online) this.pump();
  }

  shutdown(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.items.length > 0) {
      this.env.log("info", "transition_state_retry_queue_dropped_on_shutdown", { count: this.items.length });
    }
    for (const it of this.items)
      this.env.disarm({ kind: "transition_retry", endpointId: it.args.endpoint_id });
    this.items = [];
  }

  /** The retry wait of `endpointId`'s head item is over: it goes out again (rule 3). */
  private retryDue(endpointId: string): void {
    const it = this.items.find((i) => i.state === "retry_wait" && i.args.endpoint_id === endpointId);
    if (it !== undefined) it.state = "queued";
    this.pump();
  }

  private enforceCap(): void {
    let queued = 0;
    for (const it of this.items) if (it.state === "queued") queued++;
    while (queued > this.env.opts.transitionQueueMax) {
      const i = this.items.findIndex((it) => it.state === "queued");
      const [dropped] = this.items.splice(i, 1);
      queued--;
      this.env.log("warn", "transition_state_retry_queue_overflow", {
        endpoint_id: dropped!.args.endpoint_id,
        state: dropped!.args.state,
      });
    }
  }

  private pump(): void {
    if (this.stopped) return;
    const held = new Set<string>();
    for (const it of this.items) if (it.state !== "queued") held.add(it.args.endpoint_id);
    for (const it of this.items) {
      const ep = it.args.endpoint_id;
      if (held.has(ep)) continue;
      // Only the oldest item of an endpoint may go out; the ones behind it wait their turn.
      held.add(ep);
      // A retry already held its endpoint's turn, so it goes out even if presence dropped since.
      if (this.online || it.attempts > 0) this.post(it);
    }
  }

  private post(it: Item): void {
    it.state = "inflight";
    it.attempts++;
    this.env.api("transition_state", it.args, (result) => {
      if (this.stopped) return;
      const ep = it.args.endpoint_id;
      if (!result.ok && !result.terminal && it.attempts < 2) {
        it.state = "retry_wait";
        this.env.arm({ kind: "transition_retry", endpointId: ep }, this.env.opts.transitionRetryMs);
        return;
      }
      if (!result.ok) {
        this.env.log("warn", result.terminal ? "transition_state_degraded" : "transition_state_failed", {
          endpoint_id: ep,
          state: it.args.state,
          status: result.status,
        });
      }
      this.remove(it);
      this.pump();
    });
  }

  private remove(it: Item): void {
    const i = this.items.indexOf(it);
    if (i >= 0) this.items.splice(i, 1);
  }
}
