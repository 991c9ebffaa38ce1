/**
 * Real daemons over loopback on the same platform stub: our `createBroker` against the published
 * `startBrokerDaemon`. The daemon under test runs in this process; the stubs and the plugin run in
 * a child process (`loopback/child.ts`), so neither side's cost is charged to the daemon. Each
 * daemon gets a fresh child, a fresh data dir and one foreground endpoint; see loopback/world.ts
 * for the workloads.
 */

import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createBroker } from "../src/daemon/index.ts";
import type { FromWorld, ToWorld } from "./loopback/protocol.ts";
import type { BurstResult, LatencyResult, LoopbackThroughput, SoakResult } from "./loopback/world.ts";
import { type ApiPort, loadReference, startReference } from "./reference/drive.ts";

const TOKEN = "bench-connector-token";
const nullStream = { write: () => true };

export interface Urls {
  connectorUrl: string;
  apiUrl: string;
}

export interface DaemonHandle {
  name: string;
  ipcUrl: string;
  token: string;
  close(): Promise<void>;
}

export async function startOurs(urls: Urls): Promise<DaemonHandle> {
  const dataDir = mkdtempSync(join(tmpdir(), "bench-ours-"));
  const broker = await createBroker({
    connectorUrl: urls.connectorUrl,
    connectorToken: TOKEN,
    apiBaseUrl: urls.apiUrl,
    dataDir,
    logLevel: "error",
    logStream: nullStream,
    livenessProbe: () => true,
  });
  await waitFor(() => broker.core.connector.ready, "our broker to register with the connector");
  return {
    name: "ours",
    ipcUrl: broker.ipcUrl,
    token: broker.bearerToken,
    async close() {
      await broker.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function startTheirs(refDir: string, urls: Urls): Promise<DaemonHandle> {
  const mods = await loadReference(refDir);
  const ref = await startReference(mods, {
    wire: { kind: "stub", url: urls.connectorUrl, token: TOKEN },
    apiPort: await stubApiPort(refDir, urls.apiUrl),
  });
  return {
    name: "reference",
    ipcUrl: ref.running.ipcUrl,
    token: ref.running.bearerToken,
    close: () => ref.close(),
  };
}

/**
 * The reference's own production HTTP port (`buildApiPort` of its entry module) pointed at the
 * stub, except `register`: the stub's model reads our register body (`nonce`, `kind`,
 * `capabilities`), so the reference's (`endpoint_nonce`, `runtime_kind`, `runtime_capabilities`)
 * is translated here.
 */
async function stubApiPort(refDir: string, apiUrl: string): Promise<ApiPort> {
  const { pathToFileURL } = await import("node:url");
  const entry = (await import(pathToFileURL(join(refDir, "dist/broker/entry.js")).href)) as {
    buildApiPort: (host: string, key: string, logger: unknown) => ApiPort;
  };
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const port = entry.buildApiPort(apiUrl, TOKEN, quiet);
  port.register = async (params: Record<string, unknown>) => {
    const res = await fetch(`${apiUrl}/v1/runtime-endpoints`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        nonce: params.endpoint_nonce,
        plugin_pid: process.pid,
        kind: params.runtime_kind,
        capabilities: params.runtime_capabilities ?? [],
        display_label: params.display_label,
      }),
    });
    const body = (await res.json()) as Record<string, unknown>;
    if (res.status !== 200) throw new Error(`stub register answered ${res.status}`);
    // No heartbeats during a bench run: they are not part of the delivery path.
    return { ...body, heartbeat_after_seconds: 3_600 };
  };
  return port;
}

/** The child process holding the stubs and the plugin. */
export class WorldProcess {
  private readonly child: ChildProcess;
  private waiting: ((m: FromWorld) => void) | undefined;
  readonly urls: Promise<Urls>;

  constructor() {
    const file = fileURLToPath(new URL("./loopback/child.ts", import.meta.url));
    this.child = fork(file, [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.urls = new Promise((resolve, reject) => {
      this.child.once("error", reject);
      this.waiting = (m) => {
        if ("ready" in m) resolve({ connectorUrl: m.connectorUrl, apiUrl: m.apiUrl });
        else reject(new Error("world process did not start"));
      };
    });
    this.child.on("message", (m: FromWorld) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(m);
    });
    // A world that dies (e.g. out of memory under a burst) must fail the run, not hang it.
    this.child.on("exit", (code, signal) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.({ ok: false, error: `world process exited (${signal ?? `code ${code}`})` });
    });
  }

  ask<T>(m: ToWorld): Promise<T> {
    return new Promise((resolve, reject) => {
      this.waiting = (a) => {
        if ("ok" in a && a.ok) resolve(a.result as T);
        else reject(new Error("error" in a ? a.error : "unexpected answer"));
      };
      this.child.send(m);
    });
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    await this.ask({ cmd: "close" }).catch(() => this.child.kill());
    await exited;
  }
}

/** The daemon process's resident memory around a run: at its start, its peak, at its end. */
export interface DaemonRss {
  startMb: number;
  peakMb: number;
  endMb: number;
}

export interface DaemonRun {
  throughput: LoopbackThroughput & { daemonCpuMs?: number };
  latency: LatencyResult;
  burst?: BurstResult & { daemonRss: DaemonRss };
  /** The burst did not finish: the world process died or the run failed. */
  burstError?: string;
  soak?: SoakResult & { daemonRss: DaemonRss };
  soakError?: string;
}

export interface RunSizes {
  warmup: number;
  messages: number;
  window: number;
  latencyMessages: number;
  /** Paced load for the latency run: `latencyBatch` messages every `latencyIntervalMs`. */
  latencyBatch: number;
  latencyIntervalMs: number;
  burst: number;
  /** Messages in the soak (0 = none), with `window` in flight. */
  soak: number;
  /** Time budget of the soak in ms; it reports what it reached when cut (default none). */
  soakMaxMs?: number;
}

/**
 * Run `f`, sampling this process's RSS (the daemon under test lives here) every 250 ms and printing
 * it on stderr every 10 s beside the world's progress lines.
 */
async function withRss<T>(what: string, f: () => Promise<T>): Promise<T & { daemonRss: DaemonRss }> {
  const mb = () => process.memoryUsage.rss() / 1_048_576;
  const startMb = mb();
  let peakMb = startMb;
  let ticks = 0;
  const timer = setInterval(() => {
    const now = mb();
    peakMb = Math.max(peakMb, now);
    if (++ticks % 40 === 0)
      process.stderr.write(
        `[${what}] daemon RSS ${now.toFixed(0)} MB (start ${startMb.toFixed(0)}, peak ${peakMb.toFixed(0)})\n`,
      );
  }, 250);
  try {
    const r = await f();
    const endMb = mb();
    return { ...r, daemonRss: { startMb, peakMb: Math.max(peakMb, endMb), endMb } };
  } finally {
    clearInterval(timer);
  }
}

/** One daemon, one fresh world: warm-up, throughput, latency, and the burst when asked. */
export async function runDaemon(
  start: (urls: Urls) => Promise<DaemonHandle>,
  sizes: RunSizes,
): Promise<DaemonRun> {
  const world = new WorldProcess();
  let daemon: DaemonHandle | undefined;
  try {
    daemon = await start(await world.urls);
    await world.ask({ cmd: "plugin", name: daemon.name, ipcUrl: daemon.ipcUrl, token: daemon.token });
    await world.ask({ cmd: "throughput", count: sizes.warmup, window: sizes.window });
    const cpu0 = process.cpuUsage();
    const tp = await world.ask<LoopbackThroughput & { daemonCpuMs?: number }>({
      cmd: "throughput",
      count: sizes.messages,
      window: sizes.window,
    });
    const cpu = process.cpuUsage(cpu0);
    tp.daemonCpuMs = (cpu.user + cpu.system) / 1000;
    const lat = await world.ask<LatencyResult>({
      cmd: "latency",
      count: sizes.latencyMessages,
      batch: sizes.latencyBatch,
      intervalMs: sizes.latencyIntervalMs,
    });
    const run: DaemonRun = { throughput: tp, latency: lat };
    // The soak before the burst: a burst that stalls the daemon must not decide the soak's figures.
    if (sizes.soak > 0) {
      try {
        run.soak = await withRss(`soak ${daemon.name}`, () =>
          world.ask<SoakResult>({
            cmd: "soak",
            count: sizes.soak,
            window: sizes.window,
            ...(sizes.soakMaxMs !== undefined ? { maxMs: sizes.soakMaxMs } : {}),
          }),
        );
      } catch (err) {
        run.soakError = (err as Error).message;
      }
    }
    if (sizes.burst > 0) {
      try {
        run.burst = await withRss(`burst ${daemon.name}`, () =>
          world.ask<BurstResult>({ cmd: "burst", count: sizes.burst }),
        );
      } catch (err) {
        run.burstError = (err as Error).message;
      }
    }
    return run;
  } finally {
    // The plugin goes first: a daemon's IPC server waits for open streams when it closes.
    await world.close();
    await daemon?.close();
  }
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`bench: gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
