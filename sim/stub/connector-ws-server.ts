/**
 * The simulator's connector-server model (sim/actors/connector-server.ts) served over a real `ws`
 * server on loopback, so the real daemon can talk to the same platform behaviour the simulator
 * checks it against. This file only translates: sockets get numbers, frames and closes go to the
 * model, its outputs go back to the sockets, its timers become real timers.
 */

import type { AddressInfo } from "node:net";
import WebSocket, { WebSocketServer } from "ws";
import {
  ConnectorServer,
  type ConnectorServerOptions,
  DEFAULT_CONNECTOR_SERVER_OPTIONS,
  type InboundSpec,
  type LoggedMessage,
  type OutboundRecord,
} from "../actors/connector-server.ts";
import type { Fact } from "../kernel/events.ts";

export interface ConnectorStubOptions extends Partial<ConnectorServerOptions> {
  /** Port to bind on 127.0.0.1. Default 0 (ephemeral). */
  port?: number;
  /** Token every REGISTER must carry. Default: any token is accepted. */
  token?: string;
  /** Called for every ground-truth fact the model records (acks, sends, gap fills). */
  onFact?: (fact: Fact) => void;
  /** Called for every SEND_MESSAGE the broker wrote (replies, `/v1/send`). */
  onOutbound?: (m: OutboundRecord) => void;
  /**
   * Decides how each frame the model sends goes out (seeded faults, sim/stub/faults/): `send`
   * writes it on its socket, once per call, and does nothing once that socket is closed.
   * Default: every frame is sent once, at once.
   */
  frameFilter?: (
    frame: Record<string, unknown>,
    send: (frame: Record<string, unknown>) => void,
    socket: number,
  ) => void;
  /** Sees every frame on the wire (tests); `out` returning false withholds that frame. */
  tap?: ConnectorTap;
}

export interface ConnectorTap {
  in?(socket: number, text: string): void;
  out?(socket: number, frame: Record<string, unknown>): boolean | undefined;
}

/** Unsent bytes on a socket above which the stub queues frames instead of writing them. */
const SOCKET_HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** How often a queue waiting for its socket to drain is looked at. */
const DRAIN_POLL_MS = 5;

/** Frames waiting for their socket to drain, with the seqs of the messages among them. */
interface SocketQueue {
  frames: Array<Record<string, unknown>>;
  head: number;
  seqs: Set<number>;
}

const EMPTY: Record<string, unknown> = {};

export class ConnectorStub {
  readonly model: ConnectorServer;
  /** Every DELIVERY_ACK `upToSeq` received, in order (cumulative acks as the platform saw them). */
  readonly acks: number[] = [];
  /** `lastKnownSeq` of every accepted REGISTER, in order. */
  readonly registers: Array<number | undefined> = [];
  private readonly wss: WebSocketServer;
  private readonly sockets = new Map<number, WebSocket>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /**
   * Frames for sockets whose peer reads slower than the stub writes. A message frame whose seq is
   * already queued is not queued again (a gap fill or re-registration replaying a range that has
   * not even been written yet), so what the stub holds is bounded by the unacked messages.
   */
  private readonly queues = new Map<number, SocketQueue>();
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  private nextSocket = 1;

  constructor(private readonly opts: ConnectorStubOptions = {}) {
    this.model = new ConnectorServer({
      ...DEFAULT_CONNECTOR_SERVER_OPTIONS,
      ...(opts.runtimeSessionId !== undefined ? { runtimeSessionId: opts.runtimeSessionId } : {}),
      ...(opts.gapFillMinIntervalMs !== undefined ? { gapFillMinIntervalMs: opts.gapFillMinIntervalMs } : {}),
      ...(opts.sendAckStatus !== undefined ? { sendAckStatus: opts.sendAckStatus } : {}),
    });
    this.wss = new WebSocketServer({ host: "127.0.0.1", port: opts.port ?? 0, perMessageDeflate: false });
    this.wss.on("connection", (ws) => this.onConnection(ws));
  }

  async listen(): Promise<string> {
    if (!this.wss.address()) await new Promise<void>((r) => this.wss.once("listening", () => r()));
    return this.url;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  /** A new inbound message for the broker's stream. */
  append(spec: Partial<InboundSpec> & { content: string }): LoggedMessage {
    const m = this.model.append(
      { from: "sender@example", contentType: "text", metadata: {}, ...spec },
      Date.now(),
    );
    this.flush();
    return m;
  }

  /** Highest cumulative DELIVERY_ACK received. */
  get ackedSeq(): number {
    return this.model.ackedSeq;
  }

  /** Write `text` as-is on the registered broker socket (fuzzing and fault tests). */
  sendRaw(text: string): boolean {
    const id = this.model.registeredSocket;
    const ws = id === undefined ? undefined : this.sockets.get(id);
    if (ws?.readyState !== WebSocket.OPEN) return false;
    ws.send(text);
    return true;
  }

  /** Close every broker socket from the server side (a connector outage). */
  dropAll(code = 1012, reason = "service restart"): void {
    for (const id of this.sockets.keys()) this.model.close(id, code, reason);
    this.flush();
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.drainTimer !== undefined) clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
    this.queues.clear();
    for (const ws of this.sockets.values()) ws.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  private onConnection(ws: WebSocket): void {
    const id = this.nextSocket++;
    this.sockets.set(id, ws);
    this.model.onOpen(id);
    ws.on("message", (data) => {
      const text = data.toString();
      this.opts.tap?.in?.(id, text);
      if (this.opts.token !== undefined) {
        try {
          const f = JSON.parse(text) as { event?: unknown; token?: unknown };
          if (f.event === "REGISTER" && f.token !== this.opts.token) {
            ws.send(JSON.stringify({ event: "REGISTER_ACK", status: "error", reason: "Invalid token" }));
            ws.close(4003, "Invalid token");
            return;
          }
        } catch {
          // the model answers non-JSON itself
        }
      }
      this.noteRegister(text);
      const before = this.model.outbound.length;
      this.model.onFrame(id, text, Date.now());
      for (const m of this.model.outbound.slice(before)) this.opts.onOutbound?.(m);
      this.flush();
    });
    ws.on("close", () => {
      this.sockets.delete(id);
      this.queues.delete(id);
      this.model.onClose(id);
      this.flush();
    });
    ws.on("error", () => {});
  }

  private noteRegister(text: string): void {
    try {
      const f = JSON.parse(text) as { event?: unknown; lastKnownSeq?: unknown };
      if (f.event === "REGISTER")
        this.registers.push(typeof f.lastKnownSeq === "number" ? f.lastKnownSeq : undefined);
    } catch {
      // not JSON: nothing to note
    }
  }

  /** Write `frame` on `ws`, or queue it behind earlier frames while the socket is backed up. */
  private write(socket: number, ws: WebSocket, frame: Record<string, unknown>): void {
    let q = this.queues.get(socket);
    if (q === undefined) {
      if (ws.bufferedAmount < SOCKET_HIGH_WATER_BYTES) {
        ws.send(JSON.stringify(frame));
        return;
      }
      q = { frames: [], head: 0, seqs: new Set() };
      this.queues.set(socket, q);
    }
    const seq = frame.event === "MESSAGE_RECEIVED" || frame.event === "DELIVERY_SKIP" ? frame.seq : undefined;
    if (typeof seq === "number") {
      if (q.seqs.has(seq)) return;
      q.seqs.add(seq);
    }
    q.frames.push(frame);
    this.armDrain();
  }

  private armDrain(): void {
    if (this.drainTimer !== undefined) return;
    this.drainTimer = setTimeout(() => {
      this.drainTimer = undefined;
      this.drain();
    }, DRAIN_POLL_MS);
  }

  /** Write queued frames while their sockets have room. */
  private drain(): void {
    for (const [socket, q] of this.queues) {
      const ws = this.sockets.get(socket);
      if (ws?.readyState !== WebSocket.OPEN) {
        this.queues.delete(socket);
        continue;
      }
      while (q.head < q.frames.length && ws.bufferedAmount < SOCKET_HIGH_WATER_BYTES) {
        const frame = q.frames[q.head]!;
        q.frames[q.head++] = EMPTY;
        if (typeof frame.seq === "number") q.seqs.delete(frame.seq);
        ws.send(JSON.stringify(frame));
      }
      if (q.head === q.frames.length) this.queues.delete(socket);
      else if (q.head >= 4_096 && q.head * 2 >= q.frames.length) {
        q.frames.splice(0, q.head);
        q.head = 0;
      }
    }
    if (this.queues.size > 0) this.armDrain();
  }

  private flush(): void {
    for (const out of this.model.takeOutputs()) {
      switch (out.kind) {
        case "frame": {
          if (this.opts.tap?.out?.(out.socket, out.frame) === false) break;
          const ws = this.sockets.get(out.socket);
          if (ws?.readyState !== WebSocket.OPEN) break;
          const socket = out.socket;
          if (!this.opts.frameFilter) this.write(socket, ws, out.frame);
          else
            this.opts.frameFilter(
              out.frame,
              (f) => {
                if (ws.readyState === WebSocket.OPEN) this.write(socket, ws, f);
              },
              socket,
            );
          break;
        }
        case "close":
          this.sockets.get(out.socket)?.close(out.code, out.reason);
          break;
        case "timer": {
          const t = setTimeout(
            () => {
              this.timers.delete(t);
              this.model.onTimer(out.tag, Date.now());
              this.flush();
            },
            Math.max(0, out.atMs - Date.now()),
          );
          this.timers.add(t);
          break;
        }
        case "fact":
          if (out.fact.f === "server_acked") this.acks.push(out.fact.upToSeq);
          this.opts.onFact?.(out.fact);
          break;
      }
    }
  }
}
