/**
 * The platform's connector server (PROTOCOL.md §2), as a sans-IO model: methods in, messages out.
 * The simulator calls it from the event loop; a stub server can call it from real sockets.
 *
 * Theory of operation:
 * 1. One message log for the broker's stream: seq 1, 2, … with a message id each. A message may be
 *    flagged `skip` (dismissed in the runtime mailbox): it is announced with DELIVERY_SKIP instead of
 *    MESSAGE_RECEIVED.
 * 2. Sockets are numbered by the driver. A socket becomes the stream's delivery socket when its
 *    REGISTER is accepted; a later REGISTER on another socket replaces it (the old one is closed
 *    with 4001 "Replaced by new Runtime", which only matters if the old broker is still alive).
 * 3. On REGISTER the server answers REGISTER_ACK with `deliverySeq` = its delivered mark (the
 *    highest DELIVERY_ACK it received) and replays every seq above the client's `lastKnownSeq`.
 *    New messages go out as they arrive.
 * 4. REQUEST_GAP_FILL replays everything above `sinceSeq`, at most once per
 *    `gapFillMinIntervalMs`; a request inside the window is merged and served when it ends, which
 *    bounds replay traffic (PROTOCOL §7.4 L2 fairness).
 * 5. SEND_MESSAGE is recorded and answered with SEND_ACK.
 * 6. Ground truth for checkers goes out as `fact` outputs (what was sent, acked, requested).
 */

import { CONNECTOR_PROTOCOL_VERSION } from "../../src/broker/connector/frames.ts";
import type { Fact } from "../kernel/events.ts";

export interface ConnectorServerOptions {
  /** The stream's runtime session scope; frames carry it when set. */
  runtimeSessionId: string | undefined;
  /** Minimum spacing of gap-fill replays. */
  gapFillMinIntervalMs: number;
  /** SEND_ACK status for outbound messages. */
  sendAckStatus: "delivered" | "stored";
}

export const DEFAULT_CONNECTOR_SERVER_OPTIONS: ConnectorServerOptions = {
  runtimeSessionId: undefined,
  gapFillMinIntervalMs: 1_000,
  sendAckStatus: "delivered",
};

export interface InboundSpec {
  from: string;
  content: string;
  contentType: string;
  metadata: Record<string, unknown>;
  /** Announce with DELIVERY_SKIP instead of delivering. */
  skip?: boolean;
}

export interface LoggedMessage extends InboundSpec {
  seq: number;
  messageId: string;
  arrivedAtMs: number;
}

export interface OutboundRecord {
  messageId: string;
  to: string;
  content: string;
  contentType: string;
  metadata: Record<string, unknown> | undefined;
  atMs: number;
}

export type ConnectorServerOut =
  | { kind: "frame"; socket: number; frame: Record<string, unknown> }
  | { kind: "close"; socket: number; code: number; reason: string }
  /** Call `onTimer(tag)` at `atMs`. */
  | { kind: "timer"; atMs: number; tag: string }
  | { kind: "fact"; fact: Fact };

/** Where fault injectors (issue 5) bend the server's behaviour. Absent hooks mean "behave". */
export interface ConnectorServerFaultHooks {
  /** Answer REGISTER with: `ok` (default), an error reason, or nothing at all (REGISTER_ACK timeout). */
  onRegister?(socket: number): { reply: "ok" } | { reply: "error"; reason: string } | { reply: "none" };
  /**
   * Withhold the SEND_ACK of this outbound message, received on `socket` (the broker's SEND_ACK
   * timeout fires, unless a fault sends it late with `sendAckFor`).
   */
  withholdSendAck?(messageId: string, socket: number): boolean;
  /**
   * An ERROR frame naming `to` for this SEND_MESSAGE, before anything else: `refuse` answers the send
   * with it (its `messageId`; the message is not taken), `notice` sends it without a `messageId`
   * (a notice about the recipient that settles no send) and then handles the send as usual.
   */
  sendError?(
    messageId: string,
    to: string,
    socket: number,
  ): { kind: "refuse" | "notice"; code: string; message: string } | undefined;
}

export class ConnectorServer {
  readonly log: LoggedMessage[] = [];
  readonly outbound: OutboundRecord[] = [];
  /** Highest DELIVERY_ACK received (the server's delivered mark). */
  ackedSeq = 0;
  gapFillRequests = 0;
  registrations = 0;
  faults: ConnectorServerFaultHooks | undefined;
  private deliverySocket: number | undefined;
  private readonly openSockets = new Set<number>();
  private nextGapFillAtMs = 0;
  private pendingGapFillSince: number | undefined;
  private outputs: ConnectorServerOut[] = [];

  constructor(readonly opts: ConnectorServerOptions = DEFAULT_CONNECTOR_SERVER_OPTIONS) {}

  get head(): number {
    return this.log.length;
  }

  /** The socket currently receiving deliveries, if any. */
  get registeredSocket(): number | undefined {
    return this.deliverySocket;
  }

  takeOutputs(): ConnectorServerOut[] {
    const o = this.outputs;
    this.outputs = [];
    return o;
  }

  /** A new message for the broker's stream arrives at the platform. */
  append(spec: InboundSpec, nowMs: number): LoggedMessage {
    const seq = this.log.length + 1;
    const m: LoggedMessage = { ...spec, seq, messageId: `msg-${seq}`, arrivedAtMs: nowMs };
    this.log.push(m);
    if (this.deliverySocket !== undefined) this.deliver(this.deliverySocket, m);
    return m;
  }

  onOpen(socket: number): void {
    this.openSockets.add(socket);
  }

  onClose(socket: number): void {
    this.openSockets.delete(socket);
    if (this.deliverySocket === socket) this.deliverySocket = undefined;
  }

  /** Server-initiated close (faults use it). */
  close(socket: number, code: number, reason: string): void {
    if (!this.openSockets.has(socket)) return;
    this.onClose(socket);
    this.outputs.push({ kind: "close", socket, code, reason });
  }

  onFrame(socket: number, text: string, nowMs: number): void {
    if (!this.openSockets.has(socket)) return;
    let f: Record<string, unknown>;
    try {
      f = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.send(socket, { event: "ERROR", code: "bad_frame", message: "frame is not JSON" });
      return;
    }
    switch (f.event) {
      case "REGISTER":
        this.onRegister(socket, f);
        return;
      case "DELIVERY_ACK":
        if (socket !== this.deliverySocket || !this.inScope(f)) return;
        if (typeof f.upToSeq === "number") {
          this.outputs.push({ kind: "fact", fact: { f: "server_acked", upToSeq: f.upToSeq } });
          if (f.upToSeq > this.ackedSeq) this.ackedSeq = Math.min(f.upToSeq, this.head);
        }
        return;
      case "REQUEST_GAP_FILL":
        if (socket !== this.deliverySocket || !this.inScope(f)) return;
        if (typeof f.sinceSeq === "number") this.onGapFill(f.sinceSeq, nowMs);
        return;
      case "SEND_MESSAGE":
        this.onSendMessage(socket, f, nowMs);
        return;
      default:
        return;
    }
  }

  /** Send DELIVERY_CURSOR (head and delivered mark) on the delivery socket, e.g. from a scenario. */
  sendCursor(): void {
    const socket = this.deliverySocket;
    if (socket === undefined) return;
    const frame: Record<string, unknown> = {
      event: "DELIVERY_CURSOR",
      deliverySeq: this.head,
      deliveredSeq: this.ackedSeq,
    };
    if (this.opts.runtimeSessionId !== undefined) frame.runtimeSessionId = this.opts.runtimeSessionId;
    this.send(socket, frame);
  }

  /** A (late) SEND_ACK for `messageId` on `socket`, if that socket is still open (faults use it). */
  sendAckFor(socket: number, messageId: string): void {
    if (!this.openSockets.has(socket)) return;
    this.send(socket, { event: "SEND_ACK", messageId, status: this.opts.sendAckStatus });
  }

  onTimer(tag: string, nowMs: number): void {
    if (tag === "gap_fill" && this.pendingGapFillSince !== undefined) {
      const since = this.pendingGapFillSince;
      this.pendingGapFillSince = undefined;
      this.replayFrom(since, nowMs);
    }
  }

  private onRegister(socket: number, f: Record<string, unknown>): void {
    const scope = this.opts.runtimeSessionId;
    if (f.protocolVersion !== CONNECTOR_PROTOCOL_VERSION) {
      this.send(socket, { event: "REGISTER_ACK", status: "error", reason: "Unsupported protocol version" });
      return;
    }
    if ((f.runtimeSessionId ?? undefined) !== scope) {
      this.send(socket, { event: "REGISTER_ACK", status: "error", reason: "runtime session mismatch" });
      return;
    }
    const decision = this.faults?.onRegister?.(socket) ?? { reply: "ok" as const };
    if (decision.reply === "none") return;
    if (decision.reply === "error") {
      this.send(socket, { event: "REGISTER_ACK", status: "error", reason: decision.reason });
      return;
    }
    if (this.deliverySocket !== undefined && this.deliverySocket !== socket) {
      this.close(this.deliverySocket, 4001, "Replaced by new Runtime");
    }
    this.registrations++;
    this.deliverySocket = socket;
    const ack: Record<string, unknown> = {
      event: "REGISTER_ACK",
      status: "ok",
      protocolVersion: CONNECTOR_PROTOCOL_VERSION,
      agent: { id: "agent-sim" },
      deliverySeq: this.ackedSeq,
    };
    if (scope !== undefined) ack.deliveryRuntimeSessionId = scope;
    this.send(socket, ack);
    const since = typeof f.lastKnownSeq === "number" ? f.lastKnownSeq : this.ackedSeq;
    for (let s = Math.max(since, 0) + 1; s <= this.head; s++) this.deliver(socket, this.log[s - 1]!);
  }

  private onGapFill(sinceSeq: number, nowMs: number): void {
    this.gapFillRequests++;
    this.outputs.push({ kind: "fact", fact: { f: "server_gap_fill", sinceSeq } });
    if (nowMs >= this.nextGapFillAtMs) {
      this.replayFrom(sinceSeq, nowMs);
      return;
    }
    const wasPending = this.pendingGapFillSince !== undefined;
    this.pendingGapFillSince = Math.min(this.pendingGapFillSince ?? sinceSeq, sinceSeq);
    if (!wasPending) this.outputs.push({ kind: "timer", atMs: this.nextGapFillAtMs, tag: "gap_fill" });
  }

  private replayFrom(sinceSeq: number, nowMs: number): void {
    this.nextGapFillAtMs = nowMs + this.opts.gapFillMinIntervalMs;
    const socket = this.deliverySocket;
    if (socket === undefined) return;
    for (let s = Math.max(sinceSeq, 0) + 1; s <= this.head; s++) this.deliver(socket, this.log[s - 1]!);
  }

  private onSendMessage(socket: number, f: Record<string, unknown>, nowMs: number): void {
    if (typeof f.messageId !== "string" || typeof f.to !== "string" || typeof f.content !== "string") {
      this.send(socket, { event: "ERROR", code: "invalid_message", message: "SEND_MESSAGE is malformed" });
      return;
    }
    const err = this.faults?.sendError?.(f.messageId, f.to, socket);
    if (err !== undefined) {
      const frame: Record<string, unknown> = {
        event: "ERROR",
        code: err.code,
        message: err.message,
        to: f.to,
      };
      if (err.kind === "refuse") frame.messageId = f.messageId;
      this.send(socket, frame);
      if (err.kind === "refuse") return;
    }
    this.outbound.push({
      messageId: f.messageId,
      to: f.to,
      content: f.content,
      contentType: typeof f.contentType === "string" ? f.contentType : "text",
      metadata: (f.metadata as Record<string, unknown> | undefined) ?? undefined,
      atMs: nowMs,
    });
    if (this.faults?.withholdSendAck?.(f.messageId, socket)) return;
    this.send(socket, { event: "SEND_ACK", messageId: f.messageId, status: this.opts.sendAckStatus });
  }

  private deliver(socket: number, m: LoggedMessage): void {
    const scope = this.opts.runtimeSessionId;
    let frame: Record<string, unknown>;
    if (m.skip) {
      frame = {
        event: "DELIVERY_SKIP",
        seq: m.seq,
        reason: "runtime_mailbox_dismissed",
        messageId: m.messageId,
      };
    } else {
      frame = {
        event: "MESSAGE_RECEIVED",
        messageId: m.messageId,
        from: m.from,
        content: m.content,
        contentType: m.contentType,
        metadata: m.metadata,
        seq: m.seq,
      };
    }
    if (scope !== undefined) frame.runtimeSessionId = scope;
    this.outputs.push({
      kind: "fact",
      fact: { f: "server_sent", seq: m.seq, messageId: m.messageId, skip: !!m.skip },
    });
    this.send(socket, frame);
  }

  private inScope(f: Record<string, unknown>): boolean {
    return (f.runtimeSessionId ?? undefined) === this.opts.runtimeSessionId;
  }

  private send(socket: number, frame: Record<string, unknown>): void {
    this.outputs.push({ kind: "frame", socket, frame });
  }
}
