/**
 * The simulated world: one broker core, the platform (connector server, API, dispatcher), the
 * plugins and the disk, wired through the simulated network and driven by one event queue.
 *
 * Theory of operation:
 * 1. Time only moves in `runUntil`: the loop takes whichever comes first, the next queue event or
 *    the broker's next deadline (a deadline wins a tie), moves the clock there and runs it. The
 *    broker is advanced only at its deadlines, never on a polling tick.
 * 2. Every core input goes through `input()`: it is traced, shown to the checkers, handled, and then
 *    each output is traced, checked and performed (routed onto a link or to an actor). A
 *    `step_end` event closes the step so checkers can reason about "outputs caused by this input".
 * 3. Answers addressed to a broker incarnation that has since crashed are dropped; the disk
 *    (`SimStorage`) is all that survives a crash, and a restart reads its cursor.
 * 4. The first checker finding stops the run (`violation`); nothing after it is processed.
 * 5. Nothing here reads wall-clock time or global randomness: every draw comes from a labelled
 *    stream of `streams`.
 */

import type { ApiArgs, ApiOp, ApiResult } from "../../src/broker/api.ts";
import { type BrokerOptions, type PlantedFaults, resolveOptions } from "../../src/broker/options.ts";
import type { Input, LogSink, Output } from "../../src/broker/types.ts";
import {
  ConnectorServer,
  type ConnectorServerOptions,
  DEFAULT_CONNECTOR_SERVER_OPTIONS,
} from "../actors/connector-server.ts";
import { DEFAULT_DISPATCHER_OPTIONS, Dispatcher, type DispatcherOptions } from "../actors/dispatcher.ts";
import { PlatformApi, type PlatformApiOptions } from "../actors/platform-api.ts";
import { PluginModel, type PluginSpec } from "../actors/plugin.ts";
import { SimStorage } from "../actors/storage.ts";
import type { CheckerDef, Violation } from "../checkers/checker.ts";
import { CheckerIndex } from "../checkers/checker-index.ts";
import { View } from "../checkers/view.ts";
import { Network } from "../network/network.ts";
import { SIM_EPOCH_MS, VirtualClock } from "./clock.ts";
import { EventQueue } from "./event-queue.ts";
import type { Fact, SimEvent } from "./events.ts";
import { Wiring } from "../network/wiring.ts";
import { FaultHub } from "../faults/hub.ts";
import { type FaultPlan, installFaults } from "../faults/index.ts";
import { SeededRandom, type StreamFactory, Streams } from "./prng.ts";
import { REFERENCE_TARGET } from "../targets/reference.ts";
import type { Target, TargetKind, TargetRun } from "../targets/target.ts";
import { Trace } from "./trace.ts";

export type ApiFaultHook = (
  op: ApiOp,
  args: ApiArgs[ApiOp],
  nowMs: number,
) => ApiResult<ApiOp> | "lost_request" | "lost_response" | undefined;

export interface LatencyConfig {
  connector: [number, number];
  api: [number, number];
  ipc: [number, number];
  storage: [number, number];
  controlEvents: [number, number];
}

export const DEFAULT_LATENCY: LatencyConfig = {
  connector: [5, 40],
  api: [5, 60],
  ipc: [0, 2],
  storage: [0, 2],
  controlEvents: [5, 50],
};

export interface WorldConfig {
  scenario: string;
  seed: number;
  brokerOptions?: Partial<BrokerOptions>;
  plantedFaults?: Partial<PlantedFaults>;
  connectorServer?: Partial<ConnectorServerOptions>;
  dispatcher?: Partial<DispatcherOptions>;
  /** Platform API model settings (default: the real platform's, e.g. 409 on sequence regressions). */
  platform?: Partial<PlatformApiOptions>;
  latency?: Partial<LatencyConfig>;
  plugins: PluginSpec[];
  checkers: CheckerDef[];
  /** Keep every trace line (for `--trace`). The hash is computed either way. */
  recordTrace?: boolean;
  /** Receives the core's log events (tests, debugging). */
  brokerLog?: LogSink;
  /** Record or replay every draw (issue 6 decision log); absent = plain seeded streams. */
  decisions?: StreamFactory;
  /** Faults to inject (issue 5), installed by `start()`. Absent or empty = no fault draws at all. */
  faults?: FaultPlan;
  /**
   * Workload items (1-based, in arrival order) that are drawn as usual but never sent: the
   * shrinker's way to leave a message out without moving any later draw.
   */
  workloadOmit?: readonly number[];
  /**
   * Workload items (1-based, in arrival order) that are neither drawn nor sent: the shrinker's way
   * to leave a message out together with every draw it made (the decision log's draws are tagged
   * with the item they served, `EventQueue.cause`).
   */
  workloadDrop?: readonly number[];
  /** The broker implementation under test (default: the reference core). */
  target?: TargetKind;
}

/** Safety net: this many `advance` calls at one instant means a deadline that never clears. */
const ADVANCES_PER_INSTANT_MAX = 10_000;

export class World {
  readonly clock = new VirtualClock(SIM_EPOCH_MS);
  readonly queue = new EventQueue();
  readonly streams: Streams;
  readonly trace: Trace;
  readonly network: Network;
  readonly server: ConnectorServer;
  readonly api: PlatformApi;
  readonly dispatcher: Dispatcher;
  readonly storage = new SimStorage();
  readonly plugins = new Map<number, PluginModel>();
  readonly view: View;
  readonly options: BrokerOptions;
  readonly latency: LatencyConfig;
  broker: Target | undefined;
  /** 1 for the first broker process; bumped by every restart. */
  incarnation = 0;
  violation: Violation | undefined;
  /**
   * Platform API fault hook: return a result to answer the call with instead of the
   * platform model (a 5xx, a 4xx, a route-claim `skip`); `"lost_request"` (never reached the
   * platform) or `"lost_response"` (applied, answer lost) both surface to the core as a transient
   * timeout failure after `platformRequestTimeoutMs`, as the daemon's HTTP client reports it.
   */
  apiFaults: ApiFaultHook | undefined;
  /** Events shown to the checkers (core inputs and outputs, facts, lifecycle). */
  events = 0;
  /** Owner of every fault hook; counts firings. Idle (and draw-free) unless a plan is installed. */
  readonly faultHub: FaultHub = new FaultHub(this);
  readonly wiring: Wiring;
  /** Checker instances by the events they want. */
  private readonly checkers: CheckerIndex;
  private readonly targetRun: TargetRun;
  private advancesAtInstant = 0;
  private lastAdvanceAt = -1;

  constructor(readonly config: WorldConfig) {
    const targetKind = config.target ?? REFERENCE_TARGET;
    this.targetRun = targetKind.open();
    this.api = new PlatformApi(config.platform);
    this.streams = new Streams(config.seed, config.decisions);
    config.decisions?.bindCause?.(() => this.queue.cause);
    this.trace = new Trace(config.recordTrace === true);
    this.latency = { ...DEFAULT_LATENCY, ...config.latency };
    this.options = resolveOptions({ ...config.brokerOptions, ...targetKind.fixedOptions });
    this.network = new Network(this.queue, this.clock, this.streams.get("network"), (link, what, label, at) =>
      this.trace.net(this.clock.elapsedMs, link, what, label, at - this.clock.startMs),
    );
    this.server = new ConnectorServer({
      ...DEFAULT_CONNECTOR_SERVER_OPTIONS,
      runtimeSessionId: this.options.runtimeSessionId,
      ...config.connectorServer,
    });
    this.dispatcher = new Dispatcher(this.api, this.streams.get("platform"), {
      ...DEFAULT_DISPATCHER_OPTIONS,
      ...config.dispatcher,
    });
    this.view = new View();
    this.checkers = new CheckerIndex(config.checkers.map((def) => ({ def, inst: def.create() })));
    this.wiring = new Wiring(this);
    const pluginStream = this.streams.get("plugins");
    for (const spec of config.plugins) {
      this.plugins.set(spec.pid, new PluginModel(spec, this.wiring, pluginStream));
    }
  }

  get nowMs(): number {
    return this.clock.nowMs;
  }

  /** Virtual ms since the run started. */
  get elapsedMs(): number {
    return this.clock.elapsedMs;
  }

  /**
   * A broker process that crashed, or that shut itself down (e.g. superseded by "Replaced by new
   * Runtime", §1.16), is not alive; the liveness phase restarts it as a supervisor or the plugin
   * SDK's lazy spawn would.
   */
  get brokerAlive(): boolean {
    return this.broker !== undefined && !this.broker.stopped;
  }

  /** Run `fn` at `relMs` after the start of the run. */
  at(relMs: number, fn: () => void): void {
    this.queue.schedule(this.clock.startMs + relMs, fn);
  }

  /** Run `fn` `delayMs` from now. */
  after(delayMs: number, fn: () => void): void {
    this.queue.schedule(this.clock.nowMs + delayMs, fn);
  }

  /** Boot the first broker and schedule every plugin's start. */
  start(): void {
    // Before the first broker: some faults change its settings (inbox pressure).
    if (this.config.faults !== undefined) installFaults(this, this.config.faults);
    this.startBroker();
    for (const p of this.plugins.values()) this.at(p.spec.startAtMs, () => p.start());
  }

  /** The broker process dies: nothing of it survives but what storage persisted. */
  crashBroker(): void {
    if (!this.broker) return;
    this.broker.dispose();
    this.broker = undefined;
    const t = this.elapsedMs;
    this.emit(
      { k: "crash", t, incarnation: this.incarnation },
      `{"t":${t},"k":"crash","inc":${this.incarnation}}`,
    );
    this.wiring.onBrokerCrash();
  }

  /** Start a new broker process from the persisted cursor. */
  restartBroker(): void {
    if (this.broker) this.crashBroker();
    this.startBroker();
  }

  /** The clock jumps forward (suspend/resume, NTP step): due deadlines fire at the next step. */
  jumpClock(deltaMs: number): void {
    this.clock.advanceTo(this.clock.nowMs + deltaMs);
  }

  /** Process events until virtual time `relEndMs` (since start) or a violation. */
  runUntil(relEndMs: number): void {
    const endMs = this.clock.startMs + relEndMs;
    while (this.violation === undefined) {
      const tq = this.queue.peekTime();
      const td = this.broker?.nextDeadline();
      if (td !== undefined && (tq === undefined || td <= tq)) {
        const at = Math.max(td, this.clock.nowMs);
        if (at > endMs) break;
        this.clock.advanceTo(at);
        // A broker timer serves no one workload item.
        this.queue.cause = 0;
        this.advanceBroker();
        continue;
      }
      if (tq === undefined || tq > endMs) break;
      const e = this.queue.pop()!;
      this.clock.advanceTo(e.at);
      this.queue.cause = e.cause;
      e.fn!();
    }
    this.queue.cause = 0;
    if (this.violation === undefined) this.clock.advanceTo(endMs);
  }

  /** End of run: show the checkers the final state (end-of-run invariants). */
  finish(): void {
    if (this.violation !== undefined) return;
    let snapshot: ReturnType<Target["snapshot"]> | undefined;
    try {
      snapshot = this.broker?.snapshot();
    } catch {
      snapshot = undefined;
    }
    this.emit({ k: "quiescent", t: this.elapsedMs, snapshot }, `{"t":${this.elapsedMs},"k":"quiescent"}`);
  }

  /** Release the target's resources (an adapter's worker thread); the world runs no more. */
  close(): void {
    this.broker?.dispose();
    this.targetRun.close();
  }

  /** Hand one input to the broker and perform its outputs. */
  input(input: Input): void {
    const broker = this.broker;
    if (!broker || this.violation) return;
    const t = this.elapsedMs;
    this.emitValue({ k: "in", t, input }, input);
    if (this.violation) return;
    broker.handle(input, this.clock.nowMs);
    this.drain(broker);
  }

  /** Record a ground-truth fact. */
  fact(fact: Fact): void {
    const t = this.elapsedMs;
    this.emitValue({ k: "truth", t, fact }, fact);
  }

  private startBroker(): void {
    this.incarnation++;
    this.broker = this.targetRun.start({
      scenario: this.config.scenario,
      seed: this.config.seed,
      incarnation: this.incarnation,
      nowMs: this.clock.nowMs,
      options: this.options,
      random: new SeededRandom(this.streams.get("broker.random")),
      initialCursor: this.storage.readCursor(),
      initialBuffers: this.storage.readBuffers(),
      initialInbox: this.storage.readInbox(),
      log: this.config.brokerLog,
      plantedFaults: this.config.plantedFaults,
    });
    const initialCursor = this.broker.initialCursor;
    const t = this.elapsedMs;
    this.emit(
      { k: "start", t, incarnation: this.incarnation, initialCursor, options: this.options },
      `{"t":${t},"k":"start","inc":${this.incarnation},"cursor":${initialCursor}}`,
    );
    this.input({ kind: "start" });
  }

  private advanceBroker(): void {
    const broker = this.broker!;
    const now = this.clock.nowMs;
    if (now === this.lastAdvanceAt) {
      if (++this.advancesAtInstant > ADVANCES_PER_INSTANT_MAX) {
        this.fail("X1", "safety", "the core's next deadline stays due after advance (deadline livelock)");
        return;
      }
    } else {
      this.lastAdvanceAt = now;
      this.advancesAtInstant = 0;
    }
    const t = this.elapsedMs;
    this.emit({ k: "advance", t }, `{"t":${t},"k":"advance"}`);
    broker.advance(now);
    this.drain(broker);
  }

  private drain(broker: Target): void {
    const outs = broker.takeOutputs();
    const t = this.elapsedMs;
    for (let i = 0; i < outs.length; i++) {
      const output = outs[i]!;
      this.emitValue({ k: "out", t, output }, output);
      if (this.violation) return;
      this.perform(output);
    }
    const deadlines = broker.takeDeadlineChanges?.();
    this.emit(
      deadlines === undefined
        ? { k: "step_end", t, internalErrors: broker.internalErrors }
        : { k: "step_end", t, internalErrors: broker.internalErrors, deadlines },
      undefined,
    );
  }

  private perform(o: Output): void {
    this.wiring.perform(o);
  }

  /** Show one event to the trace, the view and every checker. `line` undefined = not traced. */
  emit(ev: SimEvent, line: string | undefined): void {
    if (this.violation) return;
    if (line !== undefined) this.trace.add(line);
    this.check(ev);
  }

  /** `emit` for an event whose trace line is `eventLine(t, k, value)`, hashed without building it. */
  private emitValue(ev: SimEvent, value: unknown): void {
    if (this.violation) return;
    this.trace.event(ev.t, ev.k, value);
    this.check(ev);
  }

  /** Show one event to the view and to the checkers that want its kind. */
  private check(ev: SimEvent): void {
    this.events++;
    const view = this.view;
    view.observe(ev);
    this.faultHub.observe(ev);
    const cs = this.checkers.for(ev);
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i]!;
      const finding = c.inst.onEvent(ev, view);
      if (finding) {
        this.violation = {
          invariant: c.def.id,
          kind: c.def.kind,
          statement: c.def.statement,
          seed: this.config.seed,
          scenario: this.config.scenario,
          atMs: this.elapsedMs,
          message: finding.message,
          involved: finding.involved ?? [],
          recentEvents: this.trace.last(),
        };
        return;
      }
    }
  }

  /** A kernel-level failure (not tied to one checker). */
  fail(invariant: string, kind: "safety" | "liveness", message: string): void {
    if (this.violation) return;
    this.violation = {
      invariant,
      kind,
      statement: "",
      seed: this.config.seed,
      scenario: this.config.scenario,
      atMs: this.elapsedMs,
      message,
      involved: [],
      recentEvents: this.trace.last(),
    };
  }
}
