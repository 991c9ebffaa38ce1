/**
 * An end-to-end world for daemon tests, all on 127.0.0.1:0: the platform stub (the simulator's
 * connector and API models over real ws + http), a temp data directory, the real daemon started
 * through `createBroker`, and plugin clients speaking the IPC over real sockets.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { ConnectorStub } from "../../sim/stub/connector-ws-server.ts";
import { PlatformStub } from "../../sim/stub/platform-http-server.ts";
import { type CreateBrokerOptions, createBroker, type RunningBroker } from "../../src/daemon/index.ts";
import { MemoryLogWriter } from "../../src/daemon/logger.ts";
import { type IpcAnswer, ipcRequest } from "./ipc-request.ts";

export const CONNECTOR_TOKEN = "connector-token-for-tests";

export class DaemonWorld {
  readonly connector = new ConnectorStub({ token: CONNECTOR_TOKEN, gapFillMinIntervalMs: 50 });
  readonly api = new PlatformStub({ token: CONNECTOR_TOKEN });
  readonly root = mkdtempSync(join(tmpdir(), "broker-e2e-"));
  readonly dataDir = join(this.root, "data");
  readonly logs = new MemoryLogWriter();
  readonly brokers: RunningBroker[] = [];
  readonly plugins: PluginClient[] = [];

  async listen(): Promise<this> {
    await Promise.all([this.connector.listen(), this.api.listen()]);
    return this;
  }

  async startBroker(extra: Partial<CreateBrokerOptions> = {}): Promise<RunningBroker> {
    const b = await createBroker({
      connectorUrl: this.connector.url,
      connectorToken: CONNECTOR_TOKEN,
      apiBaseUrl: this.api.url,
      dataDir: this.dataDir,
      agentId: "agent-e2e",
      logLevel: "debug",
      logStream: this.logs,
      shutdownWatchdogMs: 2_000,
      controlEventsBackoffInitialMs: 20,
      controlEventsBackoffMaxMs: 200,
      brokerOptions: { reconnectInitialMs: 20, reconnectMaxMs: 200 },
      ...extra,
    });
    this.brokers.push(b);
    return b;
  }

  plugin(broker: RunningBroker, pid = process.pid): PluginClient {
    const p = new PluginClient(broker.ipcUrl, broker.bearerToken, pid);
    this.plugins.push(p);
    return p;
  }

  logEvents(name: string): Array<Record<string, unknown>> {
    return this.logs.events().filter((e) => e.event === name);
  }

  async close(): Promise<void> {
    for (const p of this.plugins) p.close();
    for (const b of this.brokers) await b.close();
    await Promise.all([this.connector.close(), this.api.close()]);
    rmSync(this.root, { recursive: true, force: true });
  }
}

export type HttpAnswer = IpcAnswer;

/** A plugin process as the broker sees it: HTTP requests plus one `/v1/stream` socket. */
export class PluginClient {
  ws: WebSocket | undefined;
  readonly frames: Array<Record<string, unknown>> = [];
  closeCode: number | undefined;

  constructor(
    readonly ipcUrl: string,
    readonly token: string,
    readonly pid: number,
  ) {}

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer> {
    return ipcRequest(
      { ipcUrl: this.ipcUrl, bearerToken: this.token, pid: this.pid },
      method,
      path,
      body,
      headers,
    );
  }

  /** Open `/v1/stream`; acks every push that carries a `push_id` (like the shipped SDK). */
  openStream(capabilities: string[] = ["push_receipt_ack_v1"]): Promise<void> {
    const ws = new WebSocket(`${this.ipcUrl.replace("http", "ws")}/v1/stream`, {
      headers: {
        authorization: `Bearer ${this.token}`,
        "x-plugin-pid": String(this.pid),
        "x-masons-ipc-capabilities": capabilities.join(","),
      },
    });
    this.ws = ws;
    ws.on("message", (data) => {
      const f = JSON.parse(data.toString()) as Record<string, unknown>;
      if (typeof f.push_id === "string") ws.send(JSON.stringify({ event: "push_ack", push_id: f.push_id }));
      this.frames.push(f);
    });
    ws.on("close", (code) => {
      this.closeCode = code;
    });
    ws.on("error", () => {});
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
  }

  messages(): Array<Record<string, unknown>> {
    return this.frames.filter((f) => f.event === "message_received");
  }

  close(): void {
    this.ws?.terminate();
  }
}

/** Poll `cond` every 10 ms, at most `tries` times (bounded: a hang fails instead of blocking). */
export async function until(cond: () => boolean, what: string, tries = 1_000): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}
