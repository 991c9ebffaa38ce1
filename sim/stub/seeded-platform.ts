/**
 * The platform stub with seeded faults, for an adapter's integration tests over real sockets: the
 * connector WebSocket server and the platform HTTP API (with its SSE control-event stream) on
 * 127.0.0.1, injecting from one seed the faults an adapter must survive — duplicate and
 * out-of-order MESSAGE_RECEIVED, dropped and late SEND_ACK, API errors and timeouts, connector
 * restarts (sim/stub/faults/).
 *
 * Rules:
 * 1. The seed is `options.seed`, else the `BROKER_SIM_STUB_SEED` environment variable, else a fresh
 *    random one; it is logged at start, with the variable that replays it.
 * 2. The same seed and the same traffic give the same fault schedule (`schedule.injected`).
 * 3. A connector restart is decided once per `append`, after the message went out.
 */

import { randomInt } from "node:crypto";
import type { InboundSpec, LoggedMessage } from "../actors/connector-server.ts";
import { ConnectorStub, type ConnectorStubOptions } from "./connector-ws-server.ts";
import { ApiFaults } from "./faults/api-faults.ts";
import { ConnectorFaults } from "./faults/connector-faults.ts";
import { NO_STUB_FAULTS, StubFaultSchedule, type StubFaultRates } from "./faults/fault-schedule.ts";
import { PlatformStub, type PlatformStubOptions } from "./platform-http-server.ts";

/** The environment variable that fixes the seed of a seeded platform stub. */
export const STUB_SEED_ENV = "BROKER_SIM_STUB_SEED";

export interface SeededPlatformOptions {
  /** Fault seed. Default: `BROKER_SIM_STUB_SEED`, else random (and logged either way). */
  seed?: number;
  /** Fault rates over `DEFAULT_STUB_FAULT_RATES`; `false` turns every fault off. */
  faults?: Partial<StubFaultRates> | false;
  /** Token the connector REGISTER and the API bearer must carry. Default: any. */
  token?: string;
  /** Agent id answered by `GET /v1/whoami`. Default `agent-stub`. */
  agentId?: string;
  /** Assign new undispatched rows automatically. Default true. */
  autoDispatch?: boolean;
  /** Connector model settings and observers (everything but the token and the frame filter). */
  connector?: Omit<ConnectorStubOptions, "token" | "frameFilter" | "port">;
  /** Ports on 127.0.0.1. Default 0 (ephemeral) for both. */
  connectorPort?: number;
  apiPort?: number;
  /** Where the seed line goes. Default: stderr. */
  log?: (line: string) => void;
}

export class SeededPlatform {
  readonly seed: number;
  readonly schedule: StubFaultSchedule;
  readonly connector: ConnectorStub;
  readonly api: PlatformStub;
  private readonly connectorFaults: ConnectorFaults;
  private readonly apiFaults: ApiFaults;
  private readonly log: (line: string) => void;

  constructor(options: SeededPlatformOptions = {}) {
    this.seed = options.seed ?? seedFromEnv() ?? randomInt(0, 0x1_0000_0000);
    this.schedule = new StubFaultSchedule(
      this.seed,
      options.faults === false ? NO_STUB_FAULTS : options.faults,
    );
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.connectorFaults = new ConnectorFaults(this.schedule);
    this.apiFaults = new ApiFaults(this.schedule);
    this.connector = new ConnectorStub({
      ...options.connector,
      ...(options.connectorPort !== undefined ? { port: options.connectorPort } : {}),
      ...(options.token !== undefined ? { token: options.token } : {}),
      frameFilter: this.connectorFaults.filter,
    });
    const api: PlatformStubOptions = { intercept: this.apiFaults.intercept };
    if (options.apiPort !== undefined) api.port = options.apiPort;
    if (options.token !== undefined) api.token = options.token;
    if (options.agentId !== undefined) api.agentId = options.agentId;
    if (options.autoDispatch !== undefined) api.autoDispatch = options.autoDispatch;
    this.api = new PlatformStub(api);
  }

  /** Start both servers; logs the seed. */
  async listen(): Promise<{ connectorUrl: string; apiUrl: string }> {
    const [connectorUrl, apiUrl] = await Promise.all([this.connector.listen(), this.api.listen()]);
    this.log(
      `platform stub: fault seed ${this.seed} (replay the same faults with ${STUB_SEED_ENV}=${this.seed})`,
    );
    return { connectorUrl, apiUrl };
  }

  get connectorUrl(): string {
    return this.connector.url;
  }

  get apiUrl(): string {
    return this.api.url;
  }

  /** A new inbound message for the broker's stream; may be followed by a seeded connector restart. */
  append(spec: Partial<InboundSpec> & { content: string }): LoggedMessage {
    const m = this.connector.append(spec);
    const r = this.schedule.rates;
    if (
      this.schedule.decide(
        "connector.restart",
        "connector_restart",
        r.connectorRestartProbability,
        `after seq ${m.seq}`,
      )
    )
      this.connector.dropAll(1012, "service restart");
    return m;
  }

  async close(): Promise<void> {
    this.connectorFaults.dispose();
    this.apiFaults.dispose();
    await Promise.all([this.connector.close(), this.api.close()]);
  }
}

/** Start a seeded platform stub on loopback. */
export async function startSeededPlatform(options: SeededPlatformOptions = {}): Promise<SeededPlatform> {
  const p = new SeededPlatform(options);
  await p.listen();
  return p;
}

function seedFromEnv(): number | undefined {
  const raw = process.env[STUB_SEED_ENV];
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) > 0xffff_ffff)
    throw new RangeError(`${STUB_SEED_ENV} must be a 32-bit unsigned integer, got "${raw}"`);
  return Number(raw);
}
