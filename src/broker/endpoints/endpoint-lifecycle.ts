/**
 * Endpoint lifecycle: applies the state machine's effects to the world (PROTOCOL §1.4).
 *
 * Theory of operation:
 * 1. `apply(id, event)` runs `transition()`; the entry's state is updated before the effects run so
 *    anything an effect calls sees the new state. Ignored events are logged `state_event_ignored`.
 * 2. E2: the grace deadline `{ kind: "grace", endpointId }` is armed exactly when an entry turns `reconnecting` and is
 *    cancelled whenever it leaves `reconnecting` (reattach, unregister, removal).
 * 3. Removal (E3), in the reference's order: restore the endpoint's unaccepted assignments
 *    (`endpoint_lost`), stop its heartbeat, drop the registry entry, forget its reply correlations,
 *    fire `unregister` (errors only logged). After that nothing is pushed, appended or scheduled for
 *    the id: every other component re-reads the registry before acting.
 * 4. Heartbeats run on the deadline `heartbeat:<id>` every `heartbeat_after_seconds` for as long as
 *    the entry exists, in any state.
 * 5. Transition projections go through the transition queue, which keeps per-endpoint order (E4).
 * 6. The `delete_buffer` effect does not delete a buffer that still holds records (L5, a deviation
 *    from the reference): the records go to `surfaceBuffer`, which puts them in the inbox and
 *    deletes the file once they are safe there. So for a while a removed endpoint's file exists.
 */

import { invariant } from "../invariant.ts";
import type { Deadline } from "../deadline-kinds.ts";
import type { Env } from "../env.ts";
import type { EndpointEntry } from "../model.ts";
import type { BufferRecord } from "../types.ts";
import type { TransitionQueue } from "../emitters/transition-queue.ts";
import type { ReconnectingBuffers } from "./buffers.ts";
import type { CorrelationCache } from "./correlation-cache.ts";
import type { EndpointRegistry } from "./registry.ts";
import { type Effect, type LifecycleEvent, transition } from "./state-machine.ts";

export interface LifecycleHooks {
  /** The endpoint left the registry: restore its unaccepted assignments. */
  endpointRemoved(endpointId: string, reason: string): void;
  /** The endpoint is closing: surface its buffered records, then delete its file (point 6). */
  surfaceBuffer(endpointId: string, records: BufferRecord[]): void;
}

export const graceDeadline = (endpointId: string): Deadline => ({ kind: "grace", endpointId });
export const heartbeatDeadline = (endpointId: string): Deadline => ({ kind: "heartbeat", endpointId });

export class EndpointLifecycle {
  private readonly heartbeatMs = new Map<string, number>();
  /**
   * Entries whose transition to `closed` has begun. They stay registered until the `remove` effect,
   * and the effects before it (deleting or retiring the buffer) wake continuations synchronously, so
   * a continuation that sees such an entry must treat it as gone.
   */
  private readonly closingEntries = new WeakSet<EndpointEntry>();

  constructor(
    private readonly env: Env,
    private readonly registry: EndpointRegistry,
    private readonly buffers: ReconnectingBuffers,
    private readonly correlations: CorrelationCache,
    private readonly transitions: TransitionQueue,
    private readonly hooks: LifecycleHooks,
  ) {
    env.onDeadline("grace", (d) => this.apply(d.endpointId, { type: "grace_expired" }));
    env.onDeadline("heartbeat", (d) => this.beat(d.endpointId));
  }

  /** A successful register creates an `active` entry directly (not through the machine). */
  registered(entry: Omit<EndpointEntry, "order">, heartbeatAfterSeconds: number | undefined): EndpointEntry {
    const full = this.registry.add(entry);
    this.env.log("info", "endpoint_registered", { endpoint_id: full.endpointId, pid: full.pluginPid });
    this.transitions.emit(full.endpointId, "active", "register");
    this.scheduleHeartbeat(full.endpointId, heartbeatAfterSeconds);
    return full;
  }

  apply(endpointId: string, event: LifecycleEvent): void {
    const entry = this.registry.get(endpointId);
    if (!entry) {
      this.env.log("debug", "state_event_ignored", {
        endpoint_id: endpointId,
        event: event.type,
        state: "closed",
      });
      return;
    }
    const t = transition(entry.state, event);
    if (t.ignored) {
      this.env.log("debug", "state_event_ignored", {
        endpoint_id: endpointId,
        event: event.type,
        state: entry.state,
      });
      return;
    }
    if (t.next === "closed") this.closingEntries.add(entry);
    if (t.next !== "closed" && t.next !== entry.state) {
      entry.state = t.next;
      entry.stateSinceMs = this.env.nowMs;
    }
    for (const effect of t.effects) this.effect(entry, effect);
  }

  /**
   * The reattach route's own path (the machine's `drain_buffer` effect is never used, as in the
   * reference): bind to the pid's current channel, cancel grace, mark active. The route drains and
   * then calls `reattached`.
   */
  beginReattach(entry: EndpointEntry, channel: number): void {
    entry.channel = channel;
    this.cancelGrace(entry);
    entry.state = "active";
    entry.stateSinceMs = this.env.nowMs;
  }

  /** Has `entry`'s transition to `closed` begun (it may still be registered while it runs)? */
  closing(entry: EndpointEntry): boolean {
    return this.closingEntries.has(entry);
  }

  reattached(entry: EndpointEntry): void {
    this.buffers.delete(entry.endpointId);
    this.env.log("info", "endpoint_reattached", { endpoint_id: entry.endpointId });
    this.transitions.emit(entry.endpointId, "active", "reattach");
  }

  graceArmed(endpointId: string): boolean {
    return this.env.isArmed(graceDeadline(endpointId));
  }

  /** Shutdown step 1 (§1.16): cancel every grace timer and heartbeat. */
  stopTimers(): void {
    for (const e of this.registry.all()) {
      this.env.disarm(graceDeadline(e.endpointId));
      this.env.disarm(heartbeatDeadline(e.endpointId));
    }
    this.heartbeatMs.clear();
  }

  /** Shutdown step 2 (§1.16): unregister every remaining endpoint, without transition events. */
  unregisterAll(): void {
    for (const e of this.registry.all()) this.env.api("unregister", { endpoint_id: e.endpointId });
  }

  private effect(entry: EndpointEntry, effect: Effect): void {
    const id = entry.endpointId;
    switch (effect.kind) {
      case "start_grace": {
        entry.graceDeadlineMs = this.env.nowMs + this.env.opts.graceMs;
        this.env.arm(graceDeadline(id), this.env.opts.graceMs);
        return;
      }
      case "cancel_grace":
        this.cancelGrace(entry);
        return;
      case "drain_buffer":
        return;
      case "emit_state":
        this.transitions.emit(id, effect.state, effect.reason);
        return;
      case "delete_buffer":
        this.hooks.surfaceBuffer(id, this.buffers.retire(id));
        return;
      case "remove":
        this.remove(entry);
        return;
    }
  }

  private remove(entry: EndpointEntry): void {
    const id = entry.endpointId;
    this.cancelGrace(entry);
    this.hooks.endpointRemoved(id, "endpoint_lost");
    this.env.disarm(heartbeatDeadline(id));
    this.heartbeatMs.delete(id);
    this.registry.remove(id);
    this.correlations.forgetEndpoint(id);
    this.env.log("info", "endpoint_removed", { endpoint_id: id });
    this.env.api("unregister", { endpoint_id: id }, (r) => {
      if (!r.ok) this.env.log("warn", "endpoint_unregister_failed", { endpoint_id: id, status: r.status });
    });
  }

  private cancelGrace(entry: EndpointEntry): void {
    this.env.disarm(graceDeadline(entry.endpointId));
    delete entry.graceDeadlineMs;
  }

  private scheduleHeartbeat(id: string, seconds: number | undefined): void {
    if (seconds === undefined || !Number.isFinite(seconds) || seconds <= 0) {
      this.env.log("warn", "endpoint_heartbeat_not_scheduled", {
        endpoint_id: id,
        heartbeat_after_seconds: seconds,
      });
      return;
    }
    const ms = seconds * 1000;
    this.heartbeatMs.set(id, ms);
    this.env.arm(heartbeatDeadline(id), ms);
  }

  private beat(id: string): void {
    // Removal and shutdown cancel the heartbeat deadline with the entry.
    invariant(this.registry.get(id) !== undefined, `heartbeat deadline ran for unregistered endpoint ${id}`);
    this.env.api("heartbeat", { endpoint_id: id }, (r) => {
      if (!r.ok) this.env.log("warn", "endpoint_heartbeat_failed", { endpoint_id: id, status: r.status });
    });
    const ms = this.heartbeatMs.get(id);
    if (ms !== undefined) this.env.arm(heartbeatDeadline(id), ms);
  }
}
