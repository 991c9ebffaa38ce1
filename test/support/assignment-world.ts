/**
 * A small world around the assignments component for unit and property tests: a real Env, the
 * real registry, inbox, channels, buffers, correlation cache and connector, and helpers that play
 * the platform (API results), the plugins (pushes, receipts, IPC requests) and the connector
 * server (REGISTER_ACK, SEND_ACK, ERROR, close). Everything goes through the component's inputs;
 * the assertions read its outputs.
 */

import type {
  ApiOp,
  ApiResult,
  Failure,
  ProcessingStateEvent,
  UndispatchedChangedEvent,
} from "../../src/broker/api.ts";
import { createAssignments } from "../../src/broker/assignments/index.ts";
import { Connector } from "../../src/broker/connector/connector.ts";
import type { SendMessageFrame } from "../../src/broker/connector/frames.ts";
import { ReconnectingBuffers } from "../../src/broker/endpoints/buffers.ts";
import { IpcChannels } from "../../src/broker/endpoints/channels.ts";
import { CorrelationCache } from "../../src/broker/endpoints/correlation-cache.ts";
import { EndpointRegistry } from "../../src/broker/endpoints/registry.ts";
import { Env } from "../../src/broker/env.ts";
import { UndispatchedInbox } from "../../src/broker/inbound/inbox.ts";
import type { StorageOp } from "../../src/broker/types.ts";
import { type IpcRequest, Reply } from "../../src/broker/ipc/http.ts";
import type { AssignmentsComponent, BackgroundExchangeMode, InboxRow } from "../../src/broker/model.ts";
import {
  type BrokerOptions,
  NO_PLANTED_FAULTS,
  type PlantedFaults,
  resolveOptions,
} from "../../src/broker/options.ts";
import type { Output } from "../../src/broker/types.ts";
import { CountingRandom } from "./random.ts";

export interface ApiCall {
  id: number;
  op: ApiOp;
  args: unknown;
  answered: boolean;
  result?: ApiResult<ApiOp>;
}

export interface EndpointSpec {
  id: string;
  pid: number;
  channel?: number;
  receipts?: boolean;
  mode?: BackgroundExchangeMode;
  runtimeSessionId?: string;
  capabilities?: string[];
  state?: "active" | "reconnecting";
}

export const OK = { ok: true } as unknown as ApiResult<ApiOp>;
export const transient = (detail = "boom"): Failure => ({ ok: false, terminal: false, status: 503, detail });
export const terminal = (detail = "nope", status = 409): Failure => ({
  ok: false,
  terminal: true,
  status,
  detail,
});

export class AssignmentWorld {
  readonly env: Env;
  readonly registry: EndpointRegistry;
  readonly inbox: UndispatchedInbox;
  /** Inbox journal writes, each answered ok at once. */
  readonly journalOps: StorageOp[] = [];
  readonly channels: IpcChannels;
  readonly buffers: ReconnectingBuffers;
  readonly correlations: CorrelationCache;
  readonly connector: Connector;
  readonly component: AssignmentsComponent;
  /** Every output ever emitted, in order. */
  readonly history: Output[] = [];
  readonly calls = new Map<number, ApiCall>();
  readonly undispatchedEvents: UndispatchedChangedEvent[] = [];
  readonly logs: Array<{ event: string; fields?: Record<string, unknown> }> = [];
  private nextRequest = 1;
  private nextChannel = 100;

  constructor(opts: Partial<BrokerOptions> = {}, faults: Partial<PlantedFaults> = {}) {
    this.env = new Env(
      resolveOptions({ inboxCapacity: 4, ...opts }),
      new CountingRandom(7),
      { ...NO_PLANTED_FAULTS, ...faults },
      (_level, event, fields) => this.logs.push({ event, fields }),
    );
    this.env.nowMs = 1_000_000;
    this.registry = new EndpointRegistry(this.env.opts.correlationRingMax);
    this.inbox = new UndispatchedInbox(this.env.opts.inboxCapacity, (op, cb) => {
      this.journalOps.push(op);
      cb(true);
    });
    this.channels = new IpcChannels(this.env);
    this.buffers = new ReconnectingBuffers(this.env);
    this.correlations = new CorrelationCache(this.env, 86_400_000, 1000);
    this.connector = new Connector(this.env, { onMessage() {}, onConnected() {}, onDisconnected() {} }, 0);
    this.component = createAssignments(this.env, {
      registry: this.registry,
      inbox: this.inbox,
      channels: this.channels,
      buffers: this.buffers,
      connector: this.connector,
      correlations: this.correlations,
      enqueueUndispatched: (e) => this.undispatchedEvents.push(e),
      unregisterEndpoint: (id) => {
        this.registry.remove(id);
        this.component.onEndpointRemoved(id, "endpoint_lost");
      },
    });
    this.sync();
  }

  /** Move new outputs into the history and index API calls. */
  sync(): Output[] {
    const out = this.env.outputs;
    this.env.outputs = [];
    for (const o of out) {
      this.history.push(o);
      if (o.kind === "api_call") this.calls.set(o.id, { id: o.id, op: o.op, args: o.args, answered: false });
    }
    return out;
  }

  // ---- connector server ----

  /** Bring the connector up (first start, or the reconnect after a close). */
  connect(): void {
    if (!this.connector.socketOpen) {
      const at = this.env.dueAt({ kind: "reconnect" });
      if (at !== undefined) this.advance(at - this.env.nowMs);
      else this.connector.start();
    }
    this.connector.handleOpen();
    this.connector.handleFrame(JSON.stringify({ event: "REGISTER_ACK", status: "ok", protocolVersion: 4 }));
    this.sync();
  }

  sends(): SendMessageFrame[] {
    this.sync();
    const out: SendMessageFrame[] = [];
    for (const o of this.history) {
      if (o.kind === "connector_send" && o.frame.event === "SEND_MESSAGE") out.push(o.frame);
    }
    return out;
  }

  sendAck(messageId: string, status: "delivered" | "stored" = "delivered"): void {
    this.connector.handleFrame(JSON.stringify({ event: "SEND_ACK", messageId, status }));
    this.sync();
  }

  connectorError(messageId: string, code = "recipient_blocked"): void {
    this.connector.handleFrame(
      JSON.stringify({ event: "ERROR", code, message: `rejected: ${code}`, messageId }),
    );
    this.sync();
  }

  closeConnector(): void {
    this.connector.handleClosed(1006, "gone");
    this.sync();
  }

  // ---- platform ----

  pending(op?: ApiOp): ApiCall[] {
    this.sync();
    return [...this.calls.values()].filter((c) => !c.answered && (op === undefined || c.op === op));
  }

  /** Processing-state events posted, in post order. */
  states(filter?: (e: ProcessingStateEvent) => boolean): ProcessingStateEvent[] {
    this.sync();
    const out: ProcessingStateEvent[] = [];
    for (const c of this.calls.values()) {
      if (c.op !== "processing_state") continue;
      const e = c.args as ProcessingStateEvent;
      if (!filter || filter(e)) out.push(e);
    }
    return out;
  }

  answer(id: number, result: ApiResult<ApiOp> = OK): void {
    const c = this.calls.get(id);
    if (c) {
      c.answered = true;
      c.result = result;
    }
    this.env.completeApi(id, result);
    this.sync();
  }

  /** Answer every pending call (optionally of one op) with `result`, repeatedly until none is left. */
  answerAll(result: ApiResult<ApiOp> = OK, op?: ApiOp): void {
    for (let i = 0; i < 100; i++) {
      const p = this.pending(op);
      if (p.length === 0) return;
      for (const c of p) this.answer(c.id, result);
    }
  }

  advance(ms: number): void {
    this.env.nowMs += ms;
    this.env.expireDeadlines(this.env.nowMs);
    this.sync();
  }

  // ---- plugins and endpoints ----

  addEndpoint(spec: EndpointSpec): number {
    const channel = spec.channel ?? this.nextChannel++;
    this.channels.open(channel, spec.pid, spec.receipts === false ? [] : ["push_receipt_ack_v1"]);
    this.registry.add({
      endpointId: spec.id,
      nonce: `nonce-${spec.id}`,
      ownerToken: `owner-${spec.id}`,
      pluginPid: spec.pid,
      kind: "claude-code",
      channel,
      state: spec.state ?? "active",
      stateSinceMs: this.env.nowMs,
      capabilities: spec.capabilities ?? ["background_exchange_v1"],
      ...(spec.runtimeSessionId !== undefined && { runtimeSessionId: spec.runtimeSessionId }),
      backgroundExchangeMode: spec.mode ?? "resident_endpoint",
      headless: true,
    });
    this.sync();
    return channel;
  }

  /** Remove an endpoint the way the registry's lifecycle does. */
  removeEndpoint(id: string): void {
    this.registry.remove(id);
    this.component.onEndpointRemoved(id, "endpoint_lost");
    this.sync();
  }

  /** Push frames sent on `channel` carrying a push id. */
  pushes(channel?: number): Array<{ channel: number; pushId?: string; frame: Record<string, unknown> }> {
    this.sync();
    const out: Array<{ channel: number; pushId?: string; frame: Record<string, unknown> }> = [];
    for (const o of this.history) {
      if (o.kind !== "ipc_push" || o.frame.event !== "message_received") continue;
      if (channel !== undefined && o.channel !== channel) continue;
      const f = o.frame as unknown as Record<string, unknown>;
      out.push({ channel: o.channel, pushId: f.push_id as string | undefined, frame: f });
    }
    return out;
  }

  pushAck(channel: number, pushId: string): void {
    this.channels.handleMessage(channel, JSON.stringify({ event: "push_ack", push_id: pushId }));
    this.sync();
  }

  /** Acknowledge every unacknowledged push so far. */
  ackAllPushes(): void {
    for (const p of this.pushes()) if (p.pushId) this.pushAck(p.channel, p.pushId);
  }

  addRow(
    id: string,
    sourceMessageId: string | undefined = `src-${id}`,
    metadata: Record<string, unknown> = {},
  ): InboxRow {
    const row: InboxRow = {
      id,
      ...(sourceMessageId !== undefined && { source_message_id: sourceMessageId }),
      arrived_at: this.env.iso(),
      sender_address: `sender-of-${id}`,
      content: `content of ${id}`,
      content_type: "text",
      metadata,
      reason: "unaddressed",
    };
    if (!this.inbox.tryAdd(row)) throw new Error(`inbox full adding ${id}`);
    return row;
  }

  // ---- control events ----

  control(event: unknown): void {
    this.component.onControlEvent(event);
    this.sync();
  }

  dispatchEvent(
    key: string,
    undispatchedId: string,
    endpointId: string,
    extra: Record<string, unknown> = {},
  ) {
    return {
      type: "dispatch_undispatched",
      version: 1,
      idempotency_key: key,
      emitted_at: this.env.nowMs,
      undispatched_id: undispatchedId,
      source_message_id: `src-${undispatchedId}`,
      target_ref: {
        kind: "projection_endpoint",
        projection_endpoint_id: endpointId,
        background_exchange_mode: "resident_endpoint",
      },
      delivery_intent: "external_handoff",
      broker_projection_token: `token-${key}`,
      ...extra,
    };
  }

  acks(): Array<{ idempotency_key: string; status: string; detail?: string }> {
    this.sync();
    return this.history.filter((o) => o.kind === "control_ack") as Array<{
      idempotency_key: string;
      status: string;
      detail?: string;
    }>;
  }

  // ---- IPC requests ----

  request(method: "POST" | "GET", path: string, body: unknown): number {
    const route = this.component.routes.find((r) => r.method === method && r.pattern === path);
    if (!route) throw new Error(`no route ${method} ${path}`);
    const id = this.nextRequest++;
    const req: IpcRequest = {
      id,
      method,
      path,
      query: new URLSearchParams(),
      hasQuery: false,
      body,
      params: {},
    };
    route.handler(req, new Reply(this.env, id));
    this.sync();
    return id;
  }

  /** The response to request `id`, if it was answered. */
  response(id: number): { status: number; body: Record<string, unknown> } | undefined {
    this.sync();
    for (const o of this.history) {
      if (o.kind === "ipc_response" && o.id === id) {
        return { status: o.status, body: o.body as Record<string, unknown> };
      }
    }
    return undefined;
  }

  /** Everything an owned-endpoint request needs for endpoint `id` with pid `pid`. */
  owner(id: string, pid: number): Record<string, unknown> {
    return { endpoint_id: id, plugin_pid: pid, endpoint_owner_token: `owner-${id}` };
  }

  reportState(
    endpointId: string,
    pid: number,
    undispatchedId: string,
    key: string,
    state: string,
    extra = {},
  ) {
    return this.request("POST", "/v1/runtime/processing-state", {
      ...this.owner(endpointId, pid),
      source_message_id: `src-${undispatchedId}`,
      assignment_id: key,
      state,
      ...extra,
    });
  }

  reply(
    endpointId: string,
    pid: number,
    undispatchedId: string,
    key: string,
    rrid: string,
    content = "hi",
    extra = {},
  ) {
    return this.request("POST", "/v1/runtime/assignment-reply", {
      ...this.owner(endpointId, pid),
      source_message_id: `src-${undispatchedId}`,
      assignment_id: key,
      reply_request_id: rrid,
      content,
      ...extra,
    });
  }

  /**
   * Dispatch `undispatchedId` to `endpointId` under `key`, answer the assigned post ok, ack the
   * push, and (optionally) report adapter_accepted ok. Returns nothing; the world holds the trace.
   */
  assign(key: string, undispatchedId: string, endpointId: string, pid: number, accept = true): void {
    if (!this.inbox.has(undispatchedId)) this.addRow(undispatchedId);
    this.control(this.dispatchEvent(key, undispatchedId, endpointId));
    const assigned = this.pending("processing_state").filter(
      (c) => (c.args as ProcessingStateEvent).assignment_id === key,
    );
    for (const c of assigned) this.answer(c.id);
    this.ackAllPushes();
    if (accept) {
      this.reportState(endpointId, pid, undispatchedId, key, "adapter_accepted", { state_sequence: 2 });
      for (const c of this.pending("processing_state")) {
        if ((c.args as ProcessingStateEvent).state === "adapter_accepted") this.answer(c.id);
      }
    }
  }
}
