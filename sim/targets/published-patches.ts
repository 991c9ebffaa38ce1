/**
 * Globals of the published target's worker thread, patched once before the package loads: its
 * randomness is seeded, its IPC server and plugin sockets are in memory, `fetch` is refused.
 * `syncBuiltinESMExports()` makes the package's named ESM imports of `node:crypto` and
 * `node:http` see the patched functions.
 */

import { EventEmitter } from "node:events";
import { createRequire, syncBuiltinESMExports } from "node:module";
import type { Output } from "../../src/broker/types.ts";
import { Stream } from "../kernel/prng.ts";

export const require = createRequire(import.meta.url);
const cryptoCjs = require("node:crypto") as typeof import("node:crypto");
const httpCjs = require("node:http") as typeof import("node:http");

/** Where in-memory sockets and servers report to (the current broker process). */
export interface OutputSink {
  out(o: Output): void;
}

// ---- randomness ----

let rnd = new Stream("published", 1);

/** Reseed the stream behind every patched source of randomness (one per broker process). */
export function seedRandomness(seed: number): void {
  rnd = new Stream("published", seed);
}

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

/** The process that owns the next server to listen (set by the worker). */
export const ipcHooks: {
  listening?: (server: FakeHttpServer) => void;
  closed?: (server: FakeHttpServer) => void;
} = {};

export class FakeHttpServer extends EventEmitter {
  constructor(readonly handler: (req: unknown, res: unknown) => void) {
    super();
  }
  listen(_port: number, _host: string, cb: () => void): this {
    ipcHooks.listening?.(this);
    queueMicrotask(cb);
    return this;
  }
  address(): { port: number; address: string; family: string } {
    return { port: 1, address: "127.0.0.1", family: "IPv4" };
  }
  close(cb?: (err?: Error) => void): this {
    ipcHooks.closed?.(this);
    if (cb) queueMicrotask(() => cb());
    return this;
  }
}
httpCjs.createServer = ((handler: (req: unknown, res: unknown) => void) =>
  new FakeHttpServer(handler)) as unknown as typeof httpCjs.createServer;
syncBuiltinESMExports();

/** A plugin's `/v1/stream` socket as the daemon sees it. */
export class FakePluginSocket extends EventEmitter {
  readyState = 1;
  constructor(
    readonly owner: OutputSink,
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
