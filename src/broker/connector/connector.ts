/**
 * The connector client: one upstream socket, registration, reconnect backoff, outbound sends and
 * the inbound delivery stream (PROTOCOL.md §2).
 *
 * Theory of operation:
 * 1. Socket states: `closed` → (`connector_connect` emitted) `connecting` → (`handleOpen`) `open`
 *    → (we emitted `connector_close`) `closing` → (`handleClosed`) `closed`. The driver answers
 *    every connect with exactly one open or closed, and every close we ask for with a closed.
 * 2. On open we write REGISTER (with `lastKnownSeq = L`) and arm `connector:register_ack`. Only a
 *    `REGISTER_ACK ok` that passes the protocol-version and scope checks makes the connector
 *    `ready`; from then on sends are possible and the delivery stream may write acks.
 * 3. Frames are parsed by `guards.ts`. A rejected frame is logged, counted and changes nothing.
 *    Frames that arrive while the socket is not `open` (we asked to close it) are ignored: the
 *    server replays from `lastKnownSeq` on the next REGISTER.
 * 4. Every close settles every pending send with `outcome_unknown`: SEND_MESSAGE was written, so
 *    the message may or may not have left. A send while not ready is `unavailable` (nothing
 *    written, safe to retry). A SEND_ACK or ERROR for an id no longer pending is ignored.
 * 5. After a close we reconnect after a backoff (`backoff.ts`) unless the close was intentional
 *    (`shutdown()`, unsupported protocol version) or the server replaced us (4001 + "Replaced by
 *    new Runtime"), which is final and reported through `onDisconnected`.
 * 6. The cursor logic (§2.5, §2.6, and our gap-fill retry deviation for L1/L2) lives in
 *    `delivery-stream.ts`; this class only routes frames and pipeline calls to it.
 */

import type { Deadline } from "../deadline-kinds.ts";
import type { Env } from "../env.ts";
import type { ConnectorPort, OutboundMessage, SendResult } from "../model.ts";
import { ReconnectBackoff } from "./backoff.ts";
import { DeliveryStream, type Wire } from "./delivery-stream.ts";
import {
  CLIENT_KIND,
  CLIENT_VERSION,
  CONNECTOR_PROTOCOL_VERSION,
  type InboundFrame,
  type MessageReceivedFrame,
  type OutboundFrame,
  type RegisterAckFrame,
  type RegisterFrame,
  REPLACED_BY_NEW_RUNTIME,
  type SendMessageFrame,
} from "./frames.ts";
import { normalizeRuntimeSessionId, parseInboundFrame } from "./guards.ts";

export const REGISTER_ACK_DEADLINE: Deadline = { kind: "register_ack" };
export const RECONNECT_DEADLINE: Deadline = { kind: "reconnect" };
export const sendAckDeadline = (messageId: string): Deadline => ({ kind: "send_ack", messageId });

export const CLOSE_REGISTER_TIMEOUT = { code: 4000, reason: "Register timeout" } as const;
export const CLOSE_SHUTDOWN = { code: 1000, reason: "broker shutdown" } as const;
export const UNSUPPORTED_PROTOCOL_VERSION = "Unsupported protocol version";
export const ALREADY_CONNECTED = "Already connected";
export const SCOPE_MISMATCH = "Runtime session scope mismatch";

export interface ConnectorHooks {
  onMessage(frame: MessageReceivedFrame): void;
  onConnected(): void;
  onDisconnected(info: { code: number; reason: string; replacedByNewRuntime: boolean }): void;
  onDeliveryPending?(): void;
}

type SocketState = "closed" | "connecting" | "open" | "closing";

export class Connector implements ConnectorPort {
  private state: SocketState = "closed";
  private registered = false;
  private started = false;
  /** No reconnect after the current socket closes. */
  private intentional = false;
  private rejected = 0;
  private readonly scope: string | undefined;
  private readonly backoff: ReconnectBackoff;
  private readonly stream: DeliveryStream;
  private readonly pending = new Map<string, (r: SendResult) => void>();
  /** Identity from the last REGISTER_ACK ok (`agent`, `owner`), opaque to the core. */
  identity: { agent?: unknown; owner?: unknown } | undefined;

  constructor(
    private readonly env: Env,
    private readonly hooks: ConnectorHooks,
    initialCursor: number,
  ) {
    const scope = normalizeRuntimeSessionId(env.opts.runtimeSessionId);
    if (scope === null) {
      // The core cannot refuse to start; an unusable scope is reported and the stream runs unscoped.
      env.log("error", "connector_runtime_session_id_invalid", {
        runtimeSessionId: env.opts.runtimeSessionId,
      });
    }
    this.scope = scope ?? undefined;
    this.backoff = new ReconnectBackoff(env.opts);
    let cursor = initialCursor;
    if (!Number.isSafeInteger(cursor) || cursor < 0) {
      env.log("warn", "delivery_cursor_invalid", { lastKnownSeq: initialCursor });
      cursor = 0;
    }
    const wire: Wire = { writable: () => this.ready, write: (frame) => this.write(frame) };
    this.stream = new DeliveryStream(env, wire, this.scope, cursor, (f) => hooks.onMessage(f));
    env.log("info", "delivery_cursor_loaded", { lastKnownSeq: cursor, runtimeSessionId: this.scope });
    env.onDeadline("register_ack", () => this.registerAckTimedOut());
    env.onDeadline("send_ack", (d) => this.sendAckTimedOut(d.messageId));
    env.onDeadline("reconnect", () => this.reconnectDue());
  }

  // ---- read-only views for the broker and the checkers ----

  get socketOpen(): boolean {
    return this.state === "open";
  }
  get ready(): boolean {
    return this.state === "open" && this.registered;
  }
  get committedSeq(): number {
    return this.stream.cursor.committed;
  }
  acceptedGaps(): number[] {
    return this.stream.cursor.acceptedGaps();
  }
  get pendingCount(): number {
    return this.stream.cursor.pendingCount;
  }
  get seenCount(): number {
    return this.stream.cursor.seenCount;
  }
  get rejectedFrames(): number {
    return this.rejected;
  }
  get gapFillsSent(): number {
    return this.stream.gapFillsSent;
  }
  get pendingSends(): number {
    return this.pending.size;
  }
  get runtimeSessionId(): string | undefined {
    return this.scope;
  }

  // ---- driver inputs ----

  start(): void {
    if (this.started) return;
    this.started = true;
    if (this.intentional) return;
    this.connect();
  }

  handleOpen(): void {
    if (this.state !== "connecting") {
      this.env.log("warn", "connector_open_unexpected", { state: this.state });
      return;
    }
    this.state = "open";
    if (this.intentional) {
      this.close(CLOSE_SHUTDOWN.code, CLOSE_SHUTDOWN.reason);
      return;
    }
    const register: RegisterFrame = {
      event: "REGISTER",
      token: this.env.opts.connectorToken,
      protocolVersion: CONNECTOR_PROTOCOL_VERSION,
      clientVersion: CLIENT_VERSION,
      clientKind: CLIENT_KIND,
    };
    if (this.scope !== undefined) register.runtimeSessionId = this.scope;
    register.lastKnownSeq = this.stream.cursor.committed;
    this.write(register);
    this.env.arm(REGISTER_ACK_DEADLINE, this.env.opts.registerAckTimeoutMs);
  }

  private registerAckTimedOut(): void {
    if (this.state !== "open" || this.registered) return;
    this.env.log("warn", "connector_register_timeout", {});
    this.close(CLOSE_REGISTER_TIMEOUT.code, CLOSE_REGISTER_TIMEOUT.reason);
  }

  handleFrame(text: string): void {
    if (this.state !== "open") {
      this.env.log("debug", "connector_frame_while_not_open", { state: this.state });
      return;
    }
    const parsed = parseInboundFrame(text);
    if (!parsed.ok) {
      this.rejected++;
      this.env.log("warn", "connector_frame_rejected", { ...parsed.rejection });
      return;
    }
    this.dispatch(parsed.frame);
  }

  handleClosed(code: number, reason: string): void {
    if (this.state === "closed") {
      this.env.log("warn", "connector_closed_unexpected", { code, reason });
      return;
    }
    const wasRegistering = this.state !== "connecting" && !this.registered;
    this.state = "closed";
    this.registered = false;
    this.env.disarm(REGISTER_ACK_DEADLINE);
    this.stream.onSocketClosed();
    const replaced = code === 4001 && reason === REPLACED_BY_NEW_RUNTIME;
    if (replaced) this.intentional = true;
    this.env.log("info", "connector_ws_closed", {
      code,
      reason,
      intentional: this.intentional,
      wasRegistering,
      replacedByNewRuntime: replaced,
    });
    this.failPendingSends();
    this.hooks.onDisconnected({ code, reason, replacedByNewRuntime: replaced });
    if (!this.intentional) this.scheduleReconnect();
  }

  /** Intentional close; no reconnect afterwards. Pending sends settle when the socket closes. */
  shutdown(): void {
    this.intentional = true;
    this.env.disarm(RECONNECT_DEADLINE);
    if (this.state === "open") this.close(CLOSE_SHUTDOWN.code, CLOSE_SHUTDOWN.reason);
  }

  // ---- pipeline calls (§2.5) ----

  /** The pipeline handed `seq` off safely: it may be acked once contiguous. */
  accept(seq: number): void {
    this.stream.accept(seq);
  }

  /** The pipeline failed `seq`: forget its payload id so a replay is processed again. */
  release(seq: number): void {
    this.stream.release(seq);
  }

  // ---- outbound sends ----

  send(msg: OutboundMessage, cb: (r: SendResult) => void, messageId?: string): string {
    const id = messageId ?? this.env.random.uuid();
    if (!this.ready) {
      cb({ ok: false, error: "unavailable", messageId: id });
      return id;
    }
    if (this.pending.has(id)) {
      // A second write under the same id could deliver twice; the first attempt still decides.
      cb({
        ok: false,
        error: "outcome_unknown",
        messageId: id,
        detail: "A send with this messageId is in flight",
      });
      return id;
    }
    const frame: SendMessageFrame = {
      event: "SEND_MESSAGE",
      messageId: id,
      to: msg.to,
      content: msg.content,
      contentType: msg.contentType,
    };
    if (msg.metadata !== undefined) frame.metadata = msg.metadata;
    this.write(frame);
    this.pending.set(id, this.env.bind(cb));
    this.env.arm(sendAckDeadline(id), this.env.opts.sendAckTimeoutMs);
    return id;
  }

  private sendAckTimedOut(id: string): void {
    this.env.log("warn", "connector_send_ack_timeout", { messageId: id });
    this.settle(id, { ok: false, error: "outcome_unknown", messageId: id, detail: "SEND_ACK timeout" });
  }

  // ---- internals ----

  private dispatch(f: InboundFrame): void {
    switch (f.event) {
      case "REGISTER_ACK":
        this.onRegisterAck(f);
        return;
      case "MESSAGE_RECEIVED":
        this.stream.onMessageReceived(f);
        return;
      case "DELIVERY_CURSOR":
        this.stream.onDeliveryCursor(f);
        return;
      case "DELIVERY_SKIP":
        this.stream.onDeliverySkip(f);
        return;
      case "DELIVERY_PENDING":
        this.hooks.onDeliveryPending?.();
        this.env.log("info", "legacy_delivery_pending_ignored", { count: f.count, upTo: f.upTo });
        return;
      case "SEND_ACK":
        if (!this.settle(f.messageId, { ok: true, messageId: f.messageId, status: f.status })) {
          this.env.log("debug", "connector_send_ack_ignored", { messageId: f.messageId });
        }
        return;
      case "ERROR": {
        const id = f.messageId;
        const rejected = (messageId: string): SendResult => ({
          ok: false,
          error: "rejected",
          messageId,
          code: f.code,
          detail: f.message,
        });
        if (id === undefined || !this.settle(id, rejected(id))) {
          this.env.log("warn", "connector_error_frame", {
            code: f.code,
            message: f.message,
            messageId: f.messageId,
          });
        }
        return;
      }
      case "DELIVERY_STATUS":
        this.env.log("debug", "connector_delivery_status", { messageId: f.messageId, status: f.status });
        return;
    }
  }

  private onRegisterAck(f: RegisterAckFrame): void {
    if (this.registered) {
      this.env.log("warn", "connector_register_ack_unexpected", { status: f.status });
      return;
    }
    this.env.disarm(REGISTER_ACK_DEADLINE);
    if (f.status === "error") {
      const reason = f.reason ?? "Register failed";
      if (reason === UNSUPPORTED_PROTOCOL_VERSION) this.intentional = true;
      if (reason === ALREADY_CONNECTED) this.backoff.noteAlreadyConnected();
      this.env.log("warn", "connector_register_rejected", { reason });
      this.close(4001, reason);
      return;
    }
    if (f.protocolVersion !== CONNECTOR_PROTOCOL_VERSION) {
      this.intentional = true;
      this.env.log("error", "connector_protocol_version_mismatch", { protocolVersion: f.protocolVersion });
      this.close(4001, UNSUPPORTED_PROTOCOL_VERSION);
      return;
    }
    if (f.deliveryRuntimeSessionId !== this.scope) {
      this.env.log("error", "connector_scope_mismatch", {
        expected: this.scope,
        actual: f.deliveryRuntimeSessionId,
      });
      this.close(4001, SCOPE_MISMATCH);
      return;
    }
    this.identity = { agent: f.agent, owner: f.owner };
    this.registered = true;
    this.stream.onRegistered(f.deliverySeq);
    this.backoff.reset();
    this.env.log("info", "connector_registered", { lastKnownSeq: this.stream.cursor.committed });
    this.hooks.onConnected();
  }

  private connect(): void {
    this.state = "connecting";
    this.env.emit({ kind: "connector_connect" });
  }

  private close(code: number, reason: string): void {
    this.state = "closing";
    this.registered = false;
    this.env.disarm(REGISTER_ACK_DEADLINE);
    this.env.emit({ kind: "connector_close", code, reason });
  }

  private scheduleReconnect(): void {
    const delayMs = this.backoff.next(this.env.random);
    this.env.log("info", "connector_reconnect_scheduled", { delayMs });
    this.env.arm(RECONNECT_DEADLINE, delayMs);
  }

  private reconnectDue(): void {
    if (this.intentional || this.state !== "closed") return;
    this.connect();
  }

  private write(frame: OutboundFrame): void {
    this.env.emit({ kind: "connector_send", frame });
  }

  private settle(id: string, result: SendResult): boolean {
    const cb = this.pending.get(id);
    if (!cb) return false;
    this.pending.delete(id);
    this.env.disarm(sendAckDeadline(id));
    cb(result);
    return true;
  }

  private failPendingSends(): void {
    for (const id of [...this.pending.keys()]) {
      this.settle(id, {
        ok: false,
        error: "outcome_unknown",
        messageId: id,
        detail: "Connection closed before SEND_ACK",
      });
    }
  }
}
