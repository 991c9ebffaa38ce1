/**
 * The checkers' shared, incrementally maintained picture of the run, built only from what the
 * target took in and put out plus the actors' facts. It is updated once per event *before* the
 * checkers run, so each checker stays a few lines of logic over cheap lookups.
 *
 * Per-process state (cursor, acceptance evidence, pending calls, endpoints, channels) is reset when
 * a new broker incarnation starts; message identities (seq ↔ message id) are global.
 *
 * Two notions of progress per message id, both per process, both read from the wire:
 * - *handed off*: a push acked by the plugin (or a push on a channel without receipts) or a buffer
 *   append that storage confirmed;
 * - *accepted* (PROTOCOL §1.8, the task reported success): an inbox add whose `undispatched_changed`
 *   post succeeded (or was answered `undispatched_row_settled`), a route-claim `skip`, or a
 *   successful `runtime_inbound_routed` post (the last step of an endpoint hand-off, and the whole
 *   of a delivered-cache hit).
 *
 * Tasks: which pipeline task an output belongs to is the output's `cause` (src/broker/types.ts): a
 * `task` cause names its message; a retry queue's post, a reattach drain's push or a surfaced
 * record's add belong to no task. A task *accepted* the message itself (`syncAcceptedIds`) when the
 * accepting post was its own; a queue's later success is a deferred acceptance. `inFlight(m)` says
 * whether a call, storage op or push receipt of `m`'s task is still unanswered, or the task waits
 * at its endpoint's hand-off gate (R5).
 *
 * A target that exposes no causes (`Output.cause` absent) is read from the wire alone: an output
 * belongs to the task of the message it names when an input step produced it, and to no task when
 * a deadline did. That cannot tell a queue's post or a drain's push from a task's, so the checkers
 * that judge task bookkeeping need the `causes` capability (sim/targets/index.ts); the others only
 * read what the wire shows.
 */

import { type ApiOp, type ApiResult, UNDISPATCHED_ROW_SETTLED } from "../../src/broker/api.ts";
import type { BrokerOptions } from "../../src/broker/options.ts";
import type { Input, Output, PushEnvelope, StorageOp } from "../../src/broker/types.ts";
import type { SimEvent } from "../kernel/events.ts";
import { pipelineMessageOf } from "./util.ts";
import { PluginModel } from "./view-plugins.ts";
import {
  type ApiCallRecord,
  type ChannelInfo,
  type EndpointModel,
  type IpcRequestRecord,
  type MessageInfo,
  type PushRecord,
  replyKey,
} from "./view-types.ts";

export * from "./view-types.ts";

export class View {
  t = 0;
  /** Current event. */
  ev: SimEvent | undefined;
  incarnation = 0;
  options: BrokerOptions | undefined;
  initialCursor = 0;
  /** The input whose outputs are being seen (`undefined` during an advance). */
  stepInput: Input | undefined;
  /** Parsed connector frame of the current step, when the step input is a connector frame. */
  stepFrame: Record<string, unknown> | undefined;

  socketOpen = false;
  /** Last DELIVERY_ACK written while the socket was open. */
  ackedOnOpen = 0;
  ackValuesOnOpen = new Set<number>();
  /** Srv: largest deliveredSeq received from the server. */
  serverDelivered = 0;
  skipSeqs = new Set<number>();
  acceptedIds = new Set<string>();
  acceptedSeqs = new Set<number>();
  /** Accepted by the task itself (not by a later retry-queue post): the id stays pending/seen. */
  syncAcceptedIds = new Set<string>();
  handedOffIds = new Set<string>();
  /** Undispatched ids the broker posted `assigned_to_runtime_target` for in this process. */
  assignedIds = new Set<string>();
  /** The reply key (`assignment|reply_request_id`) the current step works on, if any. */
  stepReplyKey: string | undefined;
  /** SEND_MESSAGE frame id → reply key, for frames written on behalf of an assignment reply. */
  readonly replyKeyOfFrame = new Map<string, string>();
  /** Set while the current event is a SEND_ACK for a reply's frame. */
  lastSendAckKey: string | undefined;
  /** The message whose pipeline task the current step's input answers (frame, result, receipt). */
  stepTask: string | undefined;
  private readonly inflightCount = new Map<string, number>();
  /** Storage op id → the message of the task that wrote it. */
  private readonly taskOfStorage = new Map<number, string>();
  /**
   * Messages whose route claim came back `route` to their own task and that the task has not pushed
   * or appended yet: it waits at the endpoint's hand-off gate (R5) behind a lower seq, with no call
   * out. Only the wire can say when the gate lets it go, so this is derived.
   */
  private readonly gated = new Map<string, string>();
  /** Time of the last `advance` step of this process: the only step in which deadlines run. */
  private lastAdvanceT = Number.NEGATIVE_INFINITY;

  readonly messages = new Map<string, MessageInfo>();
  readonly idOfSeq = new Map<number, string>();

  readonly apiCalls = new Map<number, ApiCallRecord>();
  readonly storageOps = new Map<number, StorageOp>();
  /** Set while the current event is an api_result / storage_result / ipc_response. */
  lastApiCall: ApiCallRecord | undefined;
  lastStorageOp: StorageOp | undefined;
  lastIpcRequest: IpcRequestRecord | undefined;

  readonly plugins = new PluginModel();
  readonly pushes = new Map<string, PushRecord>();
  /** Set while the current event is a push_ack input that matched a push. */
  lastAckedPush: PushRecord | undefined;

  readonly channels: Map<number, ChannelInfo> = this.plugins.channels;
  readonly currentChannel: Map<number, number> = this.plugins.currentChannel;
  readonly endpoints: Map<string, EndpointModel> = this.plugins.endpoints;
  readonly closedInStep: PluginModel["closedInStep"] = this.plugins.closedInStep;
  readonly ipcRequests: Map<number, IpcRequestRecord> = this.plugins.ipcRequests;

  /** Committed cursor C as the outside world can know it. */
  get committed(): number {
    return Math.max(this.initialCursor, this.ackedOnOpen, this.serverDelivered);
  }

  observe(ev: SimEvent): void {
    this.ev = ev;
    this.t = ev.t;
    this.plugins.t = ev.t;
    this.lastApiCall = undefined;
    this.lastStorageOp = undefined;
    this.lastIpcRequest = undefined;
    this.lastAckedPush = undefined;
    this.lastSendAckKey = undefined;
    switch (ev.k) {
      case "start":
        this.resetProcess(ev.incarnation, ev.initialCursor, ev.options);
        return;
      case "in":
        this.beginStep(ev.input);
        this.onInput(ev.input);
        return;
      case "advance":
        this.lastAdvanceT = ev.t;
        this.beginStep(undefined);
        return;
      case "out":
        this.onOutput(ev.output);
        return;
      default:
        return;
    }
  }

  /** Seq of a message id, if the broker ever received it. */
  seqOf(messageId: string): number | undefined {
    return this.messages.get(messageId)?.seq;
  }

  /** Is some call, storage op or push receipt of `messageId`'s pipeline task still unanswered? */
  inFlight(messageId: string): boolean {
    if ((this.inflightCount.get(messageId) ?? 0) > 0) return true;
    const gatedFor = this.gated.get(messageId);
    if (gatedFor !== undefined) {
      const e = this.endpoints.get(gatedFor);
      // A gated task whose endpoint is gone ends without hand-off when the gate lets it go, and the
      // gate lets it go only once every lower seq routed to that endpoint has left (R5): a lower
      // seq whose route claim is still out holds it in the line.
      if (e !== undefined && e.state !== "closed") return true;
      if (this.lowerClaimOut(gatedFor, messageId)) return true;
    }
    for (const p of this.pushes.values()) {
      if (p.task === messageId && !this.receiptExpired(p.t)) return true;
    }
    return false;
  }

  /**
   * Has the broker stopped waiting for this push's receipt? Its deadline (`pushReceiptTimeoutMs`
   * after the push) runs in the first `advance` at or after that time, before any event of the same
   * instant, so an ack then is ignored (PROTOCOL §3.4). After a forward clock jump, events queued
   * before the jump come before the overdue deadlines: until that `advance` a receipt still counts.
   */
  receiptExpired(pushedAt: number): boolean {
    return this.lastAdvanceT >= pushedAt + (this.options?.pushReceiptTimeoutMs ?? 2_000);
  }

  /** Is a route claim to `endpointId` for a message with a lower seq than `messageId` unanswered? */
  private lowerClaimOut(endpointId: string, messageId: string): boolean {
    const seq = this.seqOf(messageId);
    if (seq === undefined) return false;
    for (const c of this.apiCalls.values()) {
      if (c.op !== "inbound_route_claim") continue;
      const a = c.args as { source_message_id: string; routed_to_endpoint_id: string };
      if (a.routed_to_endpoint_id !== endpointId) continue;
      const s = this.seqOf(a.source_message_id);
      if (s !== undefined && s < seq) return true;
    }
    return false;
  }

  markAccepted(messageId: string, sync = true): void {
    if (sync) this.syncAcceptedIds.add(messageId);
    this.acceptedIds.add(messageId);
    const seq = this.messages.get(messageId)?.seq;
    if (seq !== undefined) this.acceptedSeqs.add(seq);
  }

  /** Undispatched ids with a platform post still unanswered (their state is in transition). */
  undispatchedInTransit(): Set<string> {
    const out = new Set<string>();
    for (const c of this.apiCalls.values()) {
      const a = c.args as { undispatched_id?: unknown };
      if (
        (c.op === "processing_state" || c.op === "undispatched_changed") &&
        typeof a.undispatched_id === "string"
      ) {
        out.add(a.undispatched_id);
      }
    }
    return out;
  }

  /** Endpoints (model) bound to `channel` that are not closed. */
  endpointsOn(channel: number): EndpointModel[] {
    return this.plugins.endpointsOn(channel);
  }

  private beginStep(input: Input | undefined): void {
    this.stepInput = input;
    this.stepFrame = undefined;
    this.stepTask = undefined;
    this.stepReplyKey = undefined;
    this.plugins.beginStep();
  }

  private resetProcess(incarnation: number, initialCursor: number, options: BrokerOptions): void {
    this.incarnation = incarnation;
    this.initialCursor = initialCursor;
    this.lastAdvanceT = Number.NEGATIVE_INFINITY;
    this.options = options;
    this.socketOpen = false;
    this.ackedOnOpen = 0;
    this.ackValuesOnOpen = new Set();
    this.serverDelivered = 0;
    this.skipSeqs = new Set();
    this.acceptedIds = new Set();
    this.acceptedSeqs = new Set();
    this.syncAcceptedIds = new Set();
    this.handedOffIds = new Set();
    this.assignedIds = new Set();
    this.taskOfStorage.clear();
    this.inflightCount.clear();
    this.gated.clear();
    this.stepTask = undefined;
    this.apiCalls.clear();
    this.storageOps.clear();
    this.pushes.clear();
    this.plugins.reset(options);
  }

  /**
   * The pipeline task (its message id) `o` belongs to: its cause's, or, for a target that exposes
   * no causes, the message it names (`named`) or the step's task, when an input step produced it.
   */
  private taskOf(o: Output, named: string | undefined): string | undefined {
    const c = o.cause;
    if (c !== undefined) return c.kind === "task" ? c.messageId : undefined;
    return this.stepInput === undefined ? undefined : (named ?? this.stepTask);
  }

  private onInput(input: Input): void {
    switch (input.kind) {
      case "connector_open":
        this.socketOpen = true;
        return;
      case "connector_closed":
        this.socketOpen = false;
        return;
      case "connector_frame":
        this.onFrame(input.text);
        return;
      case "api_result":
        this.onApiResult(input);
        return;
      case "storage_result": {
        const op = this.storageOps.get(input.id);
        if (!op) return;
        this.storageOps.delete(input.id);
        this.lastStorageOp = op;
        const task = this.taskOfStorage.get(input.id);
        this.taskOfStorage.delete(input.id);
        if (task !== undefined) this.settle(task);
        this.stepTask = task;
        if (input.ok && op.op === "append_buffer" && !op.record.envelope.runtimeAssignment) {
          const m = op.record.envelope.sourceMessageId;
          if (m !== undefined) this.handedOffIds.add(m);
        }
        return;
      }
      case "ipc_channel_open":
        this.plugins.channelOpened(input);
        return;
      case "ipc_channel_message":
        this.onChannelMessage(input.channel, input.text);
        return;
      case "ipc_channel_closed":
        this.plugins.channelClosed(input.channel, input.pluginAlive);
        for (const [id, p] of this.pushes) if (p.channel === input.channel) this.pushes.delete(id);
        return;
      case "ipc_request": {
        const req = this.plugins.ipcRequest(input);
        if (req.path === "/v1/runtime/assignment-reply") {
          this.stepReplyKey = replyKey(req.body.assignment_id, req.body.reply_request_id);
        }
        return;
      }
      case "control_event":
        this.plugins.controlEvent(input.event);
        return;
      default:
        return;
    }
  }

  private onApiResult(input: Extract<Input, { kind: "api_result" }>): void {
    const call = this.apiCalls.get(input.id);
    if (!call) return;
    this.apiCalls.delete(input.id);
    this.lastApiCall = call;
    if (call.task !== undefined) this.settle(call.task);
    this.stepTask = call.task;
    if (call.op === "processing_state") {
      const a = call.args as { state?: string; assignment_id?: unknown; reply_request_id?: unknown };
      if (a.state === "reply_requested") this.stepReplyKey = replyKey(a.assignment_id, a.reply_request_id);
    }
    if (input.result.ok) this.onApiOk(call, input.result);
    else if (
      call.op === "undispatched_changed" &&
      input.result.terminal &&
      input.result.code === UNDISPATCHED_ROW_SETTLED
    ) {
      // The platform already handled this row's message: the task counts it as accepted, like a
      // route-claim `skip`. As in `onApiOk`, an add of no task (a buffer surfaced at start-up)
      // leaves nothing pending/seen in the connector.
      const a = call.args as { action: string; source_message_id?: string; undispatched_id: string };
      if (a.action === "add")
        this.markAccepted(a.source_message_id ?? a.undispatched_id, call.task !== undefined);
    }
  }

  private onFrame(text: string): void {
    let f: Record<string, unknown>;
    try {
      f = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    this.stepFrame = f;
    if (f.event === "SEND_ACK") {
      if (typeof f.messageId === "string") this.lastSendAckKey = this.replyKeyOfFrame.get(f.messageId);
      return;
    }
    // Frames for a foreign runtime session must not change anything (S6 checks the broker agrees).
    if ((f.runtimeSessionId ?? undefined) !== this.options?.runtimeSessionId) return;
    if (f.event === "MESSAGE_RECEIVED" && typeof f.messageId === "string") {
      this.stepTask = f.messageId;
      const seq = typeof f.seq === "number" ? f.seq : undefined;
      if (!this.messages.has(f.messageId)) {
        const metadata = (f.metadata as Record<string, unknown> | undefined) ?? {};
        this.messages.set(f.messageId, { seq, metadata });
      }
      if (seq !== undefined) this.idOfSeq.set(seq, f.messageId);
      // A message bound to a live assignment counts as accepted without any post (A11, a deviation:
      // docs/deviations.md). No output shows that acceptance, so any message assigned in this
      // process may have been accepted that way (deferred: it proves nothing about S5).
      if (this.assignedIds.has(f.messageId)) this.markAccepted(f.messageId, false);
    } else if (f.event === "DELIVERY_SKIP" && typeof f.seq === "number") {
      this.skipSeqs.add(f.seq);
    } else if (f.event === "DELIVERY_CURSOR" && typeof f.deliveredSeq === "number") {
      if (f.deliveredSeq > this.serverDelivered) this.serverDelivered = f.deliveredSeq;
    }
  }

  private onApiOk(call: ApiCallRecord, result: ApiResult<ApiOp>): void {
    // A post of no task (a retry queue's, a surfacer's) completes work whose task already ended.
    const sync = call.task !== undefined;
    switch (call.op) {
      case "undispatched_changed": {
        const a = call.args as { action: string; source_message_id?: string; undispatched_id: string };
        if (a.action === "add") this.markAccepted(a.source_message_id ?? a.undispatched_id, sync);
        return;
      }
      case "inbound_route_claim": {
        const a = call.args as { source_message_id: string; routed_to_endpoint_id: string };
        if ((result as { action?: string }).action === "skip") this.markAccepted(a.source_message_id, sync);
        else if (sync) this.gated.set(a.source_message_id, a.routed_to_endpoint_id);
        return;
      }
      case "inbound_routed":
        this.markAccepted((call.args as { source_message_id: string }).source_message_id, sync);
        return;
      default:
        return;
    }
  }

  private onChannelMessage(channel: number, text: string): void {
    let m: Record<string, unknown>;
    try {
      m = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    if (m.event !== "push_ack" || typeof m.push_id !== "string") return;
    const p = this.pushes.get(m.push_id);
    if (!p || p.channel !== channel || !this.channels.get(channel)?.open) return;
    this.pushes.delete(m.push_id);
    // A late receipt proves the plugin got the frame, but the broker already counted the push as
    // not received and may have sent the message elsewhere since: it is no hand-off.
    if (this.receiptExpired(p.t)) return;
    this.lastAckedPush = p;
    const sm = p.envelope.sourceMessageId;
    if (!p.envelope.runtimeAssignment && sm !== undefined) this.handedOffIds.add(sm);
    // The receipt continues whatever pushed: a task, or (a drain push) the reattach.
    this.stepTask = p.task;
  }

  private onOutput(o: Output): void {
    switch (o.kind) {
      case "connector_send": {
        const f = o.frame;
        if (f.event === "DELIVERY_ACK" && this.socketOpen) {
          if (f.upToSeq > this.ackedOnOpen) this.ackedOnOpen = f.upToSeq;
          this.ackValuesOnOpen.add(f.upToSeq);
        } else if (f.event === "SEND_MESSAGE") {
          if (this.stepReplyKey !== undefined) this.replyKeyOfFrame.set(f.messageId, this.stepReplyKey);
          else if (this.stepInput?.kind === "ipc_request" && this.stepInput.path === "/v1/send") {
            this.plugins.addToRing(f.metadata);
          }
        }
        return;
      }
      case "api_call": {
        const task = this.taskOf(o, pipelineMessageOf(o));
        this.apiCalls.set(o.id, { id: o.id, op: o.op, args: o.args, cause: o.cause, task, t: this.t });
        if (task !== undefined) this.attribute(task);
        if (o.op === "transition_state" && o.args.state === "closed")
          this.plugins.closeEndpoint(o.args.endpoint_id);
        // The broker unregisters an endpoint as it removes it; the `closed` projection may come later
        // (one projection in flight per endpoint, E4), so the unregister marks the removal.
        if (o.op === "unregister") this.plugins.closeEndpoint(o.args.endpoint_id);
        // The broker binds the message to the assignment as it posts `assigned_to_runtime_target`.
        // A task already running for that message (waiting on a lookup, say) may then find it bound
        // and count it accepted without a frame in between, so the binding itself counts as a
        // (deferred) acceptance too.
        if (o.op === "processing_state" && o.args.state === "assigned_to_runtime_target") {
          const id = o.args.undispatched_id;
          if (id !== undefined) {
            this.assignedIds.add(id);
            if (this.messages.has(id)) this.markAccepted(id, false);
          }
        }
        return;
      }
      case "storage": {
        this.storageOps.set(o.id, o.op);
        const task = this.taskOf(o, pipelineMessageOf(o));
        if (task !== undefined) {
          if (o.op.op === "append_buffer") this.gated.delete(task);
          this.taskOfStorage.set(o.id, task);
          this.attribute(task);
        }
        return;
      }
      case "ipc_push": {
        if (o.frame.event !== "message_received") return;
        const ch = this.channels.get(o.channel);
        const env = o.frame as PushEnvelope & { push_id?: string };
        const task = this.taskOf(o, pipelineMessageOf(o));
        if (task !== undefined) this.gated.delete(task);
        if (o.frame.push_id !== undefined && ch?.receipts) {
          this.pushes.set(o.frame.push_id, { channel: o.channel, envelope: env, t: this.t, task });
        } else if (ch?.open && !env.runtimeAssignment && env.sourceMessageId !== undefined) {
          this.handedOffIds.add(env.sourceMessageId);
        }
        return;
      }
      case "ipc_response":
        this.lastIpcRequest = this.plugins.ipcResponse(o);
        return;
      case "ipc_close_channel":
        this.plugins.channelClosedByBroker(o.channel);
        return;
      default:
        return;
    }
  }

  private attribute(m: string): void {
    this.inflightCount.set(m, (this.inflightCount.get(m) ?? 0) + 1);
  }

  private settle(m: string): void {
    const n = (this.inflightCount.get(m) ?? 1) - 1;
    if (n <= 0) this.inflightCount.delete(m);
    else this.inflightCount.set(m, n);
  }
}
