/**
 * A "world pair" for end-to-end tests of BrokerCore: the core plus a scripted outside world.
 *
 * The pair feeds inputs, collects every output, and remembers which platform calls and storage
 * operations are still unanswered so a test can answer them in any order. A policy answers the
 * boring calls automatically (transition states, presence, heartbeats, unregister, storage); a test
 * that wants to control one of them turns its auto-answer off.
 *
 * Nothing here mocks a broker module: the core runs unchanged, the pair only plays the world.
 */

import type { ApiOp, ApiResult, Failure } from "../../src/broker/api.ts";
import { BrokerCore, type BrokerCoreConfig } from "../../src/broker/broker.ts";
import type { OutboundFrame } from "../../src/broker/connector/frames.ts";
import type { HttpMethod, Input, Output, PushFrame } from "../../src/broker/types.ts";
import { CountingRandom } from "./random.ts";

export type ApiCallOutput = Extract<Output, { kind: "api_call" }>;
export type CallOf<K extends ApiOp> = Extract<ApiCallOutput, { op: K }>;
export type StorageOutput = Extract<Output, { kind: "storage" }>;
export type PushOutput = Extract<Output, { kind: "ipc_push" }>;

export const OK = { ok: true } as unknown as ApiResult<ApiOp>;
export const TRANSIENT: Failure = { ok: false, terminal: false, status: 503, detail: "unavailable" };
export const TERMINAL: Failure = { ok: false, terminal: true, status: 422, detail: "rejected" };

export interface PairOptions extends Partial<Omit<BrokerCoreConfig, "random">> {
  /** Ops answered `{ok:true}` automatically. Default: transition_state, presence_changed, heartbeat, unregister. */
  autoOk?: ApiOp[];
  /** Storage answered ok automatically. Default true. */
  autoStorage?: boolean;
}

export interface MessageSpec {
  seq?: number;
  messageId?: string;
  from?: string;
  content?: string;
  metadata?: Record<string, unknown>;
}

export class BrokerPair {
  readonly core: BrokerCore;
  now = 1_000_000;
  /** Every output, in order. */
  readonly log: Output[] = [];
  readonly pendingApi = new Map<number, ApiCallOutput>();
  readonly pendingStorage = new Map<number, StorageOutput>();
  readonly responses = new Map<number, { status: number; body: Record<string, unknown> }>();
  autoOk: Set<ApiOp>;
  autoStorage: boolean;
  private nextRequestId = 1;
  private answering = false;
  private readonly queue: Input[] = [];

  constructor(opts: PairOptions = {}) {
    const { autoOk, autoStorage, ...config } = opts;
    this.core = new BrokerCore({ random: new CountingRandom(7), ...config });
    this.autoOk = new Set(autoOk ?? ["transition_state", "presence_changed", "heartbeat", "unregister"]);
    this.autoStorage = autoStorage ?? true;
  }

  /** Feed one input (plus any automatic answers it causes); returns the outputs produced. */
  input(input: Input): Output[] {
    const mark = this.log.length;
    this.queue.push(input);
    if (this.answering) return [];
    this.answering = true;
    while (this.queue.length > 0) {
      this.core.handle(this.queue.shift()!, this.now);
      this.collect();
    }
    this.answering = false;
    return this.log.slice(mark);
  }

  /** Move time forward by `ms`, running due deadlines. */
  advance(ms: number): Output[] {
    const mark = this.log.length;
    this.now += ms;
    this.core.advance(this.now);
    this.collect();
    while (this.queue.length > 0) {
      this.core.handle(this.queue.shift()!, this.now);
      this.collect();
    }
    return this.log.slice(mark);
  }

  // ---- connector ----

  /** start → connector_open → REGISTER_ACK ok. */
  connect(deliverySeq?: number): void {
    this.input({ kind: "start" });
    this.input({ kind: "connector_open" });
    this.frame({
      event: "REGISTER_ACK",
      status: "ok",
      protocolVersion: 4,
      ...(deliverySeq !== undefined && { deliverySeq }),
    });
  }

  frame(obj: Record<string, unknown>): Output[] {
    return this.input({ kind: "connector_frame", text: JSON.stringify(obj) });
  }

  message(m: MessageSpec): Output[] {
    const f: Record<string, unknown> = {
      event: "MESSAGE_RECEIVED",
      from: m.from ?? "agent://sender",
      content: m.content ?? `hello ${m.seq ?? ""}`,
      contentType: "text",
      metadata: m.metadata ?? {},
    };
    if (m.seq !== undefined) f.seq = m.seq;
    if (m.messageId !== undefined) f.messageId = m.messageId;
    return this.frame(f);
  }

  sentFrames(type?: OutboundFrame["event"]): OutboundFrame[] {
    const out: OutboundFrame[] = [];
    for (const o of this.log)
      if (o.kind === "connector_send" && (!type || o.frame.event === type)) out.push(o.frame);
    return out;
  }

  /** Highest `DELIVERY_ACK.upToSeq` written so far (0 if none). */
  ackedUpTo(): number {
    let max = 0;
    for (const f of this.sentFrames("DELIVERY_ACK"))
      if (f.event === "DELIVERY_ACK") max = Math.max(max, f.upToSeq);
    return max;
  }

  // ---- platform API ----

  calls(): ApiCallOutput[];
  calls<K extends ApiOp>(op: K): Array<CallOf<K>>;
  calls(op?: ApiOp): ApiCallOutput[] {
    return [...this.pendingApi.values()].filter((c) => !op || c.op === op);
  }

  /** Every api_call ever made (answered or not) for `op`. */
  allCalls(): ApiCallOutput[];
  allCalls<K extends ApiOp>(op: K): Array<CallOf<K>>;
  allCalls(op?: ApiOp): ApiCallOutput[] {
    return this.log.filter((o): o is ApiCallOutput => o.kind === "api_call" && (!op || o.op === op));
  }

  answer(call: ApiCallOutput | number, result: unknown = OK): Output[] {
    const id = typeof call === "number" ? call : call.id;
    if (!this.pendingApi.delete(id)) throw new Error(`no pending api call ${id}`);
    return this.input({ kind: "api_result", id, result: result as ApiResult<ApiOp> });
  }

  /** Answer the single pending call of `op` (throws if there is not exactly one). */
  answerOne(op: ApiOp, result: unknown = OK): Output[] {
    const cs = this.calls(op);
    if (cs.length !== 1) throw new Error(`expected one pending ${op}, found ${cs.length}`);
    return this.answer(cs[0]!, result);
  }

  answerAll(op: ApiOp, result: unknown = OK): Output[] {
    const mark = this.log.length;
    for (const c of this.calls(op)) this.answer(c, result);
    return this.log.slice(mark);
  }

  // ---- storage ----

  storageOps(): StorageOutput[] {
    return [...this.pendingStorage.values()];
  }

  answerStorage(op: StorageOutput | number, ok = true): Output[] {
    const id = typeof op === "number" ? op : op.id;
    if (!this.pendingStorage.delete(id)) throw new Error(`no pending storage op ${id}`);
    return this.input({ kind: "storage_result", id, ok, ...(!ok && { error: "EIO" }) });
  }

  // ---- IPC ----

  openChannel(channel: number, pid: number, capabilities: string[] = ["push_receipt_ack_v1"]): Output[] {
    return this.input({ kind: "ipc_channel_open", channel, pid, capabilities });
  }

  closeChannel(channel: number, pluginAlive: boolean): Output[] {
    return this.input({ kind: "ipc_channel_closed", channel, pluginAlive });
  }

  /** Send an IPC request; returns its id (read the answer with `response`). */
  request(method: HttpMethod, path: string, body?: unknown, pidHeader?: string): number {
    const id = this.nextRequestId++;
    this.input({
      kind: "ipc_request",
      id,
      method,
      path,
      body,
      ...(pidHeader !== undefined && { pidHeader }),
    });
    return id;
  }

  response(id: number): { status: number; body: Record<string, unknown> } | undefined {
    return this.responses.get(id);
  }

  /** Open a channel (if needed) and register an endpoint for `pid`; returns its id and owner token. */
  register(
    pid: number,
    channel: number,
    extra: Record<string, unknown> = {},
    endpointId = `ep-${pid}`,
    heartbeatAfterSeconds?: number,
  ): { endpointId: string; ownerToken: string } {
    if (!this.core.channels.isOpen(channel)) this.openChannel(channel, pid);
    const id = this.request("POST", "/v1/endpoint/register", { plugin_pid: pid, kind: "claude", ...extra });
    this.answerOne("register", {
      ok: true,
      endpoint_id: endpointId,
      ...(heartbeatAfterSeconds !== undefined && { heartbeat_after_seconds: heartbeatAfterSeconds }),
    });
    const r = this.response(id);
    if (r?.status !== 200) throw new Error(`register failed: ${JSON.stringify(r)}`);
    return { endpointId, ownerToken: r.body.endpoint_owner_token as string };
  }

  pushes(channel?: number): PushOutput[] {
    return this.log.filter(
      (o): o is PushOutput => o.kind === "ipc_push" && (channel === undefined || o.channel === channel),
    );
  }

  messagePushes(
    channel?: number,
  ): Array<Extract<PushFrame, { event: "message_received" }> & { channel: number }> {
    const out: Array<Extract<PushFrame, { event: "message_received" }> & { channel: number }> = [];
    for (const p of this.pushes(channel))
      if (p.frame.event === "message_received") out.push({ ...p.frame, channel: p.channel });
    return out;
  }

  /** The platform dispatches inbox row `id` to `endpointId` (a resident background endpoint). */
  dispatch(key: string, id: string, endpointId: string, token = `token-${key}`): Output[] {
    return this.input({
      kind: "control_event",
      event: {
        type: "dispatch_undispatched",
        version: 1,
        idempotency_key: key,
        emitted_at: this.now,
        undispatched_id: id,
        source_message_id: id,
        target_ref: {
          kind: "projection_endpoint",
          projection_endpoint_id: endpointId,
          background_exchange_mode: "resident_endpoint",
        },
        delivery_intent: "external_handoff",
        broker_projection_token: token,
      },
    });
  }

  /** Acknowledge a push receipt from `channel` (defaults to the push's own channel). */
  pushAck(pushId: string, channel: number): Output[] {
    return this.input({
      kind: "ipc_channel_message",
      channel,
      text: JSON.stringify({ event: "push_ack", push_id: pushId }),
    });
  }

  /** Ack every unacknowledged receipt push on `channel`. */
  ackAllPushes(channel: number): void {
    for (const p of this.messagePushes(channel))
      if (p.push_id && !this.acked.has(p.push_id)) {
        this.acked.add(p.push_id);
        this.pushAck(p.push_id, channel);
      }
  }
  private readonly acked = new Set<string>();

  logCount(event: string): number {
    return this.core.env.logCounts.get(event) ?? 0;
  }

  private collect(): void {
    for (const o of this.core.takeOutputs()) {
      this.log.push(o);
      if (o.kind === "api_call") {
        if (this.autoOk.has(o.op)) this.queue.push({ kind: "api_result", id: o.id, result: OK });
        else this.pendingApi.set(o.id, o);
      } else if (o.kind === "storage") {
        if (this.autoStorage) this.queue.push({ kind: "storage_result", id: o.id, ok: true });
        else this.pendingStorage.set(o.id, o);
      } else if (o.kind === "ipc_response") {
        this.responses.set(o.id, { status: o.status, body: o.body as Record<string, unknown> });
      }
    }
  }
}
