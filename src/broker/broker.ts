/**
 * BrokerCore: the reference runtime broker as a sans-IO state machine.
 *
 * Theory of operation:
 * 1. The driver calls `handle(input, nowMs)` for each event of the world and `advance(nowMs)` when
 *    time passes; `nextDeadline()` tells it when the core next needs `advance`.
 * 2. The core never blocks and never reads the world: every effect is an `Output` the driver takes
 *    with `takeOutputs()`, every answer comes back as an `Input`.
 * 3. The core never throws out of `handle`/`advance`. An internal error is logged as
 *    `core_internal_error` and counted in `internalErrors` (the simulator treats it as a failure).
 * 4. Components (connector, registry, pipeline, assignments, …) live in their own modules and talk
 *    through `Env` and the interfaces in `model.ts`; this file only composes and dispatches.
 * 5. After shutdown (§1.16, ending with the `stopped` output) every input is ignored, except that an
 *    IPC request still gets its one answer (503 `broker_shutting_down`).
 */

import { createAssignments } from "./assignments/index.ts";
import { Connector } from "./connector/connector.ts";
import { BufferSurfacer } from "./endpoints/buffer-surfacer.ts";
import { ReconnectingBuffers } from "./endpoints/buffers.ts";
import { IpcChannels } from "./endpoints/channels.ts";
import { CorrelationCache } from "./endpoints/correlation-cache.ts";
import { EndpointLifecycle } from "./endpoints/endpoint-lifecycle.ts";
import { EndpointRegistry } from "./endpoints/registry.ts";
import { Presence } from "./emitters/presence.ts";
import { RetryEmitter } from "./emitters/retry-emitter.ts";
import { TransitionQueue } from "./emitters/transition-queue.ts";
import { Env, timerCause } from "./env.ts";
import { UndispatchedInbox } from "./inbound/inbox.ts";
import { InboundPipeline, type InboundTask } from "./inbound/pipeline.ts";
import { RouteCache } from "./inbound/route-cache.ts";
import type { IpcContext } from "./ipc/context.ts";
import { IpcDispatcher } from "./ipc/dispatch.ts";
import { Router } from "./ipc/http.ts";
import { endpointRoutes } from "./ipc/routes-endpoint.ts";
import { sendRoutes } from "./ipc/routes-send.ts";
import { sessionRoutes } from "./ipc/routes-session.ts";
import { undispatchedRoutes } from "./ipc/routes-undispatched.ts";
import type { AssignmentsComponent } from "./model.ts";
import { NO_PLANTED_FAULTS, type BrokerOptions, type PlantedFaults, resolveOptions } from "./options.ts";
import type { BrokerSnapshot } from "./snapshot.ts";
import type { InboxRow } from "./model.ts";
import type { BufferRecord, Cause, Input, LogSink, Output, Random } from "./types.ts";

export interface BrokerCoreConfig {
  /** Overrides of the PROTOCOL §6 defaults. */
  options?: Partial<BrokerOptions>;
  /** Source of ids, tokens and jitter. */
  random: Random;
  /** The persisted delivery cursor (`lastKnownSeq` of the cursor file), 0 when absent. */
  initialCursor?: number;
  /** Receives every log event. */
  log?: LogSink;
  /** Test-only planted bugs (see `PlantedFaults`). */
  faults?: Partial<PlantedFaults>;
  /**
   * Reconnecting-buffer files left by an earlier process (endpoint ids are never reused, so nothing
   * here will drain them). Surfaced into the inbox on `start`; each file is deleted only once its
   * records are safe there (L5, see endpoints/buffer-surfacer.ts).
   */
  initialBuffers?: ReadonlyArray<{ endpointId: string; records: readonly BufferRecord[] }>;
  /**
   * The inbox journal an earlier process left: its rows, in order, are the inbox again at once, and
   * the platform is told nothing (it holds them already); `departed` are the last ids that left
   * for good. See inbound/inbox.ts.
   */
  initialInbox?: { rows: readonly InboxRow[]; departed: readonly string[] };
}

export class BrokerCore {
  readonly env: Env;
  internalErrors = 0;

  private readonly _connector: Connector;
  private readonly _registry: EndpointRegistry;
  private readonly _channels: IpcChannels;
  private readonly _buffers: ReconnectingBuffers;
  private readonly _inbox: UndispatchedInbox;
  private readonly _surfacer: BufferSurfacer;
  private initialBuffers: BrokerCoreConfig["initialBuffers"];
  private readonly _correlations: CorrelationCache;
  private readonly _routeCache: RouteCache;
  private readonly _transitions: TransitionQueue;
  private readonly _presence: Presence;
  private readonly _lifecycle: EndpointLifecycle;
  private readonly _pipeline: InboundPipeline;
  private readonly _assignments: AssignmentsComponent;
  private readonly emitters: {
    undispatched: RetryEmitter<"undispatched_changed">;
    routed: RetryEmitter<"inbound_routed">;
    presence: RetryEmitter<"presence_changed">;
  };
  private readonly ipc: IpcDispatcher;
  private shuttingDown = false;

  constructor(config: BrokerCoreConfig) {
    const env = new Env(
      resolveOptions(config.options),
      config.random,
      { ...NO_PLANTED_FAULTS, ...config.faults },
      config.log,
    );
    this.env = env;
    env.internalError = (err, where) => this.internalError(err, where);
    const o = env.opts;
    const emitterOpts = (capacity: number) => ({
      capacity,
      backoffInitialMs: o.emitterBackoffInitialMs,
      backoffMaxMs: o.emitterBackoffMaxMs,
      retriesMax: o.emitterRetriesMax,
    });
    this.emitters = {
      undispatched: new RetryEmitter(
        env,
        "undispatched_emitter",
        "undispatched_changed",
        emitterOpts(o.emitterQueueMax),
      ),
      routed: new RetryEmitter(env, "routed_emitter", "inbound_routed", emitterOpts(o.emitterQueueMax)),
      presence: new RetryEmitter(
        env,
        "presence_emitter",
        "presence_changed",
        emitterOpts(o.presenceEmitterQueueMax),
      ),
    };
    this._registry = new EndpointRegistry(o.correlationRingMax);
    this._channels = new IpcChannels(env);
    this._buffers = new ReconnectingBuffers(env);
    this._inbox = new UndispatchedInbox(
      o.inboxCapacity,
      env.faults.inMemoryInbox ? undefined : (op, cb) => env.storage(op, (ok) => cb(ok)),
    );
    const journal = config.initialInbox;
    if (!env.faults.inMemoryInbox && journal) {
      this._inbox.restore(journal.rows, journal.departed);
      if (journal.rows.length > 0)
        env.log("info", "undispatched_inbox_restored", { rows: journal.rows.length });
    }
    this._surfacer = new BufferSurfacer(
      env,
      this._inbox,
      (id) => this._buffers.has(id),
      (id) => this._assignments.isBound(id),
    );
    this.initialBuffers = config.initialBuffers;
    this._correlations = new CorrelationCache(env, o.replyCorrelationTtlMs, o.replyCorrelationPerEndpointMax);
    this._routeCache = new RouteCache(o.routeCacheMax);
    this._transitions = new TransitionQueue(env);
    this._presence = new Presence(env, this.emitters.presence, this._channels, (state) =>
      this._transitions.setOnline(state === "online"),
    );
    this._lifecycle = new EndpointLifecycle(
      env,
      this._registry,
      this._buffers,
      this._correlations,
      this._transitions,
      {
        endpointRemoved: (id, reason) => this._assignments.onEndpointRemoved(id, reason),
        surfaceBuffer: (id, records) => this._surfacer.surface(id, records, "endpoint_removed"),
      },
    );
    this._connector = new Connector(
      env,
      {
        onMessage: (frame) => this._pipeline.start(frame),
        onConnected: () => this._presence.connectorConnected(),
        onDisconnected: (info) => {
          this._presence.connectorDisconnected();
          if (info.replacedByNewRuntime) {
            env.log("warn", "broker_superseded_self_terminating", { code: info.code, reason: info.reason });
            this.shutdown("superseded_default_stream");
          }
        },
        onDeliveryPending: () => this._pipeline.deliveryPending(),
      },
      config.initialCursor ?? 0,
    );
    this._pipeline = new InboundPipeline({
      env,
      registry: this._registry,
      inbox: this._inbox,
      channels: this._channels,
      buffers: this._buffers,
      correlations: this._correlations,
      routeCache: this._routeCache,
      routedEmitter: this.emitters.routed,
      undispatchedEmitter: this.emitters.undispatched,
      cursor: this._connector,
      boundToAssignment: (id) => this._assignments.isBound(id),
      surfaced: (id) => this._surfacer.surfaced(id),
      handedOff: (id) => {
        this._surfacer.supersede(id);
      },
    });
    this._assignments = createAssignments(env, {
      registry: this._registry,
      inbox: this._inbox,
      channels: this._channels,
      buffers: this._buffers,
      connector: this._connector,
      correlations: this._correlations,
      // A remove announcing a row lost at capacity is pinned: evicting it would lose the row
      // silently (A10).
      // Once the platform has the remove, the row's removal is recorded in the inbox journal; a
      // crash before that restores the row, which the platform still holds.
      enqueueUndispatched: (event) => {
        const remove = event.action === "remove";
        const settle = remove ? () => this._inbox.settle(event.undispatched_id) : undefined;
        this.emitters.undispatched.enqueue(event, settle, remove);
      },
      unregisterEndpoint: (id) => this._lifecycle.apply(id, { type: "explicit_unregister" }),
    });
    const ctx: IpcContext = {
      env,
      registry: this._registry,
      channels: this._channels,
      buffers: this._buffers,
      lifecycle: this._lifecycle,
      inbox: this._inbox,
      correlations: this._correlations,
      presence: this._presence,
      connector: this._connector,
    };
    const router = new Router();
    router.add(
      ...sessionRoutes(ctx),
      ...endpointRoutes(ctx),
      ...sendRoutes(ctx),
      ...undispatchedRoutes(ctx),
      ...this._assignments.routes,
    );
    this.ipc = new IpcDispatcher(env, router);
  }

  handle(input: Input, nowMs: number): void {
    this.setNow(nowMs);
    this.env.cause = inputCause(input);
    try {
      this.dispatch(input);
    } catch (err) {
      this.internalError(err, input.kind);
    }
  }

  advance(nowMs: number): void {
    this.setNow(nowMs);
    try {
      this.env.deadlines.expire(nowMs);
    } catch (err) {
      this.internalError(err, "advance");
    }
  }

  nextDeadline(): number | undefined {
    return this.env.deadlines.next();
  }

  takeOutputs(): Output[] {
    const out = this.env.outputs;
    this.env.outputs = [];
    return out;
  }

  // ---- read-only views for checkers and tests ----

  get connector(): Connector {
    return this._connector;
  }
  get registry(): EndpointRegistry {
    return this._registry;
  }
  get channels(): IpcChannels {
    return this._channels;
  }
  get buffers(): ReconnectingBuffers {
    return this._buffers;
  }
  get inbox(): UndispatchedInbox {
    return this._inbox;
  }
  get surfacer(): BufferSurfacer {
    return this._surfacer;
  }
  get correlations(): CorrelationCache {
    return this._correlations;
  }
  get presence(): Presence {
    return this._presence;
  }
  get lifecycle(): EndpointLifecycle {
    return this._lifecycle;
  }
  get assignments(): AssignmentsComponent {
    return this._assignments;
  }
  get pipeline(): InboundPipeline {
    return this._pipeline;
  }
  get inflightTasks(): ReadonlyMap<number, InboundTask> {
    return this._pipeline.inflight;
  }
  get stopped(): boolean {
    return this.env.stopped;
  }

  snapshot(): BrokerSnapshot {
    const c = this._connector;
    return {
      connector: {
        socketOpen: c.socketOpen,
        registered: c.ready,
        committedSeq: c.committedSeq,
        acceptedGaps: c.acceptedGaps(),
        pendingPayloadIds: c.pendingCount,
        seenPayloadIds: c.seenCount,
      },
      presence: this._presence.state,
      endpoints: [...this._registry.all()].map((e) => ({
        endpointId: e.endpointId,
        state: e.state,
        pid: e.pluginPid,
        channel: e.channel,
        bufferCount: this._buffers.count(e.endpointId),
      })),
      inbox: { size: this._inbox.size, capacity: this._inbox.capacity, ids: this._inbox.ids() },
      assignments: [...this._assignments.records()],
      deadlines: this.env.deadlines.names(),
      timers: this.env.deadlines.names().map((name) => {
        const c = timerCause(name) as Extract<Cause, { kind: "timer" }>;
        return { timer: c.timer, ids: c.ids, atMs: this.env.deadlines.at(name)! };
      }),
      pendingRequests: this.env.pendingRequests(),
      pendingApiCalls: this.env.pendingApiCalls,
      pendingStorageOps: this.env.pendingStorageOps,
      inflightInboundTasks: this._pipeline.inflight.size,
      queues: {
        undispatched: this.emitters.undispatched.size,
        routed: this.emitters.routed.size,
        presence: this.emitters.presence.size,
        transitions: this._transitions.size,
      },
      stopped: this.env.stopped,
    };
  }

  private dispatch(input: Input): void {
    if (this.env.stopped) {
      if (input.kind === "ipc_request") {
        this.env.emit({
          kind: "ipc_response",
          id: input.id,
          status: 503,
          body: { error: "broker_shutting_down", message: "the broker has stopped", retryable: true },
        });
      }
      return;
    }
    switch (input.kind) {
      case "start":
        this._connector.start();
        this.surfaceInitialBuffers();
        return;
      case "connector_open":
        this._connector.handleOpen();
        return;
      case "connector_frame":
        this._connector.handleFrame(input.text);
        return;
      case "connector_closed":
        this._connector.handleClosed(input.code, input.reason);
        return;
      case "api_result":
        this.env.completeApi(input.id, input.result);
        return;
      case "storage_result":
        this.env.completeStorage(input.id, input.ok, input.error);
        return;
      case "ipc_channel_open":
        this._channels.open(input.channel, input.pid, input.capabilities);
        return;
      case "ipc_channel_message":
        this._channels.handleMessage(input.channel, input.text);
        return;
      case "ipc_channel_closed":
        this.channelClosed(input.channel, input.pluginAlive);
        return;
      case "ipc_request":
        this.ipc.dispatch(input);
        return;
      case "control_event":
        this._assignments.onControlEvent(input.event);
        return;
      case "shutdown":
        this.shutdown("requested");
        return;
    }
  }

  /** Buffer files of an earlier process go to the inbox once, at the first `start`. */
  private surfaceInitialBuffers(): void {
    const files = this.initialBuffers;
    if (!files) return;
    this.initialBuffers = undefined;
    for (const f of files) this._surfacer.surface(f.endpointId, f.records, "previous_process");
  }

  /**
   * §3.5: a displaced channel's close changes nothing; otherwise its endpoints get `ipc_close`
   * with the driver's liveness probe. The transitions run before the channel's pending receipts
   * settle, so a push or drain failing because of this close sees the endpoint's new state rather
   * than guessing the plugin's liveness itself.
   */
  private channelClosed(channel: number, pluginAlive: boolean): void {
    const info = this._channels.describe(channel);
    if (info.known && !info.displaced) {
      for (const e of this._registry.boundTo(channel)) {
        this._lifecycle.apply(e.endpointId, { type: "ipc_close", pluginAlive });
      }
    }
    this._channels.close(channel);
  }

  /** §1.16, in order. Idempotent. */
  private shutdown(reason: string): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    const env = this.env;
    env.log("info", "shutdown_begin", { reason });
    this._lifecycle.stopTimers();
    this._presence.stop();
    this._correlations.stop();
    this._transitions.shutdown();
    this.emitters.undispatched.shutdown();
    this.emitters.routed.shutdown();
    this.emitters.presence.shutdown();
    this._assignments.onShutdown();
    this._lifecycle.unregisterAll();
    for (const channel of this._channels.openChannels()) {
      env.emit({ kind: "ipc_close_channel", channel, code: 1001, reason: "broker_shutdown" });
    }
    this.ipc.abandonAll();
    this._connector.shutdown();
    env.deadlines.clear();
    env.abandonPending();
    env.stopped = true;
    env.emit({ kind: "stopped" });
  }

  private setNow(nowMs: number): void {
    if (nowMs > this.env.nowMs) this.env.nowMs = nowMs;
  }

  private internalError(err: unknown, where: string): void {
    this.internalErrors++;
    const e = err instanceof Error ? err : new Error(String(err));
    this.env.log("error", "core_internal_error", { where, message: e.message, stack: e.stack });
  }
}

/**
 * The cause of the work an input starts directly. Answers to the core's own calls (API and storage
 * results) run under the cause of the call instead (see `Env`), and a pipeline task or a retry
 * emitter sets its own.
 */
function inputCause(input: Input): Cause {
  switch (input.kind) {
    case "ipc_request":
      return { kind: "request", request: input.id, method: input.method, path: input.path };
    case "ipc_channel_open":
    case "ipc_channel_message":
    case "ipc_channel_closed":
      return { kind: "input", input: input.kind, channel: input.channel };
    default:
      return { kind: "input", input: input.kind };
  }
}
