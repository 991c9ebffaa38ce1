/**
 * One published-daemon process inside the worker: it boots `startBrokerDaemon` with the
 * simulator's connector socket, port, control-event path and in-memory IPC, turns each `Input`
 * into the matching call or socket event, and collects the daemon's effects as `Output`s.
 * The fake clock is installed per process and uninstalled when it dies, dropping its timers.
 */

import { EventEmitter } from "node:events";
import { join } from "node:path";
import FakeTimers from "@sinonjs/fake-timers";
import type { Input, Output } from "../../src/broker/types.ts";
import { type FakeHttpServer, FakePluginSocket, type OutputSink, require } from "./published-patches.ts";
import { type ApiResultRecord, type Deferred, makePort } from "./published-port.ts";
import type { WorkerStart } from "./published-protocol.ts";

// ---- the daemon's modules (loaded after the patches) ----

/** The parts of the package this adapter uses (it ships no types for these deep paths). */
interface RunningBroker {
  bearerToken: string;
  ipcUrl: string;
  shutdown(reason: string): Promise<void>;
  controlEventDispatcher: {
    dispatch(event: unknown): Promise<{ ok: boolean; ack_hint?: string; detail?: string }>;
  };
}
interface DaemonModule {
  startBrokerDaemon(opts: Record<string, unknown>): Promise<RunningBroker>;
}
interface ConnectorModule {
  ConnectorWS: new (opts: { url: string; token: string; runtimeSessionId?: string }) => object;
}
interface PlatformModule {
  PlatformApiError: new (status: number, code: string, message: string) => Error;
}

/** A module of the package by its path under dist/ (the daemon is not in its exports map). */
async function packageModule<T>(rel: string): Promise<T> {
  const main = require.resolve("@masons/runtime-broker");
  const dist = main.slice(0, main.lastIndexOf("/dist/") + "/dist/".length);
  return (await import(`file://${dist}${rel}`)) as T;
}
const daemonModule = await packageModule<DaemonModule>("broker/broker-daemon.js");
const connectorModule = await packageModule<ConnectorModule>("broker/connector-ws.js");
const platformModule = await packageModule<PlatformModule>("platform-client.js");
const pathsModule = await packageModule<{
  deliveryCursorFileForRuntimeSession(
    paths: { deliveryCursorFile: string },
    runtimeSessionId?: string,
  ): string;
}>("broker/paths.js");
const cursorFileModule = await packageModule<{ readDeliveryCursorFile(path: string): number | null }>(
  "broker/delivery-cursor-file.js",
);

// ---- one broker process ----

export class Proc implements OutputSink {
  readonly outputs: Output[] = [];
  readonly logs: Array<[string, string, Record<string, unknown> | undefined]> = [];
  clock: ReturnType<ReturnType<typeof FakeTimers.withGlobal>["install"]>;
  dead = false;
  stopped = false;
  internalErrors = 0;
  server: FakeHttpServer | undefined;
  running: RunningBroker | undefined;
  private connectorSocket: FakeConnectorSocket | undefined;
  private readonly plugins = new Map<number, { socket: FakePluginSocket; pid: number }>();
  private readonly alive = new Map<number, boolean>();
  private readonly pendingApi = new Map<number, Deferred>();
  private apiSeq = 0;
  /** Plugin pids of register requests, in arrival order (the port's params do not carry it). */
  private readonly registerPids: number[] = [];
  /** IPC inputs that arrived before the daemon listened (a plugin would retry its connection). */
  private readonly early: Input[] = [];
  /**
   * Control events that arrived before `startBrokerDaemon` resolved: the package's services-event
   * client subscribes only at the end of start-up, and a subscriber is handed what the platform
   * sent for the agent, so they are dispatched as soon as the dispatcher exists.
   */
  private readonly earlyControl: unknown[] = [];
  readonly initialCursor: number;

  constructor(
    readonly start: WorkerStart,
    readonly dir: string,
  ) {
    this.clock = FakeTimers.withGlobal(globalThis).install({
      now: start.nowMs,
      toFake: ["setTimeout", "clearTimeout", "setInterval", "clearInterval", "Date"],
      shouldClearNativeTimers: false,
    });
    // What the daemon will load: the cursor file of its runtime-session scope.
    const file = pathsModule.deliveryCursorFileForRuntimeSession(
      { deliveryCursorFile: join(dir, "cursor.json") },
      start.options.runtimeSessionId,
    );
    this.initialCursor = cursorFileModule.readDeliveryCursorFile(file) ?? 0;
  }

  out(o: Output): void {
    if (!this.dead) this.outputs.push(o);
  }

  nextDeadline(): number | undefined {
    let min: number | undefined;
    const timers = (this.clock as unknown as { timers?: Map<number, { callAt: number }> }).timers;
    if (!timers) return undefined;
    for (const t of timers.values()) if (min === undefined || t.callAt < min) min = t.callAt;
    return min;
  }

  boot(): void {
    const s = this.start;
    const o = s.options;
    const connector = new connectorModule.ConnectorWS({
      url: "ws://connector.sim/",
      token: "sim-token",
      runtimeSessionId: o.runtimeSessionId,
    });
    this.installConnector(connector);
    const entry = (level: string) => (event: string, fields?: Record<string, unknown>) => {
      if (!this.dead) this.logs.push([level, event, plain(fields)]);
    };
    const logger = { debug: entry("debug"), info: entry("info"), warn: entry("warn"), error: entry("error") };
    const call = (op: string, args: unknown, map: Deferred["map"]) =>
      new Promise((resolve, reject) => {
        const id = ++this.apiSeq;
        this.pendingApi.set(id, { op, resolve, reject, map });
        this.out({ kind: "api_call", id, op, args } as Output);
      });
    const { apiPort, closedEndpointLookup } = makePort({
      call,
      logger,
      nextRegisterPid: () => this.registerPids.shift(),
      PlatformApiError: platformModule.PlatformApiError,
    });
    const paths = {
      discoveryFile: join(this.dir, "discovery.json"),
      deliveryCursorFile: join(this.dir, "cursor.json"),
      discoveryDir: this.dir,
      logDir: join(this.dir, "logs"),
      buffersDir: join(this.dir, "buffers"),
    };
    daemonModule
      .startBrokerDaemon({
        paths,
        asNodeId: "sim-node",
        connector,
        apiPort,
        logger,
        closedEndpointLookup,
        livenessProbe: (pid: number) => this.alive.get(pid) ?? true,
        postControlAck: async (ack: { idempotency_key: string; status: string; detail?: string }) => {
          const o: Output = {
            kind: "control_ack",
            idempotency_key: ack.idempotency_key,
            status: ack.status as "applied",
          };
          if (ack.detail !== undefined) o.detail = ack.detail;
          this.out(o);
        },
        inboxCapacity: o.inboxCapacity,
        graceMs: o.graceMs,
        presenceGraceMs: o.presenceGraceMs,
        retryQueueCapacity: o.transitionQueueMax,
        replyCorrelationTtlMs: o.replyCorrelationTtlMs,
        replyCorrelationCapPerEndpoint: o.replyCorrelationPerEndpointMax,
        undispatchedChangedCapacity: o.emitterQueueMax,
        undispatchedChangedBackoffInitialMs: o.emitterBackoffInitialMs,
        undispatchedChangedBackoffMaxMs: o.emitterBackoffMaxMs,
        undispatchedChangedMaxRetries: o.emitterRetriesMax,
        networkPresenceChangedCapacity: o.presenceEmitterQueueMax,
        networkPresenceChangedBackoffInitialMs: o.emitterBackoffInitialMs,
        networkPresenceChangedBackoffMaxMs: o.emitterBackoffMaxMs,
        networkPresenceChangedMaxRetries: o.emitterRetriesMax,
        runtimeInboundRoutedCapacity: o.emitterQueueMax,
        runtimeInboundRoutedBackoffInitialMs: o.emitterBackoffInitialMs,
        runtimeInboundRoutedBackoffMaxMs: o.emitterBackoffMaxMs,
        runtimeInboundRoutedMaxRetries: o.emitterRetriesMax,
        runtimeAssignmentAcceptanceTimeoutMs: o.acceptanceTimeoutMs,
        pushReceiptAckTimeoutMs: o.pushReceiptTimeoutMs,
        spawnFn: (() => {
          throw new Error("spawning is outside the simulation");
        }) as never,
        exit: () => this.stop("exit"),
      })
      .then(
        (running: RunningBroker) => {
          if (this.dead) return;
          this.running = running;
          this.logs.push(["info", "sim_daemon_started", { ipcUrl: running.ipcUrl }]);
          this.flushEarly();
          for (const event of this.earlyControl.splice(0)) this.controlEvent(event);
        },
        (err: unknown) => {
          // entry.js exits the process when start-up fails; a supervisor may start a new one.
          this.logs.push(["error", "sim_daemon_start_failed", { err: String(err) }]);
          this.stop("start_failed");
        },
      );
  }

  stop(_why: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.out({ kind: "stopped" });
    this.kill();
  }

  /** The process is gone: nothing it does any more reaches the world. */
  kill(): void {
    this.dead = true;
    this.clock.uninstall();
  }

  ipcListening(server: FakeHttpServer): void {
    this.server = server;
  }

  private installConnector(connector: object): void {
    const client = (connector as unknown as { client: Record<string, unknown> }).client;
    const self = this;
    client.doConnect = function (this: Record<string, unknown>) {
      return new Promise((resolve, reject) => {
        this.registerResolve = resolve;
        this.registerReject = reject;
        const ws = new FakeConnectorSocket(self);
        this.ws = ws;
        self.connectorSocket = ws;
        ws.on("open", () => {
          (this.sendRegister as () => void).call(this);
          (this.startRegisterTimeout as () => void).call(this);
        });
        ws.on("message", this.handleMessage as never);
        ws.on("close", this.handleClose as never);
        ws.on("error", this.handleError as never);
        self.out({ kind: "connector_connect" });
      });
    };
  }

  handle(input: Input): void {
    switch (input.kind) {
      case "start":
        this.boot();
        return;
      case "connector_open": {
        const ws = this.connectorSocket;
        if (ws?.readyState !== 0) return;
        ws.readyState = 1;
        ws.emit("open");
        return;
      }
      case "connector_frame": {
        const ws = this.connectorSocket;
        if (ws?.readyState !== 1) return;
        ws.emit("message", Buffer.from(input.text), false);
        return;
      }
      case "connector_closed": {
        const ws = this.connectorSocket;
        if (!ws || ws.readyState === 3) return;
        ws.readyState = 3;
        this.connectorSocket = undefined;
        ws.emit("close", input.code, Buffer.from(input.reason));
        return;
      }
      case "api_result": {
        const d = this.pendingApi.get(input.id);
        if (!d) return;
        this.pendingApi.delete(input.id);
        const r = d.map(input.result as ApiResultRecord);
        if ("error" in r && r.error !== undefined) {
          (r.error as { simOp?: string }).simOp = d.op;
          d.reject(r.error);
        } else d.resolve(r.value);
        return;
      }
      case "storage_result":
        return;
      case "ipc_channel_open":
      case "ipc_channel_message":
      case "ipc_channel_closed":
      case "ipc_request":
        if (!this.server || this.early.length > 0) {
          this.early.push(input);
          return;
        }
        this.ipc(input);
        return;
      case "control_event":
        this.controlEvent(input.event);
        return;
      case "shutdown":
        if (!this.running) {
          this.stop("shutdown");
          return;
        }
        this.running.shutdown("sim_shutdown").then(
          () => this.stop("shutdown"),
          () => this.stop("shutdown"),
        );
        return;
    }
  }

  private flushEarly(): void {
    while (this.early.length > 0 && this.server) this.ipc(this.early.shift()!);
  }

  private ipc(input: Input): void {
    const server = this.server!;
    const token = this.running?.bearerToken ?? "";
    switch (input.kind) {
      case "ipc_channel_open": {
        const socket = new FakePluginSocket(this, input.channel);
        this.plugins.set(input.channel, { socket, pid: input.pid });
        const req = new EventEmitter() as EventEmitter & Record<string, unknown>;
        req.url = "/v1/stream";
        req.method = "GET";
        req.headers = {
          authorization: `Bearer ${token}`,
          "x-plugin-pid": String(input.pid),
          "x-masons-ipc-capabilities": input.capabilities.join(","),
        };
        req.channelSocket = socket;
        const raw = {
          write: (line: string) =>
            this.out({ kind: "ipc_close_channel", channel: input.channel, code: 1006, reason: line.trim() }),
          destroy: () => {},
        };
        server.emit("upgrade", req, raw, Buffer.alloc(0));
        return;
      }
      case "ipc_channel_message": {
        const p = this.plugins.get(input.channel);
        if (!p || p.socket.readyState === 3) return;
        p.socket.emit("message", Buffer.from(input.text), false);
        return;
      }
      case "ipc_channel_closed": {
        const p = this.plugins.get(input.channel);
        if (!p || p.socket.readyState === 3) return;
        this.alive.set(p.pid, input.pluginAlive);
        p.socket.readyState = 3;
        p.socket.emit("close", 1005, Buffer.alloc(0));
        return;
      }
      case "ipc_request": {
        if (input.path === "/v1/endpoint/register") {
          const pid = (input.body as { plugin_pid?: unknown } | undefined)?.plugin_pid;
          this.registerPids.push(typeof pid === "number" ? pid : 0);
        }
        const req = new EventEmitter() as EventEmitter & Record<string, unknown>;
        req.url = input.path;
        req.method = input.method;
        const headers: Record<string, string> = { authorization: `Bearer ${token}` };
        if (input.pidHeader !== undefined) headers["x-plugin-pid"] = input.pidHeader;
        req.headers = headers;
        req.destroy = () => {};
        let answered = false;
        const res = {
          statusCode: 200,
          setHeader: () => {},
          end: (text?: string) => {
            if (answered) return;
            answered = true;
            let body: unknown = {};
            try {
              body = text ? JSON.parse(text) : {};
            } catch {
              body = { raw: text };
            }
            this.out({ kind: "ipc_response", id: input.id, status: res.statusCode, body });
          },
        };
        server.handler(req, res);
        const body = dialect(input.path, input.body);
        if (body !== undefined) req.emit("data", Buffer.from(JSON.stringify(body)));
        req.emit("end");
        return;
      }
      default:
        return;
    }
  }

  private controlEvent(event: unknown): void {
    const running = this.running;
    const key = (event as { idempotency_key?: unknown } | null)?.idempotency_key;
    if (!running) {
      this.earlyControl.push(event);
      return;
    }
    // What the package's services-event-client does with a parsed SSE event: dispatch, then ack.
    running.controlEventDispatcher.dispatch(event).then(
      (outcome) => {
        if (typeof key !== "string") return;
        const o: Output = outcome.ok
          ? {
              kind: "control_ack",
              idempotency_key: key,
              status: outcome.ack_hint === "received" ? "received" : "applied",
            }
          : { kind: "control_ack", idempotency_key: key, status: "failed" };
        if (!outcome.ok && outcome.detail !== undefined) o.detail = outcome.detail;
        this.out(o);
      },
      (err: unknown) => {
        this.internalErrors++;
        this.logs.push(["error", "sim_control_dispatch_threw", { err: String(err) }]);
      },
    );
  }
}

/** The connector socket of the daemon's ConnectorClient, on the simulated network. */
class FakeConnectorSocket extends EventEmitter {
  readyState = 0;
  constructor(readonly owner: Proc) {
    super();
  }
  send(data: string): void {
    if (this.readyState !== 1) return;
    this.owner.out({ kind: "connector_send", frame: JSON.parse(data) });
  }
  close(code = 1000, reason = ""): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    this.owner.out({ kind: "connector_close", code, reason: String(reason) });
  }
  terminate(): void {
    this.close(1006, "");
  }
}

/** Log fields as plain data (they cross the thread boundary). */
function plain(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (fields === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(fields, (_k, v) => (v instanceof Error ? v.message : v))) as Record<
      string,
      unknown
    >;
  } catch {
    return { unserializable: true };
  }
}

/**
 * The simulated plugins speak the reference's IPC dialect; where the package spells a register
 * field differently, the body is translated (same meaning): capabilities arrive as `capabilities`
 * (ours also reads `runtime_capabilities`, the package only that), a headless endpoint is
 * `headless: true` (the package's `execution_surface: "headless"`).
 */
function dialect(path: string, body: unknown): unknown {
  if (path !== "/v1/endpoint/register" || typeof body !== "object" || body === null) return body;
  const b = { ...(body as Record<string, unknown>) };
  if (Array.isArray(b.capabilities)) {
    const own = Array.isArray(b.runtime_capabilities) ? (b.runtime_capabilities as unknown[]) : [];
    b.runtime_capabilities = [...new Set([...own, ...b.capabilities])];
  }
  if (b.headless === true && b.execution_surface === undefined) b.execution_surface = "headless";
  return b;
}
