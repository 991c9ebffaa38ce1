/**
 * The checkers' shared, incrementally maintained picture of the run, built only from what the core
 * took in and put out plus the actors' facts. It is updated once per event *before* the checkers
 * run, so each checker stays a few lines of logic over cheap lookups.
 *
 * Per-process state (cursor, acceptance evidence, pending calls, endpoints, channels) is reset when
 * a new broker incarnation starts; message identities (seq ↔ message id) are global.
 *
 * Two notions of progress per message id, both per process:
 * - *handed off*: a push acked by the plugin (or a push on a channel without receipts) or a buffer
 *   append that storage confirmed;
 * - *accepted* (PROTOCOL §1.8, the task reported success): an inbox add whose `undispatched_changed`
 *   post succeeded (or was answered `undispatched_row_settled`), a route-claim `skip`, or a successful `runtime_inbound_routed` post (the last
 *   step of an endpoint hand-off, and the whole of a delivered-cache hit).
 *
 * Task attribution: outputs produced while handling a message's frame, or while handling the answer
 * to one of that message's calls (API result, storage result, push receipt), belong to that
 * message's pipeline task. `inFlight(m)` says whether any of them is still unanswered.
 */

import { type ApiArgs, type ApiOp, type ApiResult, UNDISPATCHED_ROW_SETTLED } from "../../src/broker/api.ts";
import type { BrokerOptions } from "../../src/broker/options.ts";
import type { Input, Output, PushEnvelope, StorageOp } from "../../src/broker/types.ts";
import type { SimEvent } from "../kernel/events.ts";
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

  // connector (this process)
  socketOpen = false;
  /** Last DELIVERY_ACK written while the socket was open. */
  ackedOnOpen = 0;
  ackValuesOnOpen = new Set<number>();
  /** Srv: largest deliveredSeq received from the server. */
  serverDelivered = 0;
  skipSeqs = new Set<number>();
  acceptedIds = new Set<string>();
  acceptedSeqs = new Set<number>();
  /** Accepted by the task itself (not by a later emitter retry): the id stays pending/seen. */
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
  /** The message whose pipeline task the current step belongs to. */
  stepTask: string | undefined;
  private readonly taskOfCall = new Map<number, string>();
  private readonly taskOfStorage = new Map<number, string>();
  private readonly inflightCount = new Map<string, number>();
  /**
   * Messages whose route claim came back `route` and that have not been pushed or appended yet:
   * their task is waiting at the endpoint's hand-off gate (R5) behind a lower seq, with no call out.
   */
  private readonly gated = new Map<string, string>();
  /**
   * Messages a task appended to a reconnecting buffer in this process. A later push of one that is
   * not waiting at the hand-off gate is the buffer's drain, not a pipeline hand-off (a replay after
   * the append hits the delivered-route cache and pushes nothing).
   */
  private readonly bufferedIds = new Set<string>();
  /**
   * Routed events the retry queue owns, per message: a direct `inbound_routed` post that failed
   * transiently ends its task not accepted (payload id released) and hands the event to the queue.
   * The queue drains one post at a time; while it owes a message an event and has no post of it out,
   * the next routed post of that message is the queue's (no task; its success is a deferred accept).
   */
  private readonly routedOwed = new Map<string, number>();
  private readonly routedQueuedCalls = new Set<number>();
  private readonly routedQueuedOut = new Set<string>();
  /** Reattach request id → when its endpoint became reconnecting (restored if the reattach fails). */
  private readonly reattachFrom = new Map<number, number>();
  /** Set while the current step handles the answer to an `inbound_routed` post of this message. */
  private stepRoutedFor: string | undefined;
  /**
   * Set while the current step handles the answer to a post of the retry queue: whatever the
   * answer, the queue moves on to its next item in the same step, which may be another message's.
   */
  private stepRoutedQueueAnswer = false;
  /** Time of the last `advance` step of this process: the only step in which deadlines run. */
  private lastAdvanceT = Number.NEGATIVE_INFINITY;

  // global message identity
  readonly messages = new Map<string, MessageInfo>();
  readonly idOfSeq = new Map<number, string>();

  // pending requests (this process)
  readonly apiCalls = new Map<number, ApiCallRecord>();
  readonly storageOps = new Map<number, StorageOp>();
  readonly ipcRequests = new Map<number, IpcRequestRecord>();
  /** Set while the current event is an api_result / storage_result / ipc_response. */
  lastApiCall: ApiCallRecord | undefined;
  lastStorageOp: StorageOp | undefined;
  lastIpcRequest: IpcRequestRecord | undefined;

  // plugins
  readonly channels = new Map<number, ChannelInfo>();
  readonly currentChannel = new Map<number, number>();
  readonly pushes = new Map<string, PushRecord>();
  /** Set while the current event is a push_ack input that matched a push. */
  lastAckedPush: PushRecord | undefined;
  endpoints = new Map<string, EndpointModel>();
  /** Endpoints the model closed during the current step, with the state they were in. */
  closedInStep: Array<{ id: string; prevState: "active" | "reconnecting"; prevSinceT: number }> = [];

  /** Committed cursor C as the outside world can know it. */
  get committed(): number {
    return Math.max(this.initialCursor, this.ackedOnOpen, this.serverDelivered);
  }

  observe(ev: SimEvent): void {
    this.ev = ev;
    this.t = ev.t;
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
        this.stepRoutedFor = undefined;
        this.stepRoutedQueueAnswer = false;
        this.stepInput = ev.input;
        this.stepFrame = undefined;
        this.stepTask = undefined;
        this.stepReplyKey = undefined;
        if (this.closedInStep.length > 0) this.closedInStep = [];
        this.onInput(ev.input);
        return;
      case "advance":
        this.lastAdvanceT = ev.t;
        this.stepRoutedFor = undefined;
        this.stepRoutedQueueAnswer = false;
        this.stepInput = undefined;
        this.stepFrame = undefined;
        this.stepTask = undefined;
        this.stepReplyKey = undefined;
        if (this.closedInStep.length > 0) this.closedInStep = [];
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
      // A drain push belongs to the reattach that drains the endpoint's buffer, not to a task: the
      // task that buffered the message ended with its routed post, and if that post failed the id
      // was released, so a replay during the drain is a new task (it re-posts the cached routed
      // event, PROTOCOL §1.8 step 1).
      if (
        p.envelope.sourceMessageId === messageId &&
        !p.envelope.runtimeAssignment &&
        !p.drain &&
        !this.receiptExpired(p)
      ) {
        return true;
      }
    }
    return false;
  }

  /**
   * Has the broker stopped waiting for this push's receipt? Its receipt deadline is due
   * `pushReceiptTimeoutMs` after the push and runs in the first `advance` step at or after that
   * time; the kernel runs a due deadline before any event of the same instant, so an ack arriving
   * then finds the push already settled as not received (PROTOCOL §3.4) and is ignored. After a
   * forward clock jump, though, events queued before the jump are handled before the overdue
   * deadlines run: until that `advance` the broker still waits for the receipt (the task is running,
   * its payload id pending) and a receipt arriving meanwhile still counts.
   */
  receiptExpired(p: PushRecord): boolean {
    return this.lastAdvanceT >= p.t + (this.options?.pushReceiptTimeoutMs ?? 2_000);
  }

  /** Is a route claim to `endpointId` for a message with a lower seq than `messageId` unanswered? */
  private lowerClaimOut(endpointId: string, messageId: string): boolean {
    const seq = this.seqOf(messageId);
    if (seq === undefined) return false;
    for (const c of this.apiCalls.values()) {
      if (c.op !== "inbound_route_claim") continue;
      const a = c.args as ApiArgs["inbound_route_claim"];
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
    const out: EndpointModel[] = [];
    for (const e of this.endpoints.values()) if (e.channel === channel && e.state !== "closed") out.push(e);
    return out;
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
    this.taskOfCall.clear();
    this.taskOfStorage.clear();
    this.inflightCount.clear();
    this.gated.clear();
    this.bufferedIds.clear();
    this.routedOwed.clear();
    this.routedQueuedCalls.clear();
    this.routedQueuedOut.clear();
    this.stepTask = undefined;
    this.apiCalls.clear();
    this.storageOps.clear();
    this.ipcRequests.clear();
    this.reattachFrom.clear();
    this.channels.clear();
    this.currentChannel.clear();
    this.pushes.clear();
    this.endpoints = new Map();
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
      case "api_result": {
        const call = this.apiCalls.get(input.id);
        if (!call) return;
        this.apiCalls.delete(input.id);
        this.lastApiCall = call;
        this.stepTask = this.settle(this.taskOfCall, input.id);
        if (call.op === "processing_state") {
          const a = call.args as ApiArgs["processing_state"];
          if (a.state === "reply_requested")
            this.stepReplyKey = replyKey(a.assignment_id, a.reply_request_id);
        }
        if (call.op === "inbound_routed") {
          const m = (call.args as ApiArgs["inbound_routed"]).source_message_id;
          this.stepRoutedFor = m;
          const queued = this.routedQueuedCalls.delete(call.id);
          if (queued) this.routedQueuedOut.delete(m);
          this.stepRoutedQueueAnswer = queued;
          const owed = this.routedOwed.get(m) ?? 0;
          if (queued && (input.result.ok || input.result.terminal)) {
            if (owed <= 1) this.routedOwed.delete(m);
            else this.routedOwed.set(m, owed - 1);
          } else if (!queued && !input.result.ok && !input.result.terminal) {
            this.routedOwed.set(m, owed + 1);
          }
        }
        if (input.result.ok) this.onApiOk(call, input.result);
        else if (
          call.op === "undispatched_changed" &&
          input.result.terminal &&
          input.result.code === UNDISPATCHED_ROW_SETTLED
        ) {
          // The platform already handled this row's message: the task counts it as accepted, like a
          // route-claim `skip`. As in `onApiOk`, an add with no task (a buffer surfaced at start-up)
          // leaves nothing pending/seen in the connector.
          const a = call.args as ApiArgs["undispatched_changed"];
          if (a.action === "add")
            this.markAccepted(
              a.source_message_id ?? a.undispatched_id,
              call.cause !== undefined && this.stepTask !== undefined,
            );
        }
        return;
      }
      case "storage_result": {
        const op = this.storageOps.get(input.id);
        if (!op) return;
        this.storageOps.delete(input.id);
        this.lastStorageOp = op;
        this.stepTask = this.settle(this.taskOfStorage, input.id);
        if (input.ok && op.op === "append_buffer" && !op.record.envelope.runtimeAssignment) {
          const m = op.record.envelope.sourceMessageId;
          if (m !== undefined) this.handedOffIds.add(m);
        }
        return;
      }
      case "ipc_channel_open": {
        const prev = this.currentChannel.get(input.pid);
        if (prev !== undefined && prev !== input.channel) {
          const p = this.channels.get(prev);
          if (p?.open) {
            p.open = false;
            p.displaced = true;
          }
        }
        this.channels.set(input.channel, {
          pid: input.pid,
          receipts: input.capabilities.includes("push_receipt_ack_v1"),
          open: true,
          displaced: false,
        });
        this.currentChannel.set(input.pid, input.channel);
        return;
      }
      case "ipc_channel_message":
        this.onChannelMessage(input.channel, input.text);
        return;
      case "ipc_channel_closed":
        this.onChannelClosed(input.channel, input.pluginAlive);
        return;
      case "ipc_request":
        this.onIpcRequest(input);
        return;
      case "control_event": {
        const e = input.event as Record<string, unknown> | null;
        if (e && e.type === "force_unregister" && typeof e.endpoint_id === "string") {
          this.closeEndpoint(e.endpoint_id);
        }
        return;
      }
      default:
        return;
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
      // The broker counts a message bound to a live assignment as accepted without posting anything
      // (pipeline point 10, A11). The view does not follow assignments to their end, so any message
      // assigned in this process may be accepted that way (deferred: it proves nothing about S5).
      if (this.assignedIds.has(f.messageId)) this.markAccepted(f.messageId, false);
    } else if (f.event === "DELIVERY_SKIP" && typeof f.seq === "number") {
      this.skipSeqs.add(f.seq);
    } else if (f.event === "DELIVERY_CURSOR" && typeof f.deliveredSeq === "number") {
      if (f.deliveredSeq > this.serverDelivered) this.serverDelivered = f.deliveredSeq;
    }
  }

  private onApiOk(call: ApiCallRecord, result: ApiResult<ApiOp>): void {
    // A post made by an emitter retry (an `advance` step) completes a task that already ended.
    const sync = call.cause !== undefined;
    switch (call.op) {
      case "undispatched_changed": {
        const a = call.args as ApiArgs["undispatched_changed"];
        // Only a pipeline task's own add leaves the id pending/seen in the connector; an add with no
        // task (a buffer surfaced at start-up or after its endpoint's removal, L5) does not.
        if (a.action === "add")
          this.markAccepted(a.source_message_id ?? a.undispatched_id, sync && this.stepTask !== undefined);
        return;
      }
      case "inbound_route_claim": {
        const a = call.args as ApiArgs["inbound_route_claim"];
        if ((result as { action?: string }).action === "skip") this.markAccepted(a.source_message_id, sync);
        else if (sync) this.gated.set(a.source_message_id, a.routed_to_endpoint_id);
        return;
      }
      case "inbound_routed":
        this.markAccepted((call.args as ApiArgs["inbound_routed"]).source_message_id, sync);
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
    if (this.receiptExpired(p)) return;
    this.lastAckedPush = p;
    const sm = p.envelope.sourceMessageId;
    if (!p.envelope.runtimeAssignment && sm !== undefined) {
      this.handedOffIds.add(sm);
      // A drain push's receipt finishes the reattach (buffer deleted, `active` projected), not the
      // task that buffered the message: its posts are no task's.
      if (!p.drain) this.stepTask = sm;
    }
  }

  private onChannelClosed(channel: number, pluginAlive: boolean): void {
    const ch = this.channels.get(channel);
    if (!ch) return;
    const displaced = ch.displaced;
    ch.open = false;
    if (this.currentChannel.get(ch.pid) === channel) this.currentChannel.delete(ch.pid);
    for (const [id, p] of this.pushes) if (p.channel === channel) this.pushes.delete(id);
    if (displaced) return;
    for (const e of this.endpoints.values()) {
      if (e.channel !== channel || e.state !== "active") continue;
      if (pluginAlive) {
        e.state = "reconnecting";
        e.sinceT = this.t;
      } else {
        this.closeEndpoint(e.id);
      }
    }
  }

  private onIpcRequest(input: Extract<Input, { kind: "ipc_request" }>): void {
    const body = (typeof input.body === "object" && input.body !== null ? input.body : {}) as Record<
      string,
      unknown
    >;
    const path = input.path;
    this.ipcRequests.set(input.id, { id: input.id, method: input.method, path, body, t: this.t });
    if (path === "/v1/runtime/assignment-reply") {
      this.stepReplyKey = replyKey(body.assignment_id, body.reply_request_id);
    }
    if (input.method === "DELETE" && path.startsWith("/v1/endpoint/")) {
      this.closeEndpoint(decodeURIComponent(path.slice("/v1/endpoint/".length)));
    } else if (input.method === "POST" && path.endsWith("/reattach")) {
      const id = decodeURIComponent(path.slice("/v1/endpoint/".length, -"/reattach".length));
      const e = this.endpoints.get(id);
      const pid = body.plugin_pid;
      const ch = typeof pid === "number" ? this.currentChannel.get(pid) : undefined;
      if (e && e.state === "reconnecting" && e.pid === pid && ch !== undefined) {
        this.reattachFrom.set(input.id, e.sinceT);
        e.state = "active";
        e.channel = ch;
        e.sinceT = this.t;
      }
    }
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
            this.addToRing(f.metadata);
          }
        }
        return;
      }
      case "api_call": {
        // The queue posts from its backoff timer (an advance), right after the answer to its previous
        // post (of any message), or in the step that answers any task's failed direct post: that
        // enqueue may evict the head the queue was backing off for and post the next one, of another
        // message. A task's direct post comes from any other step.
        const routedStep =
          o.op === "inbound_routed" &&
          (this.stepInput === undefined || this.stepRoutedQueueAnswer || this.stepRoutedFor !== undefined);
        const queued =
          routedStep &&
          o.op === "inbound_routed" &&
          (this.routedOwed.get(o.args.source_message_id) ?? 0) > 0 &&
          !this.routedQueuedOut.has(o.args.source_message_id);
        if (queued && o.op === "inbound_routed") {
          this.routedQueuedCalls.add(o.id);
          this.routedQueuedOut.add(o.args.source_message_id);
        }
        const cause = queued ? undefined : this.stepInput;
        this.apiCalls.set(o.id, { id: o.id, op: o.op, args: o.args, cause, t: this.t });
        // A gated task resumes in another message's step: a call naming its message is its own.
        const named =
          o.op === "inbound_route_claim" || o.op === "inbound_routed" ? o.args.source_message_id : undefined;
        const owner = named ?? this.stepTask;
        if (owner !== undefined && !queued) this.attribute(this.taskOfCall, o.id, owner);
        if (o.op === "transition_state" && o.args.state === "closed") this.closeEndpoint(o.args.endpoint_id);
        // The broker unregisters an endpoint as it removes it; the `closed` projection may come later
        // (one projection in flight per endpoint, E4), so the unregister marks the removal.
        if (o.op === "unregister") this.closeEndpoint(o.args.endpoint_id);
        // The broker binds the message to the assignment as it posts `assigned_to_runtime_target`.
        // A task already running for that message (waiting on a lookup, say) may then find it bound
        // and count it accepted without a frame in between, so the
        // binding itself counts as a (deferred) acceptance too.
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
        let owner = this.stepTask;
        if (o.op.op === "append_buffer" && o.op.record.envelope.sourceMessageId !== undefined) {
          this.gated.delete(o.op.record.envelope.sourceMessageId);
          if (!o.op.record.envelope.runtimeAssignment) {
            owner = o.op.record.envelope.sourceMessageId;
            this.bufferedIds.add(owner);
          }
        }
        if (owner !== undefined) this.attribute(this.taskOfStorage, o.id, owner);
        return;
      }
      case "ipc_push": {
        if (o.frame.event !== "message_received") return;
        const ch = this.channels.get(o.channel);
        const env = o.frame as PushEnvelope & { push_id?: string };
        const sm = env.sourceMessageId;
        const drain = sm !== undefined && !this.gated.has(sm) && this.bufferedIds.has(sm);
        if (sm !== undefined) this.gated.delete(sm);
        if (o.frame.push_id !== undefined && ch?.receipts) {
          this.pushes.set(o.frame.push_id, { channel: o.channel, envelope: env, t: this.t, drain });
        } else if (ch?.open && !env.runtimeAssignment && env.sourceMessageId !== undefined) {
          this.handedOffIds.add(env.sourceMessageId);
        }
        return;
      }
      case "ipc_response": {
        const req = this.ipcRequests.get(o.id);
        if (!req) return;
        this.ipcRequests.delete(o.id);
        this.lastIpcRequest = req;
        if (o.status === 200 && req.path === "/v1/endpoint/register") this.onRegistered(req, o.body);
        else if (o.status !== 200 && req.path.endsWith("/reattach")) {
          const id = decodeURIComponent(req.path.slice("/v1/endpoint/".length, -"/reattach".length));
          const e = this.endpoints.get(id);
          const since = this.reattachFrom.get(o.id);
          // Only the request that made the endpoint active in this view is undone: a second reattach
          // in the same instant, refused because the first one already reattached it (409
          // `endpoint_not_reconnecting`), changed nothing.
          if (e && e.state === "active" && since !== undefined && e.sinceT === req.t) {
            // A refused reattach (unknown endpoint, pid mismatch, …) changed nothing: the endpoint
            // has been reconnecting since before the request and its grace still runs from then.
            // Only a failed drain (503) applies `ipc_close` again, which re-arms grace from now.
            e.state = "reconnecting";
            e.sinceT = o.status === 503 ? this.t : since;
          }
        }
        this.reattachFrom.delete(o.id);
        return;
      }
      case "ipc_close_channel": {
        const ch = this.channels.get(o.channel);
        if (ch) ch.open = false;
        return;
      }
      default:
        return;
    }
  }

  private attribute(map: Map<number, string>, id: number, m: string): void {
    map.set(id, m);
    this.inflightCount.set(m, (this.inflightCount.get(m) ?? 0) + 1);
  }

  private settle(map: Map<number, string>, id: number): string | undefined {
    const m = map.get(id);
    if (m === undefined) return undefined;
    map.delete(id);
    const n = (this.inflightCount.get(m) ?? 1) - 1;
    if (n <= 0) this.inflightCount.delete(m);
    else this.inflightCount.set(m, n);
    return m;
  }

  private onRegistered(req: IpcRequestRecord, body: unknown): void {
    const b = body as Record<string, unknown>;
    if (typeof b?.endpoint_id !== "string") return;
    const pid = typeof req.body.plugin_pid === "number" ? req.body.plugin_pid : 0;
    // The core's register reading: `runtime_capabilities` (SDK name) ∪ `capabilities` (alias);
    // headless ⇔ `execution_surface: "headless"` (SDK) or `headless: true` (alias).
    const list = (v: unknown) =>
      Array.isArray(v) ? v.filter((c): c is string => typeof c === "string") : [];
    const caps = [
      ...new Set([...list(req.body.runtime_capabilities), ...list(req.body.capabilities)]),
    ].filter((c) => c !== "remote_spawn_v1");
    this.endpoints.set(b.endpoint_id, {
      id: b.endpoint_id,
      pid,
      channel: this.currentChannel.get(pid),
      state: "active",
      sinceT: this.t,
      capabilities: caps,
      mode:
        typeof req.body.background_exchange_mode === "string" ? req.body.background_exchange_mode : undefined,
      headless: req.body.headless === true || req.body.execution_surface === "headless",
      ring: [],
      ringSet: new Set(),
    });
  }

  private closeEndpoint(id: string): void {
    const e = this.endpoints.get(id);
    if (e && e.state !== "closed") {
      this.closedInStep.push({ id, prevState: e.state, prevSinceT: e.sinceT });
      e.state = "closed";
      e.sinceT = this.t;
    }
  }

  private addToRing(metadata: Record<string, unknown> | undefined): void {
    const src = metadata?.source_endpoint_id;
    const corr = metadata?.correlation_id;
    if (typeof src !== "string" || typeof corr !== "string") return;
    const e = this.endpoints.get(src);
    if (!e || e.ringSet.has(corr)) return;
    e.ring.push(corr);
    e.ringSet.add(corr);
    const max = this.options?.correlationRingMax ?? 1024;
    while (e.ring.length > max) e.ringSet.delete(e.ring.shift()!);
  }
}
