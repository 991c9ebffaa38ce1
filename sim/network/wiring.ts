/**
 * The links of the simulated world and what travels on them: broker ↔ connector server (one pair of
 * ordered links per socket), broker ↔ platform API (unordered requests and responses), platform →
 * broker control events (ordered, like an SSE stream), broker ↔ disk, and broker ↔ each plugin (an
 * ordered stream link each way, unordered HTTP each way).
 *
 * Theory of operation:
 * 1. `perform(output)` turns one core output into a send on a link; the delivery at the far end
 *    calls the actor, and an actor's answer travels back on the reverse link as a core input.
 * 2. Every answer remembers the broker incarnation it belongs to and is dropped if the broker
 *    crashed meanwhile. The connector socket and plugin channels additionally check that they are
 *    still the ones the broker knows (a late frame for a closed socket is lost, as on a real wire).
 * 3. Each channel is reported closed to the core exactly once, whoever closed it.
 * 4. The plugin host interface is implemented here, so plugins see only IPC.
 * 5. A plugin stream is open for the plugin only once the broker has taken it: the WebSocket
 *    handshake's answer comes back one link latency after the broker's `ipc_channel_open`, and only
 *    then does the plugin hear `onOpen` (the shipped SDK awaits `open` before it registers or
 *    reattaches, so the broker always has the new stream first).
 */

import type { Failure } from "../../src/broker/api.ts";
import type { Fact } from "../kernel/events.ts";
import type { World } from "../kernel/world.ts";
import type { PluginHost, Responder } from "../actors/plugin.ts";
import type { Input, Output } from "../../src/broker/types.ts";
import type { Link, LinkSpec } from "./network.ts";

/** The daemon's platform HTTP timeout (PROTOCOL §6): how long a lost request takes to fail. */
export const PLATFORM_REQUEST_TIMEOUT_MS = 15_000;

interface ChannelState {
  pid: number;
  /** The core has been told this channel closed. */
  closedReported: boolean;
  incarnation: number;
}

interface PendingIpc {
  pid: number;
  cb: Responder;
  incarnation: number;
}

export class Wiring implements PluginHost {
  /** The broker's current connector socket and whether the core has seen it open. */
  socket: number | undefined;
  socketOpen = false;
  private socketSeq = 0;
  private channelSeq = 0;
  private ipcSeq = 0;
  readonly channels = new Map<number, ChannelState>();
  private readonly pendingIpc = new Map<number, PendingIpc>();
  /**
   * Fault hook (set through the fault hub): told of every control event handed to the broker, with
   * a way to hand the same event again.
   */
  controlFaults: { delivered(key: string, again: () => void): void } | undefined;
  /** Idempotency keys whose control ack the broker wrote (kept only while a control fault is on). */
  private readonly acked = new Set<string>();
  // Links by socket or plugin pid, so a send does not build the link's name to look it up. A link
  // is created on first use either way, and the network keeps it for the whole run.
  private readonly connUp = new Map<number, Link>();
  private readonly connDown = new Map<number, Link>();
  private readonly ipcUp = new Map<number, Link>();
  private readonly ipcDown = new Map<number, Link>();
  private readonly httpUp = new Map<number, Link>();
  private readonly httpDown = new Map<number, Link>();

  constructor(private readonly w: World) {}

  get nowMs(): number {
    return this.w.nowMs;
  }

  // ---- core outputs ----

  perform(o: Output): void {
    switch (o.kind) {
      case "connector_connect":
        this.connect();
        return;
      case "connector_send":
        this.connectorSend(JSON.stringify(o.frame), o.frame.event);
        return;
      case "connector_close":
        this.connectorClose(o.code, o.reason);
        return;
      case "api_call":
        this.apiCall(o);
        return;
      case "storage":
        this.storageOp(o);
        return;
      case "ipc_push":
        this.push(o.channel, o);
        return;
      case "ipc_response":
        this.respond(o.id, o.status, o.body);
        return;
      case "ipc_close_channel":
        this.brokerClosedChannel(o.channel);
        return;
      case "control_ack": {
        if (this.controlFaults !== undefined) this.acked.add(o.idempotency_key);
        this.link("control-ack", "controlEvents", true).send(o.idempotency_key, () => {
          this.w.dispatcher.onControlAck(o.idempotency_key, o.status, o.detail, this.w.nowMs);
          this.flushDispatcher();
        });
        return;
      }
      case "stopped":
        return;
    }
  }

  // ---- connector ----

  private connect(): void {
    const sock = ++this.socketSeq;
    this.socket = sock;
    this.socketOpen = false;
    const inc = this.w.incarnation;
    this.connLink(sock, "up").send("connect", () => {
      this.w.server.onOpen(sock);
      this.flushServer();
      this.connLink(sock, "down").send("open", () => {
        if (this.socket !== sock || inc !== this.w.incarnation) return;
        this.socketOpen = true;
        this.w.input({ kind: "connector_open" });
      });
    });
  }

  private connectorSend(text: string, type: string): void {
    const sock = this.socket;
    if (sock === undefined || !this.socketOpen) return;
    this.connLink(sock, "up").send(type, () => {
      this.w.server.onFrame(sock, text, this.w.nowMs);
      this.flushServer();
    });
  }

  private connectorClose(code: number, reason: string): void {
    const sock = this.socket;
    this.socket = undefined;
    this.socketOpen = false;
    const inc = this.w.incarnation;
    if (sock !== undefined) {
      this.connLink(sock, "up").send("close", () => {
        this.w.server.onClose(sock);
        this.flushServer();
      });
      this.connLink(sock, "down").disconnect();
    }
    this.w.after(1, () => {
      if (inc === this.w.incarnation) this.w.input({ kind: "connector_closed", code, reason });
    });
  }

  /** Deliver everything the connector server produced. */
  flushServer(): void {
    for (const o of this.w.server.takeOutputs()) {
      switch (o.kind) {
        case "frame": {
          const text = JSON.stringify(o.frame);
          const sock = o.socket;
          const inc = this.w.incarnation;
          this.connLink(sock, "down").send(String(o.frame.event), () => {
            if (this.socket !== sock || !this.socketOpen || inc !== this.w.incarnation) return;
            this.w.input({ kind: "connector_frame", text });
          });
          break;
        }
        case "close": {
          const sock = o.socket;
          const inc = this.w.incarnation;
          this.connLink(sock, "down").send("server_close", () => {
            if (this.socket !== sock || inc !== this.w.incarnation) return;
            this.socket = undefined;
            this.socketOpen = false;
            this.w.input({ kind: "connector_closed", code: o.code, reason: o.reason });
          });
          break;
        }
        case "timer":
          this.w.queue.schedule(o.atMs, () => {
            this.w.server.onTimer(o.tag, this.w.nowMs);
            this.flushServer();
          });
          break;
        case "fact":
          this.w.fact(o.fact);
          break;
      }
    }
  }

  // ---- platform API, control events, storage ----

  private apiCall(o: Extract<Output, { kind: "api_call" }>): void {
    const inc = this.w.incarnation;
    this.link("api-req", "api", false).send(`${o.op}#${o.id}`, () => {
      const injected = this.w.apiFaults?.(o.op, o.args, this.w.nowMs);
      if (injected === "lost_request" || injected === "lost_response") {
        if (injected === "lost_response") {
          this.w.api.handle(o.op, o.args, this.w.nowMs);
          this.flushDispatcher();
        }
        const timeout: Failure = { ok: false, terminal: false, detail: "platform request timed out" };
        this.w.after(PLATFORM_REQUEST_TIMEOUT_MS, () => {
          if (inc === this.w.incarnation) this.w.input({ kind: "api_result", id: o.id, result: timeout });
        });
        return;
      }
      const result = injected ?? this.w.api.handle(o.op, o.args, this.w.nowMs);
      this.flushDispatcher();
      this.link("api-res", "api", false).send(`${o.op}#${o.id}`, () => {
        if (inc === this.w.incarnation) this.w.input({ kind: "api_result", id: o.id, result } as Input);
      });
    });
  }

  flushDispatcher(): void {
    for (const o of this.w.dispatcher.takeOutputs()) {
      if (o.kind === "timer") {
        this.w.queue.schedule(o.atMs, () => {
          this.w.dispatcher.onTimer(o.tag, this.w.nowMs);
          this.flushDispatcher();
        });
        continue;
      }
      const text = JSON.stringify(o.event);
      const key = String(o.event.idempotency_key);
      this.link("control-events", "controlEvents", true).send(key, () => {
        if (!this.w.brokerAlive) return;
        this.w.input({ kind: "control_event", event: JSON.parse(text) });
        this.controlFaults?.delivered(key, () =>
          this.w.input({ kind: "control_event", event: JSON.parse(text) }),
        );
      });
    }
  }

  private storageOp(o: Extract<Output, { kind: "storage" }>): void {
    const inc = this.w.incarnation;
    this.link("disk", "storage", true).send(o.op.op, () => {
      if (inc !== this.w.incarnation) return; // a dead process writes nothing
      const r = this.w.storage.apply(o.op);
      if (r.ok && o.op.op === "write_cursor")
        this.w.fact({ f: "cursor_persisted", value: o.op.lastKnownSeq });
      this.w.after(0, () => {
        if (inc !== this.w.incarnation) return;
        const input: Input = { kind: "storage_result", id: o.id, ok: r.ok };
        if (r.error !== undefined) input.error = r.error;
        this.w.input(input);
      });
    });
  }

  // ---- plugins ----

  private push(channel: number, o: Extract<Output, { kind: "ipc_push" }>): void {
    const ch = this.channels.get(channel);
    if (!ch || ch.closedReported) return;
    // Plugins only read what they are given, so the frame is shared rather than copied.
    const frame = o.frame;
    this.pidLink(this.ipcDown, "ipc-down", ch.pid, true).send(frame.event, () => {
      this.w.plugins.get(ch.pid)?.onPush(channel, frame);
    });
  }

  private respond(id: number, status: number, body: unknown): void {
    const p = this.pendingIpc.get(id);
    if (!p) return;
    this.pendingIpc.delete(id);
    const res = (body ?? {}) as Record<string, unknown>;
    this.pidLink(this.httpDown, "http-down", p.pid, false).send(String(status), () => p.cb(status, res));
  }

  private brokerClosedChannel(channel: number): void {
    const ch = this.channels.get(channel);
    if (!ch || ch.closedReported) return;
    const inc = this.w.incarnation;
    this.pidLink(this.ipcDown, "ipc-down", ch.pid, true).send("close", () => {
      this.w.plugins.get(ch.pid)?.onChannelClosed(channel);
    });
    // The socket's close event comes back to the core, as the daemon reports it (exactly once).
    this.w.after(1, () => {
      if (ch.closedReported || inc !== this.w.incarnation) return;
      ch.closedReported = true;
      this.w.input({ kind: "ipc_channel_closed", channel, pluginAlive: this.alive(ch.pid) });
    });
  }

  request(pid: number, method: "GET" | "POST" | "DELETE", path: string, body: unknown, cb: Responder): void {
    const id = ++this.ipcSeq;
    const text = body === undefined ? undefined : JSON.stringify(body);
    const inc = this.w.incarnation;
    this.pidLink(this.httpUp, "http-up", pid, false).send(path, () => {
      if (!this.w.brokerAlive || inc !== this.w.incarnation) {
        this.w.after(1, () => cb(0, {}));
        return;
      }
      this.pendingIpc.set(id, { pid, cb, incarnation: inc });
      this.w.input({
        kind: "ipc_request",
        id,
        method,
        path,
        pidHeader: String(pid),
        body: text === undefined ? undefined : JSON.parse(text),
      });
    });
  }

  openChannel(pid: number, capabilities: string[], onOpen: () => void): number {
    const channel = ++this.channelSeq;
    const inc = this.w.incarnation;
    const ch: ChannelState = { pid, closedReported: false, incarnation: inc };
    this.channels.set(channel, ch);
    this.pidLink(this.ipcUp, "ipc-up", pid, true).send("open", () => {
      if (!this.w.brokerAlive || inc !== this.w.incarnation) {
        ch.closedReported = true;
        this.w.after(1, () => this.w.plugins.get(pid)?.onChannelClosed(channel));
        return;
      }
      this.w.input({ kind: "ipc_channel_open", channel, pid, capabilities: [...capabilities] });
      // Point 5: the handshake's answer travels back on the new socket, not behind the pushes of
      // an older one; a broker that died meanwhile answers with the close it already sent.
      const opened = this.w.incarnation;
      this.link(`ipc-open:${pid}`, "ipc", false).send("opened", () => {
        if (ch.closedReported || opened !== this.w.incarnation) return;
        onOpen();
      });
    });
    return channel;
  }

  sendOnChannel(pid: number, channel: number, text: string): void {
    this.pidLink(this.ipcUp, "ipc-up", pid, true).send("message", () => {
      const ch = this.channels.get(channel);
      if (!ch || ch.closedReported || ch.incarnation !== this.w.incarnation) return;
      this.w.input({ kind: "ipc_channel_message", channel, text });
    });
  }

  closeChannel(pid: number, channel: number): void {
    this.pidLink(this.ipcUp, "ipc-up", pid, true).send("close", () => {
      const ch = this.channels.get(channel);
      if (!ch || ch.closedReported || ch.incarnation !== this.w.incarnation) return;
      ch.closedReported = true;
      this.w.input({ kind: "ipc_channel_closed", channel, pluginAlive: this.alive(pid) });
    });
  }

  after(delayMs: number, fn: () => void): void {
    this.w.after(delayMs, fn);
  }

  fact(fact: Fact): void {
    this.w.fact(fact);
  }

  // ---- faults ----

  /** Whether the broker wrote the control ack of `key` (known while a control fault is on). */
  controlAcked(key: string): boolean {
    return this.acked.has(key);
  }

  /**
   * The connector's TCP connection dies without a close handshake (reset, timeout): everything in
   * flight both ways is lost and each end learns of it on its own (code 1006). Returns whether
   * there was a socket to kill.
   */
  abruptConnectorClose(): boolean {
    const sock = this.socket;
    if (sock === undefined) return false;
    const inc = this.w.incarnation;
    this.socket = undefined;
    this.socketOpen = false;
    this.connLink(sock, "down").disconnect();
    this.connLink(sock, "up").disconnect();
    this.w.after(1, () => {
      this.w.server.onClose(sock);
      this.flushServer();
    });
    this.w.after(1, () => {
      if (inc === this.w.incarnation) this.w.input({ kind: "connector_closed", code: 1006, reason: "" });
    });
    return true;
  }

  // ---- crash ----

  /** The broker process died: its sockets close abruptly, its pending answers are lost. */
  onBrokerCrash(): void {
    const sock = this.socket;
    this.socket = undefined;
    this.socketOpen = false;
    if (sock !== undefined) {
      this.connLink(sock, "down").disconnect();
      this.connLink(sock, "up").send("abrupt_close", () => {
        this.w.server.onClose(sock);
        this.flushServer();
      });
    }
    for (const [channel, ch] of this.channels) {
      if (ch.closedReported) continue;
      ch.closedReported = true;
      this.pidLink(this.ipcDown, "ipc-down", ch.pid, true).send("crash_close", () =>
        this.w.plugins.get(ch.pid)?.onChannelClosed(channel),
      );
    }
    for (const [id, p] of this.pendingIpc) {
      this.pendingIpc.delete(id);
      this.w.after(1, () => p.cb(0, {}));
    }
  }

  private alive(pid: number): boolean {
    return this.w.plugins.get(pid)?.alive ?? false;
  }

  private connLink(sock: number, dir: "up" | "down"): Link {
    const cache = dir === "up" ? this.connUp : this.connDown;
    let l = cache.get(sock);
    if (l === undefined) {
      l = this.link(`conn-${dir}:${sock}`, "connector", true);
      cache.set(sock, l);
    }
    return l;
  }

  /** The link `<prefix>:<pid>` (plugin IPC, `ipc` latency), looked up without building its name. */
  private pidLink(cache: Map<number, Link>, prefix: string, pid: number, ordered: boolean): Link {
    let l = cache.get(pid);
    if (l === undefined) {
      l = this.link(`${prefix}:${pid}`, "ipc", ordered);
      cache.set(pid, l);
    }
    return l;
  }

  private link(name: string, latency: keyof World["latency"], ordered: boolean): Link {
    const existing = this.w.network.get(name);
    if (existing) return existing;
    const [minMs, maxMs] = this.w.latency[latency];
    const spec: LinkSpec = { ordered, minMs, maxMs };
    return this.w.network.link(name, spec);
  }
}
