/**
 * Embedding API: `createBroker(options)` starts a real runtime broker in this process — the
 * sans-IO core driven over real ws (connector), http + ws (plugin IPC), fs (cursor, buffers,
 * discovery) and the platform's HTTP API and SSE control stream.
 *
 * Start-up order (PROTOCOL §1.1, as far as it concerns I/O):
 * 1. Create the data directory (0700). If its discovery file names a live broker whose
 *    `GET /health` answers within `discoveryHealthTimeoutMs`, refuse with BrokerAlreadyRunningError.
 * 2. Read the persisted cursor (absent/corrupt ⇒ 0) and build the core with it.
 * 3. Listen for plugins on 127.0.0.1:0 with a fresh bearer token, feed `start`, subscribe to
 *    control events when an `agentId` is known.
 * 4. Wait for the connector's first `REGISTER_ACK ok`, then write discovery and resolve (§1.1 steps
 *    3 and 9): a plugin host that finds the record finds a broker that can deliver. If the first
 *    connection ends before it registered (refused token, unreachable connector), start-up fails
 *    with BrokerStartError and everything is released, as the published daemon's start does.
 *
 * `close()` feeds `shutdown`, waits for the core's `stopped` (at most `shutdownWatchdogMs`), then
 * closes every socket, including plugin streams that are still open.
 */

import type { BrokerCore as BrokerCoreType } from "../broker/broker.ts";
import { BrokerCore } from "../broker/broker.ts";
import type { BrokerOptions } from "../broker/options.ts";
import type { Input, LogLevel, Random } from "../broker/types.ts";
import { ConnectorWs } from "./connector-ws.ts";
import { InboundGate } from "./inbound-gate.ts";
import { ControlEventStream } from "./control-events.ts";
import { CursorWrites } from "./cursor-writes.ts";
import { Driver } from "./driver.ts";
import { mintBearerToken } from "./ipc-auth.ts";
import { IpcServer, processAlive } from "./ipc-server.ts";
import { Logger, type LogWriter } from "./logger.ts";
import { PlatformClient } from "./platform-client.ts";
import { CryptoRandom } from "./random.ts";
import { FileStorage } from "./storage.ts";

export interface CreateBrokerOptions {
  /** `ws://`/`wss://` URL of the platform connector. Required. */
  connectorUrl: string;
  /** Connector auth token, sent in REGISTER. Required. */
  connectorToken: string;
  /** Platform API base URL without `/v1` (e.g. `http://127.0.0.1:8080`). Required. */
  apiBaseUrl: string;
  /** Bearer token for the platform API and control-event stream. Default: `connectorToken`. */
  apiToken?: string;
  /** Directory for the cursor, buffers and discovery file; created with mode 0700. Required. */
  dataDir: string;
  /** Agent id for `GET /v1/runtime/control-events?agent_id=`. Default none: no control stream. */
  agentId?: string;
  /** Lowest log level written. Default `"info"`. */
  logLevel?: LogLevel;
  /** Where JSON log lines go. Default `process.stderr`. */
  logStream?: LogWriter;
  /** Overrides of the core's PROTOCOL §6 defaults (timeouts in ms, capacities in entries). */
  brokerOptions?: Partial<BrokerOptions>;
  /** IPC bind port. Default 0 (ephemeral). The host is always 127.0.0.1. */
  ipcPort?: number;
  /** IPC request body limit. Default 1 048 576 bytes. */
  ipcBodyLimitBytes?: number;
  /** IPC stream frame limit (larger ⇒ close 1009). Default 1 048 576 bytes. */
  ipcWsMaxPayloadBytes?: number;
  /** Connector opening handshake timeout. Default 10 000 ms. */
  connectorHandshakeTimeoutMs?: number;
  /** Largest connector frame accepted (larger ⇒ close 1009). Default 16 777 216 bytes. */
  connectorMaxPayloadBytes?: number;
  /**
   * Unfinished inbound tasks above which further connector frames wait in the daemon (and the
   * socket stops being read while many wait). Default 256 tasks.
   */
  maxInboundTasksInFlight?: number;
  /** Platform API request timeout. Default 15 000 ms. */
  apiRequestTimeoutMs?: number;
  /** Control-event stream reconnect delay: first and ceiling. Defaults 1 000 / 30 000 ms. */
  controlEventsBackoffInitialMs?: number;
  controlEventsBackoffMaxMs?: number;
  /** Longest wait for the core's `stopped` during `close()`. Default 5 000 ms. */
  shutdownWatchdogMs?: number;
  /** Wait for a discovery-named broker's `/health`. Default 2 000 ms. */
  discoveryHealthTimeoutMs?: number;
  /** Plugin liveness probe. Default: `process.kill(pid, 0)` not failing with ESRCH. */
  livenessProbe?: (pid: number) => boolean;
  /** Randomness for the core. Default crypto-backed (`randomUUID`, `randomInt`, `randomBytes`). */
  random?: Random;
  /** Called once when the core stopped on its own (e.g. superseded by a new runtime). */
  onStopped?: () => void;
}

export interface RunningBroker {
  /** Base URL of the IPC server, e.g. `http://127.0.0.1:53117`. */
  readonly ipcUrl: string;
  /** The IPC bearer token (also in the discovery file, mode 0600). */
  readonly bearerToken: string;
  /** The core, for snapshots and tests. */
  readonly core: BrokerCoreType;
  readonly driver: Driver;
  readonly discoveryPath: string;
  readonly logger: Logger;
  /** Graceful shutdown; idempotent; resolves when every socket is closed. */
  close(): Promise<void>;
  /** Drop all I/O at once without the shutdown protocol, as if the process died (crash tests). */
  abort(): void;
}

/** The connector's first connection ended before `REGISTER_ACK ok`; nothing is left running. */
export class BrokerStartError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(`the connector closed before registering (${code}${reason ? ` ${reason}` : ""})`);
    this.name = "BrokerStartError";
  }
}

export class BrokerAlreadyRunningError extends Error {
  constructor(
    readonly pid: number,
    readonly ipcUrl: string,
  ) {
    super(`a runtime broker (pid ${pid}) is already serving ${ipcUrl}`);
    this.name = "BrokerAlreadyRunningError";
  }
}

export async function createBroker(options: CreateBrokerOptions): Promise<RunningBroker> {
  const logger = new Logger({ level: options.logLevel ?? "info", stream: options.logStream });
  const storage = new FileStorage(options.dataDir, logger);
  storage.init();
  await refuseIfRunning(storage, options.discoveryHealthTimeoutMs ?? 2_000);

  const initialCursor = storage.readCursor();
  logger.info("cursor_file_read", { lastKnownSeq: initialCursor, path: storage.cursorPath });
  const core = new BrokerCore({
    options: { ...options.brokerOptions, connectorToken: options.connectorToken },
    random: options.random ?? new CryptoRandom(),
    initialCursor,
    // Buffer files of an earlier process: the core surfaces them into its inbox (L5).
    initialBuffers: storage.readBuffers(),
    // The inbox journal of an earlier process: its rows are the inbox again (L9).
    initialInbox: storage.readInbox(),
    log: logger.sink,
  });

  const apiToken = options.apiToken ?? options.connectorToken;
  const platform = new PlatformClient({
    baseUrl: options.apiBaseUrl,
    token: apiToken,
    requestTimeoutMs: options.apiRequestTimeoutMs,
    logger,
  });
  const bearerToken = mintBearerToken();
  // The components answer through the driver, which is created right below them.
  let driver: Driver | undefined;
  // Start-up watches the connector until its first registration (theory, point 4).
  let onStartInput: ((input: Input) => void) | undefined;
  const feed: Driver["feed"] = (input) => {
    driver?.feed(input);
    onStartInput?.(input);
  };
  // Connector frames reach the core through the gate: at most so many inbound tasks at once.
  const gate = new InboundGate(
    {
      inflight: () => core.inflightTasks.size,
      feed,
      pause: () => connector.pause(),
      resume: () => connector.resume(),
    },
    { maxInboundTasksInFlight: options.maxInboundTasksInFlight },
  );
  const connector = new ConnectorWs({
    url: options.connectorUrl,
    handshakeTimeoutMs: options.connectorHandshakeTimeoutMs,
    maxPayloadBytes: options.connectorMaxPayloadBytes,
    onInput: (input) => gate.input(input),
    logger,
  });
  const ipc = new IpcServer({
    token: bearerToken,
    onInput: feed,
    port: options.ipcPort ?? 0,
    bodyLimitBytes: options.ipcBodyLimitBytes,
    wsMaxPayloadBytes: options.ipcWsMaxPayloadBytes,
    livenessProbe: options.livenessProbe ?? processAlive,
    logger,
  });
  const control = options.agentId
    ? new ControlEventStream({
        baseUrl: options.apiBaseUrl,
        agentId: options.agentId,
        token: apiToken,
        onEvent: (event) => feed({ kind: "control_event", event }),
        backoffInitialMs: options.controlEventsBackoffInitialMs,
        backoffMaxMs: options.controlEventsBackoffMaxMs,
        logger,
      })
    : undefined;

  const cursorWrites = new CursorWrites(
    (op) => storage.perform(op),
    (id, r) =>
      feed(
        r.ok
          ? { kind: "storage_result", id, ok: true }
          : { kind: "storage_result", id, ok: false, error: r.error },
      ),
  );

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => {
    resolveStopped = r;
  });
  let closing: Promise<void> | undefined;
  // Set before the shutdown input is fed: the core answers it synchronously with `stopped`.
  let closeRequested = false;
  let aborted = false;

  const d = new Driver(
    core,
    {
      connectorConnect: () => connector.connect(),
      connectorSend: (frame) => connector.send(frame),
      connectorClose: (code, reason) => connector.close(code, reason),
      api: (id, op, args) => {
        void platform.call(op, args).then((result) => feed({ kind: "api_result", id, result }));
      },
      storage: (id, op) => {
        if (op.op === "write_cursor") {
          cursorWrites.request(id, op.lastKnownSeq);
          return;
        }
        const r = storage.perform(op);
        feed(
          r.ok
            ? { kind: "storage_result", id, ok: true }
            : { kind: "storage_result", id, ok: false, error: r.error },
        );
      },
      ipcRespond: (id, status, body) => ipc.respond(id, status, body),
      ipcPush: (channel, frame) => ipc.push(channel, frame),
      ipcCloseChannel: (channel, code, reason) => ipc.closeChannel(channel, code, reason),
      controlAck: ({ idempotency_key, status, detail }) => {
        void platform.controlAck(
          detail === undefined ? { idempotency_key, status } : { idempotency_key, status, detail },
        );
      },
      stopped: () => {
        resolveStopped();
        // A core that stops by itself (superseded) still needs its sockets closed.
        if (!closeRequested) {
          void close().then(() => options.onStopped?.());
        }
      },
    },
    { logger, afterStep: () => gate.pump() },
  );
  driver = d;

  const ipcUrl = await ipc.listen();
  logger.info("ipc_listening", { ipcUrl });
  const identity = { pid: process.pid, ipcUrl, bearerToken };
  const registered = new Promise<void>((resolve, reject) => {
    onStartInput = (input) => {
      if (core.connector.ready) {
        onStartInput = undefined;
        resolve();
      } else if (input.kind === "connector_closed") {
        onStartInput = undefined;
        reject(new BrokerStartError(input.code, input.reason));
      }
    };
  });
  d.feed({ kind: "start" });
  if (control) control.start();
  else logger.info("control_events_disabled", { reason: "no agentId" });

  async function close(): Promise<void> {
    if (aborted) return;
    if (closing) return closing;
    closeRequested = true;
    const closeStartedMs = Date.now();
    closing = (async () => {
      logger.info("daemon_shutdown_begin", {});
      storage.deleteDiscoveryIfOwned(identity);
      const controlStopped = control?.stop();
      d.feed({ kind: "shutdown" });
      const watchdogMs = options.shutdownWatchdogMs ?? 5_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const fired = await Promise.race([
        stopped.then(() => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), watchdogMs);
        }),
      ]);
      clearTimeout(timer);
      if (fired) logger.warn("shutdown_watchdog_fired", { watchdogMs });
      // The shutdown's own platform calls (endpoint unregisters, a last control ack) land before
      // the client is torn down, within what is left of the watchdog.
      const settled = await platform.settle(Math.max(0, watchdogMs - (Date.now() - closeStartedMs)));
      if (!settled) logger.warn("shutdown_platform_calls_cut_off", { watchdogMs });
      // The last acked cursor reaches the disk before the process lets go of it.
      cursorWrites.flush();
      cursorWrites.drop();
      d.dispose();
      platform.abortAll();
      connector.terminate();
      await Promise.all([ipc.close(), controlStopped]);
      logger.info("shutdown_complete", {});
    })();
    return closing;
  }

  const abort = () => {
    if (aborted) return;
    aborted = true;
    cursorWrites.drop();
    d.dispose();
    platform.abortAll();
    connector.terminate();
    ipc.terminate();
    void control?.stop();
  };

  try {
    await registered;
  } catch (err) {
    logger.error("daemon_start_failed", { error: (err as Error).message });
    abort();
    throw err;
  }
  storage.writeDiscovery({ version: 1, startedAt: new Date().toISOString(), ...identity });
  logger.info("discovery_written", { path: storage.discoveryPath });

  return {
    ipcUrl,
    bearerToken,
    core,
    driver: d,
    discoveryPath: storage.discoveryPath,
    logger,
    close,
    abort,
  };
}

async function refuseIfRunning(storage: FileStorage, timeoutMs: number): Promise<void> {
  const rec = storage.readDiscovery();
  if (!rec || !processAlive(rec.pid)) return;
  try {
    const res = await fetch(`${rec.ipcUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    if (res.status >= 200 && res.status < 300) throw new BrokerAlreadyRunningError(rec.pid, rec.ipcUrl);
  } catch (err) {
    if (err instanceof BrokerAlreadyRunningError) throw err;
    // Unreachable or slow: the record is stale; we take over and overwrite it.
  }
}

export { FileStorage } from "./storage.ts";
export { Logger, MemoryLogWriter } from "./logger.ts";
