/**
 * The connector socket: a `ws` client that turns the core's `connector_*` outputs into real
 * WebSocket operations and reports what happened as `connector_*` inputs.
 *
 * Theory of operation (rule 3 of src/broker/types.ts):
 * 1. `connect()` opens a new socket. It is answered by exactly one `connector_open` or one
 *    `connector_closed`; a socket that fails to open (refused, DNS, handshake timeout, HTTP error)
 *    reports `connector_closed` with code 1006.
 * 2. Once open, the socket's close is reported exactly once as `connector_closed{code, reason}`,
 *    whether the core asked for it (`close()`) or the peer/network closed it.
 * 3. Only the current socket talks to the core. If the core asks for a new socket while an old one
 *    is still attached (it should not), the old one is detached and terminated silently.
 * 4. Text and binary frames are both delivered as text; the core validates them. A frame above
 *    `maxPayloadBytes` closes the socket with 1009, and the close is reported as 1009 (ws itself
 *    would say 1006 because it stops reading after the error).
 * 5. REGISTER, timeouts and backoff are the core's decisions; this file only moves bytes.
 */

import WebSocket from "ws";
import type { OutboundFrame } from "../broker/connector/frames.ts";
import type { Input } from "../broker/types.ts";
import type { Logger } from "./logger.ts";

export interface ConnectorWsOptions {
  /** `ws://` or `wss://` URL of the platform connector. */
  url: string;
  /** Opening handshake timeout. Default 10 000 ms (PROTOCOL §6). */
  handshakeTimeoutMs?: number;
  /** Largest inbound frame accepted; larger ⇒ the socket closes with 1009. Default 16 MiB. */
  maxPayloadBytes?: number;
  /** Extra HTTP headers for the opening handshake. Default none. */
  headers?: Record<string, string>;
  /** Receives the `connector_*` inputs. */
  onInput: (input: Input) => void;
  logger?: Logger;
}

export const DEFAULT_CONNECTOR_HANDSHAKE_TIMEOUT_MS = 10_000;
export const DEFAULT_CONNECTOR_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

/** WebSocket close code for "abnormal closure" (no close frame), used for failed connects. */
const ABNORMAL_CLOSURE = 1006;

export class ConnectorWs {
  private ws: WebSocket | undefined;
  private reported = false;

  constructor(private readonly opts: ConnectorWsOptions) {}

  /** Is there an attached socket in the OPEN state? */
  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  connect(): void {
    if (this.ws) {
      this.opts.logger?.warn("connector_ws_replaced_unexpectedly", {});
      this.detach(this.ws);
    }
    this.reported = false;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.opts.url, {
        handshakeTimeout: this.opts.handshakeTimeoutMs ?? DEFAULT_CONNECTOR_HANDSHAKE_TIMEOUT_MS,
        maxPayload: this.opts.maxPayloadBytes ?? DEFAULT_CONNECTOR_MAX_PAYLOAD_BYTES,
        perMessageDeflate: false,
        headers: this.opts.headers,
      });
    } catch (err) {
      // An invalid URL throws synchronously; it is still an answer to `connector_connect`.
      this.opts.logger?.error("connector_ws_connect_failed", { error: err });
      queueMicrotask(() =>
        this.opts.onInput({ kind: "connector_closed", code: ABNORMAL_CLOSURE, reason: String(err) }),
      );
      return;
    }
    this.ws = ws;
    let lastError = "";
    // ws stops reading after a protocol error, so the close it reports is 1006; keep the real cause.
    let protocolCloseCode: number | undefined;
    ws.on("open", () => {
      if (this.ws !== ws) return;
      this.opts.logger?.info("connector_ws_open", { url: this.opts.url });
      this.opts.onInput({ kind: "connector_open" });
    });
    ws.on("message", (data, isBinary) => {
      if (this.ws !== ws) return;
      const text = isBinary || typeof data !== "string" ? rawToString(data) : data;
      this.opts.onInput({ kind: "connector_frame", text });
    });
    ws.on("error", (err) => {
      // ws always follows an error with `close`; remember why so the close can say it.
      lastError = err.message;
      protocolCloseCode = closeCodeOfWsError(err);
      this.opts.logger?.warn("connector_ws_error", { error: err.message });
    });
    ws.on("close", (code, reasonBuf) => {
      if (this.ws !== ws || this.reported) return;
      this.reported = true;
      this.ws = undefined;
      const reason = reasonBuf.toString("utf8") || lastError;
      if (code === ABNORMAL_CLOSURE && protocolCloseCode !== undefined) code = protocolCloseCode;
      this.opts.logger?.info("connector_ws_closed", { code, reason });
      this.opts.onInput({ kind: "connector_closed", code, reason });
    });
  }

  /** Stop reading the socket (backpressure); frames already received are still delivered. */
  pause(): void {
    this.ws?.pause();
  }

  /** Read the socket again after `pause`. */
  resume(): void {
    this.ws?.resume();
  }

  send(frame: OutboundFrame): void {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      // The core decides what an unwritten frame means; the close input is on its way.
      this.opts.logger?.warn("connector_send_while_closed", { type: frame.event });
      return;
    }
    ws.send(JSON.stringify(frame), (err) => {
      if (err) this.opts.logger?.warn("connector_send_failed", { type: frame.event, error: err.message });
    });
  }

  close(code: number, reason: string): void {
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.CONNECTING) {
      // A close before open: ws would throw on close(); terminate reports 1006 through `close`.
      ws.terminate();
      return;
    }
    try {
      ws.close(validCloseCode(code) ? code : 1000, truncateReason(reason));
    } catch (err) {
      this.opts.logger?.warn("connector_close_failed", { error: err });
      ws.terminate();
    }
  }

  /** Drop the socket at once without reporting (used when the daemon itself goes away). */
  terminate(): void {
    if (this.ws) this.detach(this.ws);
  }

  private detach(ws: WebSocket): void {
    this.ws = undefined;
    ws.removeAllListeners("message");
    ws.removeAllListeners("open");
    ws.on("error", () => {});
    ws.terminate();
  }
}

/** The close code `ws` sent for a receive-side protocol error (it reports 1006 locally). */
function closeCodeOfWsError(err: Error): number | undefined {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH") return 1009;
  if (code === "WS_ERR_INVALID_UTF8") return 1007;
  if (typeof code === "string" && code.startsWith("WS_ERR_")) return 1002;
  return undefined;
}

export function rawToString(data: WebSocket.RawData | string): string {
  if (typeof data === "string") return data;
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString("utf8");
  return data.toString("utf8");
}

/** Codes an application may send (RFC 6455 §7.4). */
export function validCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999))
  );
}

/** A close reason must fit in 123 bytes of UTF-8. */
export function truncateReason(reason: string): string {
  let r = reason;
  while (Buffer.byteLength(r, "utf8") > 123) r = r.slice(0, -1);
  return r;
}
