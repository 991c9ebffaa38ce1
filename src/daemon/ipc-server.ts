/**
 * The plugin-facing IPC server: `node:http` plus a `ws` server in noServer mode on `/v1/stream`,
 * bound to 127.0.0.1 on an ephemeral port. It only translates; every route decision is the core's.
 *
 * Theory of operation:
 * 1. Gatekeeping happens here, before the core sees anything (PROTOCOL §3.1): a request carrying
 *    an `Origin` header is a browser page reaching for localhost and gets 403 `origin_forbidden`;
 *    every route but `GET /health` needs the bearer token (401 `unauthorized`); bodies are capped
 *    at `bodyLimitBytes` (413 `body_too_large`); a body that is not JSON gets 400 `invalid_json`.
 *    (The reference answers 500 to the last two; a client error is not a server fault.)
 * 2. Every request that passes becomes one `ipc_request` input with a fresh id; the matching
 *    `ipc_response` output answers it, possibly much later. A client that hangs up first simply
 *    has its late response dropped.
 * 3. A stream upgrade is checked in the same spirit (path exactly `/v1/stream` else 404, Origin
 *    403, token 401, `x-plugin-pid` positive integer else 400) and refused with a raw HTTP status.
 *    An accepted socket becomes a channel: `ipc_channel_open`, then one `ipc_channel_message` per
 *    frame, then exactly one `ipc_channel_closed` with the pid's liveness probe.
 * 4. Oversize stream frames make `ws` close the socket with 1009; the close is reported as usual.
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import WebSocket, { WebSocketServer } from "ws";
import type { HttpMethod, Input, PushFrame } from "../broker/types.ts";
import { rawToString, truncateReason, validCloseCode } from "./connector-ws.ts";
import { authorized, parseCapabilities, parsePid } from "./ipc-auth.ts";
import type { Logger } from "./logger.ts";

export const DEFAULT_IPC_BODY_LIMIT_BYTES = 1024 * 1024;
export const DEFAULT_IPC_WS_MAX_PAYLOAD_BYTES = 1024 * 1024;
export const STREAM_PATH = "/v1/stream";

const METHODS: ReadonlySet<string> = new Set<HttpMethod>(["GET", "POST", "DELETE", "PUT", "PATCH"]);

export interface IpcServerOptions {
  /** Bearer token every route but `GET /health` requires. */
  token: string;
  /** Receives `ipc_*` inputs. */
  onInput: (input: Input) => void;
  /** Interface to bind. Default `127.0.0.1` (never expose the IPC beyond loopback). */
  host?: string;
  /** Port to bind. Default 0 (ephemeral). */
  port?: number;
  /** Largest request body. Default 1 048 576 bytes (PROTOCOL §6). */
  bodyLimitBytes?: number;
  /** Largest stream frame; larger ⇒ close 1009. Default 1 048 576 bytes. */
  wsMaxPayloadBytes?: number;
  /** Is the plugin process `pid` still alive? Default: `process.kill(pid, 0)` not failing ESRCH. */
  livenessProbe?: (pid: number) => boolean;
  logger?: Logger;
}

interface Channel {
  ws: WebSocket;
  pid: number;
}

export class IpcServer {
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly pending = new Map<number, ServerResponse>();
  private readonly channels = new Map<number, Channel>();
  private nextRequestId = 1;
  private nextChannel = 1;
  private closing = false;
  private address: AddressInfo | undefined;

  constructor(private readonly opts: IpcServerOptions) {
    this.server = createServer((req, res) => this.onRequest(req, res));
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.wsMaxPayloadBytes ?? DEFAULT_IPC_WS_MAX_PAYLOAD_BYTES,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.server.on("upgrade", (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server.on("clientError", (err, socket) => {
      this.opts.logger?.debug("ipc_client_error", { error: err.message });
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
      else socket.destroy();
    });
  }

  /** Bind and start accepting. Resolves with the base URL, e.g. `http://127.0.0.1:53117`. */
  listen(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port ?? 0, this.opts.host ?? "127.0.0.1", () => {
        this.server.off("error", reject);
        this.address = this.server.address() as AddressInfo;
        resolve(this.url);
      });
    });
  }

  get url(): string {
    if (!this.address) throw new Error("IPC server is not listening");
    return `http://${this.address.address}:${this.address.port}`;
  }

  get openChannels(): number {
    return this.channels.size;
  }

  get pendingRequests(): number {
    return this.pending.size;
  }

  // ---- outputs of the core ----

  respond(id: number, status: number, body: unknown): void {
    const res = this.pending.get(id);
    if (!res) {
      this.opts.logger?.debug("ipc_response_dropped", { id, status });
      return;
    }
    this.pending.delete(id);
    writeJson(res, Number.isInteger(status) && status >= 200 && status <= 599 ? status : 500, body);
  }

  push(channel: number, frame: PushFrame): void {
    const ch = this.channels.get(channel);
    if (!ch || ch.ws.readyState !== WebSocket.OPEN) {
      this.opts.logger?.debug("ipc_push_channel_not_open", { channel });
      return;
    }
    ch.ws.send(JSON.stringify(frame), (err) => {
      if (err) this.opts.logger?.warn("ipc_push_send_failed", { channel, error: err.message });
    });
  }

  closeChannel(channel: number, code: number, reason: string): void {
    const ch = this.channels.get(channel);
    if (!ch) return;
    try {
      ch.ws.close(validCloseCode(code) ? code : 1000, truncateReason(reason));
    } catch {
      ch.ws.terminate();
    }
  }

  // ---- lifecycle ----

  /**
   * Stop: refuse new work, answer requests the core never answered with 503, close every stream
   * (1001, then terminate after `graceMs`) and every HTTP connection. Resolves when all is closed.
   */
  async close(graceMs = 1_000): Promise<void> {
    this.closing = true;
    for (const [id, res] of this.pending) {
      this.pending.delete(id);
      writeJson(res, 503, { error: "broker_shutting_down", message: "the broker is shutting down" });
    }
    const closed: Promise<void>[] = [];
    for (const { ws } of this.channels.values()) {
      closed.push(
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          const t = setTimeout(() => ws.terminate(), graceMs);
          ws.once("close", () => {
            clearTimeout(t);
            resolve();
          });
          try {
            ws.close(1001, "broker shutting down");
          } catch {
            ws.terminate();
          }
        }),
      );
    }
    await Promise.all(closed);
    this.wss.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Drop everything at once, as if the process died. */
  terminate(): void {
    this.closing = true;
    for (const { ws } of this.channels.values()) ws.terminate();
    this.pending.clear();
    this.wss.close();
    this.server.close();
    this.server.closeAllConnections();
  }

  // ---- HTTP ----

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? "GET";
    const url = req.url ?? "/";
    if (this.closing) {
      reject(res, 503, "broker_shutting_down", "the broker is shutting down");
      return;
    }
    if (req.headers.origin !== undefined) {
      this.opts.logger?.warn("ipc_origin_refused", { method, path: pathOf(url) });
      reject(res, 403, "origin_forbidden", "requests from browsers are not accepted");
      return;
    }
    const isHealth = method === "GET" && pathOf(url) === "/health";
    if (!isHealth && !authorized(req.headers.authorization, this.opts.token)) {
      this.opts.logger?.warn("ipc_unauthorized", { method, path: pathOf(url) });
      reject(res, 401, "unauthorized", "missing or invalid bearer token");
      return;
    }
    if (!METHODS.has(method)) {
      reject(res, 405, "method_not_allowed", `${method} is not supported`);
      return;
    }
    const limit = this.opts.bodyLimitBytes ?? DEFAULT_IPC_BODY_LIMIT_BYTES;
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      this.tooLarge(req, res, limit);
      return;
    }

    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on("data", (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        this.tooLarge(req, res, limit);
        return;
      }
      chunks.push(chunk);
    });
    req.on("error", (err) => this.opts.logger?.debug("ipc_request_stream_error", { error: err.message }));
    req.on("end", () => {
      if (over) return;
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown;
      if (text.trim().length > 0) {
        try {
          body = JSON.parse(text);
        } catch (err) {
          reject(res, 400, "invalid_json", `request body is not valid JSON: ${(err as Error).message}`);
          return;
        }
      }
      const id = this.nextRequestId++;
      this.pending.set(id, res);
      res.on("close", () => {
        if (this.pending.get(id) === res) this.pending.delete(id);
      });
      const pid = req.headers["x-plugin-pid"];
      this.opts.onInput({
        kind: "ipc_request",
        id,
        method: method as HttpMethod,
        path: url,
        ...(pid !== undefined ? { pidHeader: Array.isArray(pid) ? pid.join(",") : pid } : {}),
        body,
      });
    });
  }

  private tooLarge(req: IncomingMessage, res: ServerResponse, limit: number): void {
    this.opts.logger?.warn("ipc_body_too_large", { limit });
    res.setHeader("connection", "close");
    reject(res, 413, "body_too_large", `request body exceeds ${limit} bytes`);
    // Keep reading (and discarding) so the client sees the 413 instead of a reset.
    req.resume();
  }

  // ---- stream upgrade ----

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on("error", (err) => this.opts.logger?.debug("ipc_upgrade_socket_error", { error: err.message }));
    if (this.closing) {
      rawReject(socket, 503, "Service Unavailable");
      return;
    }
    if (req.url !== STREAM_PATH) {
      rawReject(socket, 404, "Not Found");
      return;
    }
    if (req.headers.origin !== undefined) {
      this.opts.logger?.warn("ipc_origin_refused", { path: STREAM_PATH });
      rawReject(socket, 403, "Forbidden");
      return;
    }
    if (!authorized(req.headers.authorization, this.opts.token)) {
      this.opts.logger?.warn("ipc_unauthorized", { path: STREAM_PATH });
      rawReject(socket, 401, "Unauthorized");
      return;
    }
    const pidHeader = req.headers["x-plugin-pid"];
    const pid = parsePid(Array.isArray(pidHeader) ? undefined : pidHeader);
    if (pid === undefined) {
      rawReject(socket, 400, "Bad Request");
      return;
    }
    const capsHeader = req.headers["x-masons-ipc-capabilities"];
    const capabilities = parseCapabilities(Array.isArray(capsHeader) ? capsHeader.join(",") : capsHeader);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onStream(ws, pid, capabilities));
  }

  private onStream(ws: WebSocket, pid: number, capabilities: string[]): void {
    const channel = this.nextChannel++;
    this.channels.set(channel, { ws, pid });
    this.opts.logger?.info("ipc_channel_open", { channel, pid, capabilities });
    ws.on("error", (err) => this.opts.logger?.warn("ipc_channel_error", { channel, error: err.message }));
    ws.on("message", (data) => {
      this.opts.onInput({ kind: "ipc_channel_message", channel, text: rawToString(data) });
    });
    ws.on("close", (code, reason) => {
      this.channels.delete(channel);
      const pluginAlive = (this.opts.livenessProbe ?? processAlive)(pid);
      this.opts.logger?.info("ipc_channel_closed", {
        channel,
        pid,
        code,
        reason: reason.toString("utf8"),
        pluginAlive,
      });
      this.opts.onInput({ kind: "ipc_channel_closed", channel, pluginAlive });
    });
    this.opts.onInput({ kind: "ipc_channel_open", channel, pid, capabilities });
  }
}

/** `process.kill(pid, 0)` succeeds or fails with EPERM for a live process, ESRCH for a dead one. */
export function processAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

function pathOf(url: string): string {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
}

function reject(res: ServerResponse, status: number, code: string, message: string): void {
  writeJson(res, status, { error: code, message });
}

function writeJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  let text: string;
  try {
    text = body === undefined ? "" : JSON.stringify(body);
  } catch {
    status = 500;
    text = JSON.stringify({ error: "internal_error", message: "response body could not be serialised" });
  }
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function rawReject(socket: Duplex, status: number, text: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once("finish", () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
