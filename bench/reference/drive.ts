/**
 * Drive the published reference broker in this process (PROTOCOL §9.2): its own
 * `startBrokerDaemon` with
 *   - its real `ConnectorWS`, whose client's connect routine installs either an in-memory socket
 *     (`wire: "memory"`, the core comparison) or a real `ws` socket to our connector stub with the
 *     same frames (`wire: "stub"`, the daemon comparison);
 *   - an api port that answers every call at once (`api: "memory"`) or the platform stub over HTTP
 *     through a thin port written here (`api: "stub"`);
 *   - a temp dir for every path, a null logger, an injected `exit`;
 * and one real plugin: an IPC WebSocket client that acks every push receipt, like the shipped SDK.
 *
 * Its code is loaded by path from the installed devDependency at run time
 * (bench/reference/package.ts), never imported statically: its daemon modules are not in the
 * package's exports map.
 */

import { EventEmitter } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import WebSocket from "ws";

/** The slice of the reference's `ConnectorClient` the connect override touches. */
interface RefClient {
  ws: unknown;
  registerResolve: unknown;
  registerReject: unknown;
  handleMessage: (data: unknown) => void;
  handleClose: (code: number, reason: unknown) => void;
  handleError: (err: Error) => void;
  sendRegister(): void;
  startRegisterTimeout(): void;
  doConnect: () => Promise<void>;
}

interface RefConnector {
  client: RefClient;
}

interface RefRunning {
  bearerToken: string;
  ipcUrl: string;
  shutdown(reason: string): Promise<void>;
}

interface RefModules {
  ConnectorWS: new (opts: { url: string; token: string }) => RefConnector;
  startBrokerDaemon: (opts: Record<string, unknown>) => Promise<RefRunning>;
  createNullLogger: () => unknown;
}

export async function loadReference(dir: string): Promise<RefModules> {
  const url = (p: string) => pathToFileURL(join(dir, "dist", p)).href;
  const [cws, daemon, logger] = (await Promise.all([
    import(url("broker/connector-ws.js")),
    import(url("broker/broker-daemon.js")),
    import(url("broker/logger.js")),
  ])) as [
    { ConnectorWS: RefModules["ConnectorWS"] },
    { startBrokerDaemon: RefModules["startBrokerDaemon"] },
    { createNullLogger: RefModules["createNullLogger"] },
  ];
  return {
    ConnectorWS: cws.ConnectorWS,
    startBrokerDaemon: daemon.startBrokerDaemon,
    createNullLogger: logger.createNullLogger,
  };
}

/**
 * The server side of the in-memory connector wire: answers REGISTER, records DELIVERY_ACKs and
 * lets the bench inject MESSAGE_RECEIVED frames. Frames use the reference's `event` key.
 */
export class MemoryWire extends EventEmitter {
  readyState = 1;
  ackedUpTo = 0;
  onAck: ((upTo: number) => void) | undefined;

  /** Called by the reference client (`ws.send`). */
  send(text: string): void {
    const f = JSON.parse(text) as { event?: string; upToSeq?: number };
    if (f.event === "REGISTER") {
      setImmediate(() =>
        this.emit("message", JSON.stringify({ event: "REGISTER_ACK", status: "ok", protocolVersion: 4 })),
      );
    } else if (f.event === "DELIVERY_ACK" && typeof f.upToSeq === "number" && f.upToSeq > this.ackedUpTo) {
      this.ackedUpTo = f.upToSeq;
      this.onAck?.(f.upToSeq);
    }
  }

  close(code: number, reason: string): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setImmediate(() => this.emit("close", code, Buffer.from(reason)));
  }

  /** A frame from the "connector" to the broker. */
  deliver(text: string): void {
    this.emit("message", text);
  }
}

/** Replace the client's connect routine so it opens `socket` instead of dialling a URL. */
function installSocket(client: RefClient, makeSocket: () => EventEmitter & { readyState: number }): void {
  client.doConnect = function (this: RefClient) {
    return new Promise<void>((resolve, reject) => {
      this.registerResolve = resolve;
      this.registerReject = reject;
      const ws = makeSocket();
      this.ws = ws;
      ws.on("message", this.handleMessage);
      ws.on("close", this.handleClose);
      ws.on("error", this.handleError);
      const open = () => {
        this.sendRegister();
        this.startRegisterTimeout();
      };
      if (ws.readyState === 1) setImmediate(open);
      else ws.once("open", open);
    });
  }.bind(client);
}

/**
 * A real `ws` socket to our connector stub, translating the frame key both ways (the stub and our
 * broker say `type`, the reference says `event`). Looks like a `ws` socket to the reference client.
 */
class TranslatingSocket extends EventEmitter {
  private readonly ws: WebSocket;
  constructor(url: string) {
    super();
    this.ws = new WebSocket(url, { perMessageDeflate: false });
    this.ws.on("open", () => this.emit("open"));
    this.ws.on("message", (data) => this.emit("message", data.toString()));
    this.ws.on("close", (code, reason) => this.emit("close", code, reason));
    this.ws.on("error", (err) => this.emit("error", err));
  }
  get readyState(): number {
    return this.ws.readyState;
  }
  send(text: string): void {
    this.ws.send(text);
  }
  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }
  terminate(): void {
    this.ws.terminate();
  }
}

export type ApiPort = Record<string, (...args: never[]) => Promise<unknown>>;

/** Every port call answered at once: route claims say `route`, emits say ok. */
export function memoryApiPort(): ApiPort {
  const ok = async () => ({ ok: true });
  return {
    register: async () => ({ endpoint_id: "ep-ref", heartbeat_after_seconds: 3_600 }),
    heartbeat: async () => undefined,
    unregister: async () => undefined,
    transitionState: async () => undefined,
    emitUndispatchedChanged: ok,
    emitNetworkPresenceChanged: ok,
    emitRuntimeInboundRouted: ok,
    emitRuntimeProcessingState: ok,
    claimRuntimeInboundRoute: async () => ({ ok: true, action: "route" }),
  };
}

export interface RefBroker {
  running: RefRunning;
  /** Set with `wire: "memory"`. */
  wire: MemoryWire | undefined;
  close(): Promise<void>;
}

export interface StartOptions {
  wire: { kind: "memory" } | { kind: "stub"; url: string; token: string };
  apiPort: ApiPort;
}

export async function startReference(mods: RefModules, opts: StartOptions): Promise<RefBroker> {
  const root = mkdtempSync(join(tmpdir(), "ref-broker-"));
  const paths = {
    discoveryFile: join(root, "discovery.json"),
    deliveryCursorFile: join(root, "delivery-cursor.json"),
    discoveryDir: root,
    logDir: join(root, "log"),
    buffersDir: join(root, "buffers"),
  };
  const w = opts.wire;
  const connector = new mods.ConnectorWS({
    url: w.kind === "stub" ? w.url : "ws://in-memory.invalid",
    token: w.kind === "stub" ? w.token : "bench-token",
  });
  let wire: MemoryWire | undefined;
  let socket: TranslatingSocket | undefined;
  installSocket(connector.client, () => {
    if (w.kind === "memory") {
      wire = new MemoryWire();
      return wire;
    }
    socket = new TranslatingSocket(w.url);
    return socket;
  });
  const running = await mods.startBrokerDaemon({
    paths,
    asNodeId: "bench-node",
    connector,
    apiPort: opts.apiPort,
    logger: mods.createNullLogger(),
    livenessProbe: () => true,
    exit: () => {},
  });
  return {
    running,
    get wire() {
      return wire;
    },
    async close() {
      // Its shutdown waits for IPC clients; a bench must not hang on it.
      await Promise.race([running.shutdown("bench_done"), new Promise((r) => setTimeout(r, 5_000).unref())]);
      socket?.terminate();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
