/**
 * A plugin process hosting runtime endpoints, as the simulator plays it. It talks to the broker only
 * through its host (IPC requests, one `/v1/stream` channel) and never sees the core directly.
 *
 * Theory of operation:
 * 1. Start: initialize (retried until answered, as the SDK's connect does), then open the stream
 *    (advertising `push_receipt_ack_v1` when receipt-capable) and, once it is open (the broker has
 *    it; the SDK awaits the socket's `open`), register every endpoint with the published SDK's field names (`runtime_capabilities`,
 *    `execution_surface`, `session_name`, `client_kind`). A register that races ahead of the channel
 *    (400 `ipc_channel_missing`) is retried.
 * 2. Pushes are acked (`push_ack`) after a short delay — only when the initialize answer's
 *    `server_capabilities` object has `push_receipt_ack_v1 === true`, which is the SDK's condition
 *    (it ignores a `push_id` otherwise). A push carrying a `runtimeAssignment` starts
 *    the adapter flow: `adapter_accepted`, `processing_started`, then an assignment reply with a
 *    fresh `reply_request_id`, retried with the SAME id on retryable 503s.
 * 3. Plain pushes may be answered with `/v1/send` (the platform can later send a continuation with
 *    the broker-issued correlation id).
 * 4. Channel loss: a planned reconnect closes the channel, waits, opens a new one and reattaches
 *    (or re-registers, like the shipped client); an unplanned loss (broker closed it, broker crash)
 *    reopens and re-registers.
 * 4a. Answer choices (`answerChoices`, set by the `client-answers` fault module, docs/world-model.md):
 *    after each answer to an assignment reply the plugin draws what a real adapter may do next —
 *    repeat the same request at once, retry it (same `reply_request_id`) after a backoff whether or
 *    not the answer said retryable, abandon it, reconnect its channel (reattach) or re-register
 *    and then retry, or (only after answers that say nothing was sent) retry with a fresh
 *    `reply_request_id`. After a success the choices are: repeat it, reconnect, re-register, or
 *    nothing. Without `answerChoices` the plugin keeps the plain policy of point 2.
 * 4b. Extra client calls (`extras`, set by the `client-calls` fault module, docs/world-model.md):
 *    an assignment push may be answered `processing_failed` instead of accepted (retryable or not),
 *    accepted work may end in `processing_failed` instead of a reply, and a `/v1/send` may carry a
 *    client `traceparent` (valid, or upper-case and so invalid) and a `require_live` flag. Local
 *    dispatches (`/v1/dispatch`) and receipt-less plugins live in `plugin-extras.ts`.
 * 5. Adapter-side state sequences start at 2 (the broker's `assigned` is 1) and only grow — except
 *    that with `staleSequenceProbability` a `processing_started` is reported with the adapter's
 *    first sequence (2) again, as an adapter that lost count would: the broker must raise it (A1).
 */

import type { PushFrame, RuntimeAssignmentRef } from "../../src/broker/types.ts";
import type { Fact } from "../kernel/events.ts";
import type { Stream } from "../kernel/prng.ts";
import { sendExtras } from "./plugin-extras.ts";

export interface EndpointSpec {
  kind: string;
  capabilities: string[];
  backgroundExchangeMode?: "resident_endpoint" | "adapter_managed_turn";
  runtimeSessionId?: string;
  headless?: boolean;
}

export interface PluginBehaviour {
  receiptCapable: boolean;
  ackDelayMs: [number, number];
  acceptDelayMs: [number, number];
  workMs: [number, number];
  /** Probability of answering a plain push with `/v1/send`. */
  sendProbability: number;
  replyRetryMs: number;
  replyRetriesMax: number;
  /** After a successful reply, resend it with different content (must get 409) … */
  conflictingReplyProbability: number;
  /** … or resend it unchanged (must get the same result). */
  repeatReplyProbability: number;
  /** Probability that `processing_started` carries a stale `state_sequence` (theory, point 5). */
  staleSequenceProbability: number;
  /** Planned channel loss: at `atMs` (virtual, since start) close, reopen after `downMs`. */
  reconnect?: { atMs: number; downMs: number; mode: "reattach" | "reregister" };
}

export const DEFAULT_PLUGIN_BEHAVIOUR: PluginBehaviour = {
  receiptCapable: true,
  ackDelayMs: [0, 3],
  acceptDelayMs: [5, 200],
  workMs: [50, 2_000],
  sendProbability: 0.1,
  replyRetryMs: 500,
  replyRetriesMax: 20,
  conflictingReplyProbability: 0,
  repeatReplyProbability: 0,
  staleSequenceProbability: 0,
};

/** What a plugin may do after an answer to its reply (weights; docs/world-model.md). */
export interface AnswerChoices {
  repeatWeight: number;
  retryWeight: number;
  abandonWeight: number;
  reconnectWeight: number;
  reregisterWeight: number;
  freshKeyWeight: number;
  /** After a success: probability of doing anything at all (repeat, reconnect, re-register). */
  afterSuccessProbability: number;
}

/** Extra legal client calls (theory, point 4b; docs/world-model.md). */
export interface ClientExtras {
  /** An assignment push is answered `processing_failed` instead of `adapter_accepted`. */
  failBeforeAcceptProbability: number;
  /** Accepted work ends in `processing_failed` instead of a reply. */
  failAfterAcceptProbability: number;
  /** A `processing_failed` says `retryable: true`. */
  retryableProbability: number;
  /** A `/v1/send` carries a client `traceparent` (half of them upper-case, which is invalid). */
  traceparentProbability: number;
  /** A `/v1/send` carries `require_live` (true or false). */
  requireLiveProbability: number;
}

export type AnswerAction = "repeat" | "retry" | "abandon" | "reconnect" | "reregister" | "fresh-key";

export interface PluginSpec {
  pid: number;
  startAtMs: number;
  endpoints: EndpointSpec[];
  behaviour: PluginBehaviour;
}

/** What the plugin can do to the world. The simulator implements it; a real client could too. */
export interface PluginHost {
  readonly nowMs: number;
  request(pid: number, method: "GET" | "POST" | "DELETE", path: string, body: unknown, cb: Responder): void;
  /**
   * Open a `/v1/stream` channel; returns its id. `onOpen` runs once the stream is open (the broker
   * has it), never if it closes first.
   */
  openChannel(pid: number, capabilities: string[], onOpen: () => void): number;
  sendOnChannel(pid: number, channel: number, text: string): void;
  closeChannel(pid: number, channel: number): void;
  after(delayMs: number, fn: () => void): void;
  fact(fact: Fact): void;
}

/** `status` 0 means the request never got an answer (broker gone). */
export type Responder = (status: number, body: Record<string, unknown>) => void;

interface HostedEndpoint {
  spec: EndpointSpec;
  /** The newest endpoint id; older ones stay valid aliases (like the shipped client). */
  endpointId?: string;
  ownerToken?: string;
  /** Every id this endpoint was registered under, with its owner token. */
  ids: Map<string, string | undefined>;
}

interface Work {
  ref: RuntimeAssignmentRef;
  endpointId: string;
  ownerToken: string | undefined;
  seq: number;
  replyRequestId?: string;
  replyBody?: Record<string, unknown>;
  done: boolean;
}

export class PluginModel {
  channel: number | undefined;
  alive = true;
  /** The server offered push receipts (`server_capabilities.push_receipt_ack_v1 === true`). */
  serverReceipts = false;
  /** Set while the `client-answers` fault is on: draw the next step after each reply answer. */
  answerChoices: AnswerChoices | undefined;
  /** Set while the `client-calls` fault is on (theory, point 4b). */
  extras: ClientExtras | undefined;
  readonly endpoints: HostedEndpoint[];
  private readonly work = new Map<string, Work>();
  /** Bumped by every crash: answers and retries from a previous life are ignored (a dead process). */
  private life = 0;
  /** Counters for reports and tests. */
  readonly stats = {
    pushes: 0,
    acks: 0,
    accepted: 0,
    replies: 0,
    replyRetries: 0,
    sends: 0,
    registers: 0,
    /** `processing_failed` reports (point 4b). */
    failures: 0,
    /** Steps drawn from `answerChoices`, by action. */
    answerActions: 0,
  };

  constructor(
    readonly spec: PluginSpec,
    private readonly host: PluginHost,
    private readonly rng: Stream,
  ) {
    this.endpoints = spec.endpoints.map((s) => ({ spec: s, ids: new Map() }));
  }

  get pid(): number {
    return this.spec.pid;
  }

  start(): void {
    this.initialize();
    const rc = this.spec.behaviour.reconnect;
    if (rc) this.host.after(rc.atMs, () => this.plannedReconnect(rc.downMs, rc.mode));
  }

  /**
   * Initialize, then open the stream and register (point 1). As in the shipped SDK's connect, the
   * stream opens only after an answered initialize: a failed one (the broker is down) is retried,
   * never skipped, so a stream that advertises receipts always knows whether the server wants them.
   */
  private initialize(): void {
    const init = { client_protocol_version: "1.1", client_kind: "sim-plugin", client_version: "1.0.0" };
    const life = this.life;
    this.post("/v1/initialize", init, (status, res) => {
      if (status !== 200) {
        this.host.after(this.rng.range(250, 2_000), () => {
          if (this.alive && life === this.life) this.initialize();
        });
        return;
      }
      const caps = res.server_capabilities;
      this.serverReceipts =
        typeof caps === "object" &&
        caps !== null &&
        (caps as Record<string, unknown>).push_receipt_ack_v1 === true;
      this.openStream(() => {
        for (const ep of this.endpoints) this.register(ep);
      });
    });
  }

  /** The plugin process dies: its stream closes and the broker's liveness probe says dead. */
  crash(): void {
    if (!this.alive) return;
    this.alive = false;
    this.life++;
    for (const w of this.work.values()) w.done = true;
    const ch = this.channel;
    this.channel = undefined;
    if (ch !== undefined) this.host.closeChannel(this.pid, ch);
  }

  /** A crashed plugin comes back (same pid) and starts from scratch, like a respawned process. */
  restart(): void {
    if (this.alive) return;
    this.alive = true;
    for (const ep of this.endpoints) {
      ep.endpointId = undefined;
      ep.ownerToken = undefined;
    }
    this.work.clear();
    this.start();
  }

  /**
   * Fault: the plugin loses its stream on purpose (as a planned reconnect does) and opens a new one
   * after `downMs`, reattaching its endpoints or registering them afresh. False if it had no stream.
   */
  dropChannel(downMs: number, mode: "reattach" | "reregister"): boolean {
    if (this.channel === undefined || !this.alive) return false;
    this.plannedReconnect(downMs, mode);
    return true;
  }

  /** A frame the broker pushed on `channel`. */
  onPush(channel: number, frame: PushFrame): void {
    if (channel !== this.channel || !this.alive) return;
    if (frame.event !== "message_received") return;
    this.stats.pushes++;
    if (frame.push_id !== undefined && this.serverReceipts) {
      const pushId = frame.push_id;
      this.host.after(this.delay(this.spec.behaviour.ackDelayMs), () => {
        if (this.channel !== channel) return;
        this.stats.acks++;
        this.host.sendOnChannel(this.pid, channel, JSON.stringify({ event: "push_ack", push_id: pushId }));
        this.host.fact({ f: "plugin_push_acked", pid: this.pid, pushId });
      });
    }
    const ra = frame.runtimeAssignment;
    if (ra) {
      if (this.work.has(ra.assignmentId)) return;
      const id = ra.targetRef.projection_endpoint_id;
      const ep = this.endpoints.find((e) => e.ids.has(id));
      if (!ep) return;
      const w: Work = { ref: ra, endpointId: id, ownerToken: ep.ids.get(id), seq: 1, done: false };
      this.work.set(ra.assignmentId, w);
      const x = this.extras;
      const first =
        x !== undefined && this.rng.chance(x.failBeforeAcceptProbability)
          ? "processing_failed"
          : "adapter_accepted";
      this.host.after(this.delay(this.spec.behaviour.acceptDelayMs), () => this.report(w, first));
      return;
    }
    if (this.rng.chance(this.spec.behaviour.sendProbability)) this.sendFollowUp(frame.from);
  }

  /** The broker (or a crash) closed our channel. */
  onChannelClosed(channel: number): void {
    if (channel !== this.channel) return;
    this.channel = undefined;
    if (!this.alive) return;
    // The shipped client reconnects and re-registers its endpoints (new endpoint ids).
    this.host.after(this.rng.range(50, 500), () => {
      if (this.channel !== undefined || !this.alive) return;
      this.openStream(() => {
        for (const ep of this.endpoints) this.register(ep);
      });
    });
  }

  /**
   * Open the stream; `then` (register or reattach) runs once it is open, as the shipped SDK's
   * `connectOnce` awaits the socket's `open` first. A stream that closed or was replaced before it
   * opened, or a process that died meanwhile, runs nothing.
   */
  private openStream(then: () => void): void {
    const caps = this.spec.behaviour.receiptCapable ? ["push_receipt_ack_v1"] : [];
    const life = this.life;
    const channel = this.host.openChannel(this.pid, caps, () => {
      if (this.channel === channel && this.alive && life === this.life) then();
    });
    this.channel = channel;
  }

  private plannedReconnect(downMs: number, mode: "reattach" | "reregister"): void {
    const ch = this.channel;
    if (ch === undefined) return;
    this.channel = undefined;
    this.host.closeChannel(this.pid, ch);
    this.host.after(downMs, () => {
      if (this.channel !== undefined || !this.alive) return;
      this.openStream(() => {
        for (const ep of this.endpoints) {
          if (mode === "reattach" && ep.endpointId !== undefined) this.reattach(ep);
          else this.register(ep);
        }
      });
    });
  }

  private register(ep: HostedEndpoint, attempt = 1): void {
    const s = ep.spec;
    const body: Record<string, unknown> = {
      agent_id: "agent-sim",
      plugin_pid: this.pid,
      kind: s.kind,
      client_kind: "sim-plugin",
      client_version: "1.0.0",
      session_name: `${s.kind}-${this.pid}`,
      runtime_capabilities: s.capabilities,
      workspace: { root: `/work/${s.kind}-${this.pid}`, cwd: `/work/${s.kind}-${this.pid}` },
    };
    if (s.backgroundExchangeMode) body.background_exchange_mode = s.backgroundExchangeMode;
    if (s.runtimeSessionId) body.runtime_session_id = s.runtimeSessionId;
    if (s.headless === true) body.execution_surface = "headless";
    this.stats.registers++;
    this.post("/v1/endpoint/register", body, (status, res) => {
      if (status === 200 && typeof res.endpoint_id === "string") {
        ep.endpointId = res.endpoint_id;
        ep.ownerToken = typeof res.endpoint_owner_token === "string" ? res.endpoint_owner_token : undefined;
        ep.ids.set(ep.endpointId, ep.ownerToken);
        return;
      }
      if (attempt < 20 && (status === 0 || status === 400 || status >= 500)) {
        const life = this.life;
        this.host.after(50 * attempt, () => {
          if (life === this.life) this.register(ep, attempt + 1);
        });
      }
    });
  }

  private reattach(ep: HostedEndpoint, attempt = 1): void {
    this.post(`/v1/endpoint/${ep.endpointId}/reattach`, { plugin_pid: this.pid }, (status, res) => {
      if (status === 200) return;
      // Unknown or closed meanwhile: fall back to a fresh registration.
      if (status === 404 || status === 409 || status === 403) {
        this.register(ep);
        return;
      }
      if (attempt < 10) {
        const life = this.life;
        this.host.after(100 * attempt, () => {
          if (life === this.life) this.reattach(ep, attempt + 1);
        });
      }
      void res;
    });
  }

  private report(
    w: Work,
    state: "adapter_accepted" | "processing_started" | "processing_failed",
    attempt = 1,
    retryable?: boolean,
  ): void {
    if (w.done) return;
    w.seq++;
    const failing = state === "processing_failed";
    // A failure decides its `retryable` once; a retry of the report repeats it.
    const failRetryable = failing
      ? (retryable ?? this.rng.chance(this.extras?.retryableProbability ?? 0))
      : undefined;
    const p = this.spec.behaviour.staleSequenceProbability;
    // Draw only when the knob is on, so runs without it keep their draw order.
    const stale = state === "processing_started" && p > 0 && this.rng.chance(p);
    const seq = stale ? 2 : w.seq;
    const body = {
      endpoint_id: w.endpointId,
      plugin_pid: this.pid,
      endpoint_owner_token: w.ownerToken,
      assignment_id: w.ref.assignmentId,
      source_message_id: w.ref.sourceMessageId,
      undispatched_id: w.ref.undispatchedId,
      state,
      state_sequence: seq,
      state_event_id: `${w.ref.assignmentId}:${state}:${seq}`,
      ...(failing && {
        retryable: failRetryable,
        reason_code: "sim_adapter_failed",
        detail: "the simulated adapter failed",
      }),
    };
    if (failing) this.stats.failures++;
    this.post("/v1/runtime/processing-state", body, (status) => {
      if (status === 200) {
        if (failing) w.done = true;
        if (state === "adapter_accepted") {
          this.stats.accepted++;
          this.report(w, "processing_started");
          this.host.after(this.delay(this.spec.behaviour.workMs), () => this.finish(w));
        }
        return;
      }
      if ((status === 0 || status === 503) && attempt < this.spec.behaviour.replyRetriesMax) {
        this.host.after(this.spec.behaviour.replyRetryMs, () =>
          this.report(w, state, attempt + 1, failRetryable),
        );
        return;
      }
      if (state === "adapter_accepted" || failing) w.done = true;
    });
  }

  /** Accepted work ends in a reply, or (point 4b) in `processing_failed`. */
  private finish(w: Work): void {
    const x = this.extras;
    if (x !== undefined && !w.done && this.rng.chance(x.failAfterAcceptProbability)) {
      this.report(w, "processing_failed");
      return;
    }
    this.reply(w);
  }

  private reply(w: Work, attempt = 1): void {
    if (w.done) return;
    if (w.replyBody === undefined) {
      w.replyRequestId = `rr-${this.rng.hex(6)}`;
      w.replyBody = {
        endpoint_id: w.endpointId,
        plugin_pid: this.pid,
        endpoint_owner_token: w.ownerToken,
        assignment_id: w.ref.assignmentId,
        source_message_id: w.ref.sourceMessageId,
        undispatched_id: w.ref.undispatchedId,
        reply_request_id: w.replyRequestId,
        content: `reply to ${w.ref.sourceMessageId} from ${w.endpointId}`,
        contentType: "text",
        metadata: { sim_reply: true },
      };
    }
    const body = w.replyBody;
    this.post("/v1/runtime/assignment-reply", body, (status, res) => {
      const choices = this.answerChoices;
      if (choices !== undefined) {
        this.chooseAfterAnswer(w, attempt, status, res, choices);
        return;
      }
      if (status === 200) {
        w.done = true;
        this.stats.replies++;
        this.maybeReuseReplyKey(w);
        return;
      }
      const retryable = status === 0 || (status === 503 && res.retryable !== false);
      if (retryable && attempt < this.spec.behaviour.replyRetriesMax) {
        this.stats.replyRetries++;
        this.host.after(this.spec.behaviour.replyRetryMs * Math.min(attempt, 8), () =>
          this.reply(w, attempt + 1),
        );
        return;
      }
      w.done = true;
      this.host.fact({ f: "plugin_reply_abandoned", assignmentId: w.ref.assignmentId, reason: `${status}` });
    });
  }

  /** Point 4a: draw and take the next step after an answer to a reply. */
  private chooseAfterAnswer(
    w: Work,
    attempt: number,
    status: number,
    res: Record<string, unknown>,
    c: AnswerChoices,
  ): void {
    const b = this.spec.behaviour;
    if (status === 200) {
      w.done = true;
      this.stats.replies++;
      this.maybeReuseReplyKey(w);
      if (!this.rng.chance(c.afterSuccessProbability)) return;
      const action = this.drawAction({
        repeat: c.repeatWeight,
        reconnect: c.reconnectWeight,
        reregister: c.reregisterWeight,
      });
      this.answerFact(w, status, res, action);
      if (action === "repeat") this.post("/v1/runtime/assignment-reply", w.replyBody, () => {});
      else if (action === "reconnect" || action === "reregister") this.reconnectNow(action);
      return;
    }
    // Nothing was sent: a 503 connector_unavailable, or the assignment is not (or no longer) ours.
    const notSent = (status === 503 && res.error === "connector_unavailable") || status === 409;
    const action =
      attempt >= b.replyRetriesMax
        ? "abandon"
        : this.drawAction({
            repeat: c.repeatWeight,
            retry: c.retryWeight,
            abandon: c.abandonWeight,
            reconnect: c.reconnectWeight,
            reregister: c.reregisterWeight,
            "fresh-key": notSent ? c.freshKeyWeight : 0,
          });
    this.answerFact(w, status, res, action);
    const backoffMs = b.replyRetryMs * Math.min(attempt, 8);
    const life = this.life;
    const later = (ms: number, fn: () => void) =>
      this.host.after(ms, () => {
        if (life === this.life) fn();
      });
    switch (action) {
      case "repeat":
        this.reply(w, attempt + 1);
        return;
      case "retry":
        this.stats.replyRetries++;
        later(backoffMs, () => this.reply(w, attempt + 1));
        return;
      case "fresh-key":
        this.stats.replyRetries++;
        w.replyBody = undefined;
        later(backoffMs, () => this.reply(w, attempt + 1));
        return;
      case "reconnect":
      case "reregister": {
        const downMs = this.reconnectNow(action);
        later(downMs + backoffMs, () => {
          this.resolveAlias(w);
          this.reply(w, attempt + 1);
        });
        return;
      }
      default:
        w.done = true;
        this.host.fact({
          f: "plugin_reply_abandoned",
          assignmentId: w.ref.assignmentId,
          reason: `${status}`,
        });
    }
  }

  /**
   * After a re-registration the SDK sends endpoint-scoped calls for an old endpoint id under the
   * newest id of the same endpoint, with its owner token (its alias table): so does the model.
   */
  private resolveAlias(w: Work): void {
    const ep = this.endpoints.find((e) => e.ids.has(w.endpointId));
    if (ep?.endpointId === undefined || ep.endpointId === w.endpointId) return;
    w.endpointId = ep.endpointId;
    w.ownerToken = ep.ownerToken;
    if (w.replyBody !== undefined) {
      w.replyBody = { ...w.replyBody, endpoint_id: w.endpointId, endpoint_owner_token: w.ownerToken };
    }
  }

  private drawAction(weights: Partial<Record<AnswerAction, number>>): AnswerAction {
    let total = 0;
    for (const v of Object.values(weights)) total += Math.max(0, v ?? 0);
    if (total <= 0) return "abandon";
    let r = this.rng.float() * total;
    let last: AnswerAction = "abandon";
    for (const [k, v] of Object.entries(weights) as Array<[AnswerAction, number]>) {
      const wgt = Math.max(0, v);
      if (wgt === 0) continue;
      last = k;
      if (r < wgt) return k;
      r -= wgt;
    }
    return last;
  }

  private answerFact(w: Work, status: number, res: Record<string, unknown>, action: AnswerAction): void {
    this.stats.answerActions++;
    const code = typeof res.error === "string" ? res.error : "";
    this.host.fact({
      f: "plugin_answer_choice",
      pid: this.pid,
      assignmentId: w.ref.assignmentId,
      status,
      code,
      action,
    });
  }

  /** Lose the channel now and come back after a drawn pause; returns the pause. */
  private reconnectNow(action: "reconnect" | "reregister"): number {
    const downMs = this.rng.range(0, 2_000);
    this.dropChannel(downMs, action === "reconnect" ? "reattach" : "reregister");
    return downMs;
  }

  /** Exercise the reply idempotency rules (PROTOCOL §5.7, A7) with the same reply key. */
  private maybeReuseReplyKey(w: Work): void {
    const b = this.spec.behaviour;
    if (w.replyBody === undefined) return;
    if (this.rng.chance(b.conflictingReplyProbability)) {
      this.post("/v1/runtime/assignment-reply", { ...w.replyBody, content: "a different reply" }, () => {});
    } else if (this.rng.chance(b.repeatReplyProbability)) {
      this.post("/v1/runtime/assignment-reply", w.replyBody, () => {});
    }
  }

  private sendFollowUp(to: string): void {
    const ep = this.endpoints.find((e) => e.endpointId !== undefined);
    if (!ep) return;
    this.stats.sends++;
    const body: Record<string, unknown> = {
      endpoint_id: ep.endpointId,
      plugin_pid: this.pid,
      to,
      content: `follow-up from ${ep.endpointId}`,
      contentType: "text",
      metadata: {},
    };
    if (this.extras !== undefined) sendExtras(body, this.extras, this.rng);
    this.post("/v1/send", body, () => {});
  }

  private post(path: string, body: unknown, cb: Responder): void {
    this.request("POST", path, body, cb);
  }

  /**
   * Any request as this process (the fault modules and the extra client calls use it); answers
   * that arrive after a crash are dropped. False if the process is dead.
   */
  request(method: "GET" | "POST" | "DELETE", path: string, body: unknown, cb: Responder = () => {}): boolean {
    if (!this.alive) return false;
    const life = this.life;
    this.host.request(this.pid, method, path, body, (status, res) => {
      if (life === this.life) cb(status, res);
    });
    return true;
  }

  private delay([lo, hi]: [number, number]): number {
    return this.rng.range(lo, hi);
  }
}
