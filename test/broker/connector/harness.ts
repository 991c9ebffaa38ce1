import { Connector, type ConnectorHooks } from "../../../src/broker/connector/connector.ts";
import type { MessageReceivedFrame, OutboundFrame } from "../../../src/broker/connector/frames.ts";
import { Env } from "../../../src/broker/env.ts";
import {
  type BrokerOptions,
  NO_PLANTED_FAULTS,
  type PlantedFaults,
  resolveOptions,
} from "../../../src/broker/options.ts";
import type { Output } from "../../../src/broker/types.ts";
import { CountingRandom } from "../../support/random.ts";

export interface Setup {
  options?: Partial<BrokerOptions>;
  initialCursor?: number;
  faults?: Partial<PlantedFaults>;
  /** Called synchronously from `onMessage` (e.g. to accept right away). */
  onMessage?: (f: MessageReceivedFrame, c: Connector) => void;
}

/**
 * Drives one Connector the way a driver would: inputs in, outputs read from `env.outputs`.
 * `out` accumulates every output ever emitted; `take()` returns those since the last take.
 */
export class Pair {
  readonly env: Env;
  readonly connector: Connector;
  readonly delivered: MessageReceivedFrame[] = [];
  readonly events: Array<string | { code: number; reason: string; replacedByNewRuntime: boolean }> = [];
  readonly all: Output[] = [];
  private cursor = 0;

  constructor(setup: Setup = {}) {
    this.env = new Env(
      resolveOptions({ connectorToken: "tok", ...setup.options }),
      new CountingRandom(),
      { ...NO_PLANTED_FAULTS, ...setup.faults },
      undefined,
    );
    const hooks: ConnectorHooks = {
      onMessage: (f) => {
        this.delivered.push(f);
        setup.onMessage?.(f, this.connector);
      },
      onConnected: () => this.events.push("connected"),
      onDisconnected: (info) => this.events.push(info),
      onDeliveryPending: () => this.events.push("delivery_pending"),
    };
    this.connector = new Connector(this.env, hooks, setup.initialCursor ?? 0);
  }

  /** Outputs emitted since the last call. */
  take(): Output[] {
    this.all.push(...this.env.outputs);
    this.env.outputs = [];
    const fresh = this.all.slice(this.cursor);
    this.cursor = this.all.length;
    return fresh;
  }

  /** Frames written since the last take. */
  sent(): OutboundFrame[] {
    return this.take().flatMap((o) => (o.kind === "connector_send" ? [o.frame] : []));
  }

  /** start → open → REGISTER_ACK ok; returns the outputs of the whole handshake. */
  connect(ack: Record<string, unknown> = {}): Output[] {
    this.connector.start();
    this.connector.handleOpen();
    this.frame({ event: "REGISTER_ACK", status: "ok", protocolVersion: 4, ...ack });
    return this.take();
  }

  /** After a close: wait for the reconnect deadline, open, ack. */
  reconnect(ack: Record<string, unknown> = {}): Output[] {
    const at = this.env.dueAt({ kind: "reconnect" });
    if (at === undefined) throw new Error("no reconnect armed");
    this.advanceTo(at);
    this.connector.handleOpen();
    this.frame({ event: "REGISTER_ACK", status: "ok", protocolVersion: 4, ...ack });
    return this.take();
  }

  frame(obj: Record<string, unknown>): void {
    this.connector.handleFrame(JSON.stringify(obj));
  }

  msg(seq: number | undefined, messageId?: string, extra: Record<string, unknown> = {}): void {
    const f: Record<string, unknown> = {
      event: "MESSAGE_RECEIVED",
      from: "agent://a",
      content: "hi",
      contentType: "text/plain",
      metadata: {},
      ...extra,
    };
    if (seq !== undefined) f.seq = seq;
    if (messageId !== undefined) f.messageId = messageId;
    this.frame(f);
  }

  advanceTo(ms: number): void {
    if (ms > this.env.nowMs) this.env.nowMs = ms;
    this.env.expireDeadlines(this.env.nowMs);
  }

  advanceBy(ms: number): void {
    this.advanceTo(this.env.nowMs + ms);
  }

  log(event: string): number {
    return this.env.logCounts.get(event) ?? 0;
  }
}

export function acks(frames: OutboundFrame[]): number[] {
  return frames.flatMap((f) => (f.event === "DELIVERY_ACK" ? [f.upToSeq] : []));
}

export function gapFills(frames: OutboundFrame[]): number[] {
  return frames.flatMap((f) => (f.event === "REQUEST_GAP_FILL" ? [f.sinceSeq] : []));
}

export function cursorWrites(outs: Output[]): number[] {
  return outs.flatMap((o) => (o.kind === "storage" && o.op.op === "write_cursor" ? [o.op.lastKnownSeq] : []));
}
