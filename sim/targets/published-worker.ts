/**
 * Worker thread that runs the published `@masons/runtime-broker` daemon (`startBrokerDaemon`)
 * behind the simulator's Input/Output boundary. The main thread (published.ts) calls it
 * synchronously; every patched global lives and dies with this thread.
 *
 * Theory of operation:
 * 1. Globals are patched once, before the daemon's modules load: `crypto.randomUUID`,
 *    `crypto.randomBytes`, `crypto.getRandomValues` and `Math.random` draw from a seeded stream;
 *    `http.createServer` makes an in-memory server (the daemon only uses its request handler, its
 *    `upgrade` event, `listen`, `address` and `close`) and `WebSocketServer.prototype.handleUpgrade`
 *    hands back an in-memory plugin socket; `fetch` fails as a refused connection (the discovery
 *    health probe of an earlier, crashed process). `syncBuiltinESMExports()` makes the daemon's
 *    named ESM imports of `node:crypto` and `node:http` see the patches.
 * 2. Per broker process, `@sinonjs/fake-timers` owns `setTimeout`/`setInterval`/`Date` (explicit
 *    `toFake` list; `setImmediate`, `nextTick` and `queueMicrotask` stay real), set to the
 *    simulator's virtual time. A crash uninstalls it, which drops every timer of the dead process.
 * 3. Each request from the main thread performs one input (or advances time) and then lets the
 *    daemon run to quiescence: real `setImmediate` turns until no output, no timer and no pending
 *    work appears for two turns. Everything the daemon does is in-memory, so that point exists.
 * 4. Outputs are the simulator's `Output` records: connector frames from the in-memory connector
 *    socket, `api_call`s from the port whose every method returns a deferred that an `api_result`
 *    input settles, `ipc_response`/`ipc_push`/`ipc_close_channel` from the in-memory IPC, and
 *    `control_ack`s from `postControlAck`.
 * 5. The disk is a real temp directory per run (the daemon's sync `node:fs`), kept across
 *    incarnations and removed when the run closes.
 */

import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type MessagePort, workerData } from "node:worker_threads";
import FakeTimers from "@sinonjs/fake-timers";
import type { Input, Output } from "../../src/broker/types.ts";
import { Stream } from "../kernel/prng.ts";
import type { WorkerReply, WorkerRequest, WorkerStart } from "./published-protocol.ts";

const require = createRequire(import.meta.url);
const cryptoCjs = require("node:crypto") as typeof import("node:crypto");
const httpCjs = require("node:http") as typeof import("node:http");

// ---- randomness ----

let rnd = new Stream("published", 1);
cryptoCjs.randomUUID = (() => rnd.uuid()) as typeof cryptoCjs.randomUUID;
cryptoCjs.randomBytes = ((n: number) => Buffer.from(rnd.hex(n), "hex")) as typeof cryptoCjs.randomBytes;
const fillRandom = <T extends ArrayBufferView | null>(a: T): T => {
  if (a) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = rnd.int(256);
  }
  return a;
};
globalThis.crypto.getRandomValues = fillRandom as typeof globalThis.crypto.getRandomValues;
Math.random = () => rnd.float();
globalThis.fetch = (async () => {
  throw new TypeError("fetch failed (connection refused: no process listens in the simulation)");
}) as typeof fetch;

// ---- in-memory IPC server ----

let proc: Proc | undefined;

class FakeHttpServer extends EventEmitter {
  constructor(readonly handler: (req: unknown, res: unknown) => void) {
    super();
  }
  listen(_port: number, _host: string, cb: () => void): this {
    proc?.ipcListening(this);
    queueMicrotask(cb);
    return this;
  }
  address(): { port: number; address: string; family: string } {
    return { port: 1, address: "127.0.0.1", family: "IPv4" };
  }
  close(cb?: (err?: Error) => void): this {
    if (proc?.server === this) proc.server = undefined;
    if (cb) queueMicrotask(() => cb());
    return this;
  }
}
httpCjs.createServer = ((handler: (req: unknown, res: unknown) => void) =>
  new FakeHttpServer(handler)) as unknown as typeof httpCjs.createServer;
syncBuiltinESMExports();

/** A plugin's `/v1/stream` socket as the daemon sees it. */
class FakePluginSocket extends EventEmitter {
  readyState = 1;
  constructor(
    readonly owner: Proc,
    readonly channel: number,
  ) {
    super();
  }
  send(data: string | Buffer): void {
    if (this.readyState !== 1) return;
    this.owner.out({ kind: "ipc_push", channel: this.channel, frame: JSON.parse(String(data)) });
  }
  close(code = 1000, reason = ""): void {
    if (this.readyState !== 1) return;
    this.readyState = 2;
    this.owner.out({ kind: "ipc_close_channel", channel: this.channel, code, reason: String(reason) });
  }
  terminate(): void {
    this.close(1006, "terminated");
  }
  ping(): void {}
}

// The package may carry its own copy of `ws`: patch the one its modules resolve.
const packageRequire = createRequire(require.resolve("@masons/runtime-broker"));
const { WebSocketServer } = packageRequire("ws") as typeof import("ws");
WebSocketServer.prototype.handleUpgrade = ((
  req: { channelSocket?: FakePluginSocket },
  _socket: unknown,
  _head: unknown,
  cb: (ws: unknown, req: unknown) => void,
) => {
  if (req.channelSocket) cb(req.channelSocket, req);
}) as unknown as typeof WebSocketServer.prototype.handleUpgrade;

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

interface Deferred {
  op: string;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  map(result: { ok: boolean } & Record<string, unknown>): { value?: unknown; error?: unknown };
}

type ApiResultRecord = { ok: boolean } & Record<string, unknown>;

function throwOnFailure(r: ApiResultRecord): { value?: unknown; error?: unknown } {
  if (r.ok) return { value: undefined };
  return {
    error: new platformModule.PlatformApiError(
      typeof r.status === "number" ? r.status : 503,
      typeof r.code === "string" ? r.code : "unavailable",
      typeof r.detail === "string" ? r.detail : "platform call failed",
    ),
  };
}

function emitOutcome(r: ApiResultRecord): { value: unknown } {
  if (r.ok) return { value: { ok: true } };
  const out: Record<string, unknown> = { ok: false, terminal: r.terminal === true };
  if (r.status !== undefined) out.status = r.status;
  if (r.detail !== undefined) out.detail = r.detail;
  if (r.assignmentFailureCategory !== undefined) out.assignmentFailureCategory = r.assignmentFailureCategory;
  return { value: out };
}

class Proc {
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
    const ok = (value: unknown) => (r: ApiResultRecord) =>
      r.ok
        ? { value: typeof value === "function" ? (value as (r: ApiResultRecord) => unknown)(r) : value }
        : throwOnFailure(r);
    const apiPort = {
      register: (params: Record<string, unknown>) =>
        call(
          "register",
          registerArgs(params, this.registerPids.shift()),
          ok((r: ApiResultRecord) => stripOk(r)),
        ),
      heartbeat: (endpoint_id: string) => call("heartbeat", { endpoint_id }, ok(undefined)),
      unregister: (endpoint_id: string) => call("unregister", { endpoint_id }, ok(undefined)),
      // As the package's production port (entry.js) does: a 404 is skipped, any other failure is
      // retried once after 500 ms and then only logged; the daemon calls it with `void`.
      transitionState: async (endpoint_id: string, params: Record<string, unknown>) => {
        const args = { endpoint_id, ...params };
        try {
          await call("transition_state", args, ok(undefined));
        } catch (err) {
          if ((err as { status?: unknown }).status === 404) return;
          await new Promise((r) => setTimeout(r, 500));
          try {
            await call("transition_state", args, ok(undefined));
          } catch (err2) {
            logger.warn("transitionState_failed", { endpoint_id, err: String(err2) });
          }
        }
      },
      emitUndispatchedChanged: (event: unknown) => call("undispatched_changed", event, emitOutcome),
      emitNetworkPresenceChanged: (event: unknown) => call("presence_changed", event, emitOutcome),
      claimRuntimeInboundRoute: (event: unknown) =>
        call("inbound_route_claim", event, (r) =>
          r.ok ? { value: { ok: true, action: r.action } } : emitOutcome(r),
        ),
      emitRuntimeInboundRouted: (event: unknown) => call("inbound_routed", event, emitOutcome),
      emitRuntimeProcessingState: (event: unknown) => call("processing_state", event, emitOutcome),
      listRuntimeClaimCandidates: (params: Record<string, unknown>) =>
        call(
          "list_claim_candidates",
          { endpoint_id: params.endpoint_id, endpoint_nonce: params.endpoint_nonce, limit: params.limit },
          ok((r: ApiResultRecord) => ({ items: r.items })),
        ),
    };
    const closedEndpointLookup = {
      lookup: (endpoint_id: string) =>
        call(
          "closed_endpoint_lookup",
          { endpoint_id },
          ok((r: ApiResultRecord) =>
            r.retired === true
              ? { exists: true, closed: true, view: { endpoint_id, state: "closed" } }
              : { exists: false },
          ),
        ),
      invalidate: () => {},
      size: () => 0,
    };
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
    if (!running) return;
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

/** The port's register params in the simulator's `register` vocabulary (src/broker/api.ts). */
function registerArgs(p: Record<string, unknown>, pid: number | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {
    nonce: p.endpoint_nonce,
    plugin_pid: pid ?? 0,
    kind: p.runtime_kind,
    capabilities: Array.isArray(p.runtime_capabilities) ? p.runtime_capabilities : [],
    display_label: p.display_label,
  };
  if (p.workspace !== undefined) out.workspace = p.workspace;
  if (p.runtime_session_id !== undefined) out.runtime_session_id = p.runtime_session_id;
  if (p.background_exchange_mode !== undefined) out.background_exchange_mode = p.background_exchange_mode;
  return out;
}

function stripOk(r: ApiResultRecord): Record<string, unknown> {
  const { ok: _ok, ...rest } = r;
  return rest;
}

// ---- errors the daemon lets escape (an uncaught error exits the real process) ----

process.on("unhandledRejection", (err) => {
  if (!proc || proc.dead) return;
  proc.internalErrors++;
  proc.logs.push([
    "error",
    "sim_unhandled_rejection",
    { err: String(err), op: (err as { simOp?: string }).simOp },
  ]);
});
process.on("uncaughtException", (err) => {
  if (!proc || proc.dead) return;
  proc.internalErrors++;
  proc.logs.push(["error", "sim_uncaught_exception", { err: String(err) }]);
});

// ---- quiescence and the request loop ----

const realSetImmediate = setImmediate;
const turn = () => new Promise<void>((r) => realSetImmediate(r));

/** Let the daemon run until nothing changes for two event-loop turns. */
async function settle(p: Proc): Promise<void> {
  let quiet = 0;
  for (let i = 0; i < 200 && quiet < 2; i++) {
    const before = p.outputs.length + p.logs.length;
    await turn();
    quiet = p.outputs.length + p.logs.length === before ? quiet + 1 : 0;
  }
}

async function advanceTo(p: Proc, nowMs: number): Promise<void> {
  for (;;) {
    if (p.dead) return;
    const due = p.nextDeadline();
    if (due === undefined || due > nowMs) break;
    p.clock.tick(Math.max(0, due - p.clock.now));
    await settle(p);
  }
  if (!p.dead && nowMs > p.clock.now) p.clock.tick(nowMs - p.clock.now);
}

let dir: string | undefined;

async function serve(req: WorkerRequest): Promise<WorkerReply> {
  switch (req.op) {
    case "start": {
      if (proc && !proc.dead) proc.kill();
      dir ??= mkdtempSync(join(tmpdir(), "broker-sim-published-"));
      rnd = new Stream("published", req.start.randomSeed);
      proc = new Proc(req.start, dir);
      return reply(proc);
    }
    case "handle": {
      const p = proc!;
      await advanceTo(p, req.nowMs);
      if (!p.dead) p.handle(req.input);
      await settle(p);
      return reply(p);
    }
    case "advance": {
      const p = proc!;
      await advanceTo(p, req.nowMs);
      await settle(p);
      return reply(p);
    }
    case "crash": {
      if (proc && !proc.dead) proc.kill();
      return {
        outputs: [],
        logs: [],
        stopped: true,
        internalErrors: 0,
        deadline: undefined,
        initialCursor: 0,
      };
    }
    case "close": {
      if (proc && !proc.dead) proc.kill();
      if (dir) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
      return {
        outputs: [],
        logs: [],
        stopped: true,
        internalErrors: 0,
        deadline: undefined,
        initialCursor: 0,
      };
    }
  }
}

function reply(p: Proc): WorkerReply {
  const outputs = p.outputs.splice(0);
  const logs = p.logs.splice(0);
  return {
    outputs,
    logs,
    stopped: p.stopped,
    internalErrors: p.internalErrors,
    deadline: p.dead ? undefined : p.nextDeadline(),
    initialCursor: p.initialCursor,
  };
}

const { port, flag } = workerData as { port: MessagePort; flag: SharedArrayBuffer };
const signal = new Int32Array(flag);
port.on("message", (req: WorkerRequest) => {
  serve(req).then(
    (r) => {
      port.postMessage(r);
      Atomics.store(signal, 0, 1);
      Atomics.notify(signal, 0);
    },
    (err: unknown) => {
      port.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      Atomics.store(signal, 0, 1);
      Atomics.notify(signal, 0);
    },
  );
});
