/**
 * The conformance world (no vitest imports, so scripts can use it too): the project's platform stub (connector ws + HTTP API + SSE), tapped so a
 * test reads every connector frame and API request; a daemon started as a child process exactly as
 * a plugin host starts the published one (environment, credentials file, discovery at the standard
 * path, no flags); and the published SDK's `BrokerClient`, unmodified, as the plugin.
 *
 * Target (`CONFORMANCE_TARGET`): `ours` (default) runs `bin/runtime-broker.mjs`; `published` runs
 * `dist/broker/entry.js` of the `@masons/runtime-broker` devDependency, found by path from the
 * package's resolved main (the entry is not in its exports map).
 *
 * The SDK is given a `brokerEntry` that spawns nothing (`no-spawn-entry.mjs`): the harness owns
 * every daemon process, so a SIGKILL/restart schedule is the test's alone. (The drop-in test lets
 * the SDK spawn our daemon itself.)
 */

import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BrokerClient } from "@masons/runtime-broker";
import { ConnectorStub } from "../../sim/stub/connector-ws-server.ts";
import { PlatformStub, type StubRequest } from "../../sim/stub/platform-http-server.ts";
import { ipcRequest } from "../support/ipc-request.ts";

export type Target = "ours" | "published";

export const TARGET: Target = process.env.CONFORMANCE_TARGET === "published" ? "published" : "ours";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = join(here, "..", "..");
export const OURS_ENTRY = join(REPO_ROOT, "bin", "runtime-broker.mjs");
export const NO_SPAWN_ENTRY = join(here, "no-spawn-entry.mjs");

/** `dist/` of the installed `@masons/runtime-broker`, from its resolved main. */
export function publishedDist(): string {
  const main = createRequire(import.meta.url).resolve("@masons/runtime-broker");
  return main.replace(/[/\\]broker-client[/\\]broker-client\.js$/, "");
}

export const PUBLISHED_ENTRY = join(publishedDist(), "broker", "entry.js");

export function entryFor(target: Target): string {
  return target === "published" ? PUBLISHED_ENTRY : OURS_ENTRY;
}

export const TOKEN = "conformance-runtime-token";
export const ACCOUNT = "acct-conformance";
export const AGENT_ID = "agent-conformance";

export interface WireFrame {
  socket: number;
  frame: Record<string, unknown>;
}

export interface Daemon {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  stderr: () => string;
}

export interface DiscoveryRecord {
  version: number;
  pid: number;
  startedAt: string;
  ipcUrl: string;
  bearerToken: string;
}

export class ConformanceWorld {
  readonly fromBroker: WireFrame[] = [];
  readonly toBroker: WireFrame[] = [];
  readonly requests: StubRequest[] = [];
  /**
   * Sees each connector frame before it is sent: true withholds it (gap tests); it may also
   * rewrite the frame in place (the torture readdresses messages to the current endpoint).
   */
  withhold: ((frame: Record<string, unknown>) => boolean) | undefined;
  readonly connector = new ConnectorStub({
    token: TOKEN,
    gapFillMinIntervalMs: 50,
    tap: {
      in: (socket, text) => {
        try {
          this.fromBroker.push({ socket, frame: JSON.parse(text) as Record<string, unknown> });
        } catch {
          this.fromBroker.push({ socket, frame: { raw: text } });
        }
      },
      out: (socket, frame) => {
        if (this.withhold?.(frame) === true) return false;
        this.toBroker.push({ socket, frame });
        return true;
      },
    },
  });
  readonly api: PlatformStub;
  readonly root = mkdtempSync(join(tmpdir(), "broker-conformance-"));
  readonly userData = join(this.root, "user-data");
  readonly credentialsFile = join(this.root, "credentials.json");
  readonly daemons: Daemon[] = [];
  /** Keep the temp directory (logs, data) at close, for a failure to be looked at. */
  keep = false;
  readonly clients: BrokerClient[] = [];

  constructor(
    readonly target: Target = TARGET,
    opts: { autoDispatch?: boolean } = {},
  ) {
    this.api = new PlatformStub({
      token: TOKEN,
      agentId: AGENT_ID,
      autoDispatch: opts.autoDispatch ?? false,
      onRequest: (r) => this.requests.push(r),
    });
  }

  async listen(): Promise<this> {
    await Promise.all([this.connector.listen(), this.api.listen()]);
    writeFileSync(
      this.credentialsFile,
      JSON.stringify({ accounts: { [ACCOUNT]: { connectorUrl: this.connector.url, token: TOKEN } } }),
      { mode: 0o600 },
    );
    return this;
  }

  /** The published daemon's standard environment, nothing else of ours. */
  get env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("MASONS_")) env[k] = v;
    env.MASONS_BROKER_CREDENTIALS_FILE = this.credentialsFile;
    env.MASONS_BROKER_ACCOUNT_ID = ACCOUNT;
    env.MASONS_BROKER_USER_DATA = this.userData;
    env.MASONS_BROKER_API_HOST = this.api.url;
    return env;
  }

  /** PROTOCOL §1.14: `<userData>/runtime-broker/<account>/<sha256(token)[0:16]>/discovery.json`. */
  get discoveryFile(): string {
    const id = createHash("sha256").update(TOKEN, "utf8").digest("hex").slice(0, 16);
    return join(this.userData, "runtime-broker", ACCOUNT, id, "discovery.json");
  }

  get dataDir(): string {
    return dirname(this.discoveryFile);
  }

  discovery(): DiscoveryRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.discoveryFile, "utf8")) as DiscoveryRecord;
    } catch {
      return undefined;
    }
  }

  /** Spawn the target's daemon with no flags and wait until its discovery record names it. */
  async startDaemon(): Promise<Daemon> {
    const child = spawn(process.execPath, [entryFor(this.target)], {
      env: this.env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    const d: Daemon = { child, pid: child.pid!, exited, stderr: () => stderr };
    this.daemons.push(d);
    try {
      await until(
        () => this.discovery()?.pid === d.pid,
        "the daemon's discovery record",
        60_000,
        () => {
          if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${stderr}`);
        },
      );
    } catch (err) {
      const tail = this.logEvents()
        .slice(-12)
        .map((l) => JSON.stringify(l))
        .join("\n");
      throw new Error(`${(err as Error).message} (pid ${d.pid}); last daemon log lines:\n${tail}`);
    }
    return d;
  }

  async kill(d: Daemon, signal: NodeJS.Signals = "SIGKILL"): Promise<number | null> {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill(signal);
    return d.exited;
  }

  /** The SDK's `BrokerClient`, found by `discover` at the standard path, connected as this pid. */
  async client(brokerEntry = NO_SPAWN_ENTRY): Promise<BrokerClient> {
    const c = await BrokerClient.discover({
      accountId: ACCOUNT,
      runtimeToken: TOKEN,
      userDataDir: this.userData,
      brokerEntry,
      timeoutMs: 15_000,
      env: this.env as Record<string, string>,
    });
    c.on("error", () => {});
    await c.connect({
      pluginPid: process.pid,
      clientKind: "conformance",
      clientVersion: "1.0.0",
      reconnectBackoffInitialMs: 50,
      reconnectBackoffMaxMs: 250,
    });
    this.clients.push(c);
    return c;
  }

  /** Raw IPC request against the current discovery record (routes the SDK does not call). */
  async ipc(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const rec = this.discovery();
    if (!rec) throw new Error("no discovery record");
    return ipcRequest(
      { ipcUrl: rec.ipcUrl, bearerToken: rec.bearerToken, pid: process.pid },
      method,
      path,
      body,
      headers,
    );
  }

  /** Frames the broker wrote to the connector, by event name. */
  sent(event: string): Array<Record<string, unknown>> {
    return this.fromBroker.filter((w) => w.frame.event === event).map((w) => w.frame);
  }

  /** Platform API requests, by method and path pattern. */
  calls(method: string, path: RegExp): StubRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  /** Every daemon log line (both implementations log JSON lines; ours names `event`, theirs `msg`). */
  logEvents(name?: string): Array<Record<string, unknown>> {
    const dir = join(this.userData, "runtime-broker", "log");
    if (!existsSync(dir)) return [];
    const out: Array<Record<string, unknown>> = [];
    for (const f of readdirSync(dir)) {
      for (const line of readFileSync(join(dir, f), "utf8").split("\n")) {
        if (!line.trim()) continue;
        try {
          const l = JSON.parse(line) as Record<string, unknown>;
          const event = l.event ?? l.msg;
          if (name === undefined || event === name) out.push(l);
        } catch {
          // a torn last line of a killed process
        }
      }
    }
    return out;
  }

  async close(): Promise<void> {
    for (const c of this.clients) await c.close().catch(() => {});
    for (const d of this.daemons) await this.kill(d);
    // A daemon the SDK spawned itself (drop-in test) is only known by its discovery record.
    const rec = this.discovery();
    if (rec && !this.daemons.some((d) => d.pid === rec.pid)) {
      try {
        process.kill(rec.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await Promise.all([this.connector.close(), this.api.close()]);
    if (!this.keep) rmSync(this.root, { recursive: true, force: true });
  }
}

export async function until(
  cond: () => boolean,
  what: string,
  timeoutMs = 10_000,
  check?: () => void,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    check?.();
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The published package's own modules by path (not in its exports map), e.g. `broker/paths.js`. */
export async function importPublished<T>(rel: string): Promise<T> {
  return (await import(pathToFileURL(join(publishedDist(), rel)).href)) as T;
}

export function ensureDir(p: string): void {
  mkdirSync(p, { recursive: true, mode: 0o700 });
}
