/** Hand-made event histories for checker tests: tiny builders over the simulator's event type. */

import type { Deadline, DeadlineChange } from "../../../src/broker/deadline-kinds.ts";
import { type BrokerOptions, resolveOptions } from "../../../src/broker/options.ts";
import type { BrokerSnapshot } from "../../../src/broker/snapshot.ts";
import type { Cause, Input, Output } from "../../../src/broker/types.ts";
import { type CheckerDef, type Finding, wants } from "../../../sim/checkers/checker.ts";
import { View } from "../../../sim/checkers/view.ts";
import type { SimEvent } from "../../../sim/kernel/events.ts";

/** A retry queue's post of the item about `ids` (attempt 1 unless it repeats an earlier post). */
export function queueCause(ids: string[], attempt = 1, repeats?: number, queue = "routed_emitter"): Cause {
  return repeats === undefined
    ? { kind: "queue", queue, attempt, ids }
    : { kind: "queue", queue, attempt, repeats, ids };
}

/**
 * Builds a history the way the core's driver records one. With `causes` (the default) every output
 * carries the cause the core would give it: a MESSAGE_RECEIVED step starts a task, the answer to a
 * call or storage op and a push receipt continue the cause that made it, an IPC request is its own
 * cause, an `advance` runs a timer; `by` sets another cause for the rest of the step (a retry
 * queue's post, say). Without `causes` the outputs carry none, as from a target that exposes none.
 */
export class History {
  readonly events: SimEvent[] = [];
  t = 0;
  private nextId = 1000;
  private nextTask = 1;
  private cause: Cause | undefined;
  private readonly causeOfCall = new Map<number, Cause>();
  private readonly causeOfPush = new Map<string, Cause>();
  private readonly taskCauses = new Map<string, Cause>();

  constructor(
    options: Partial<BrokerOptions> = {},
    initialCursor = 0,
    readonly causes = true,
  ) {
    this.start(options, initialCursor);
  }

  /** The outputs that follow in this step belong to the latest task of `messageId`. */
  asTask(messageId: string): this {
    const c = this.taskCauses.get(messageId);
    if (!c) throw new Error(`no task of ${messageId} in this history`);
    return this.by(c);
  }

  /** The outputs that follow in this step have `cause`. */
  by(cause: Cause): this {
    this.cause = cause;
    return this;
  }

  start(options: Partial<BrokerOptions> = {}, initialCursor = 0, incarnation = 1): this {
    this.events.push({ k: "start", t: this.t, incarnation, initialCursor, options: resolveOptions(options) });
    return this;
  }

  at(t: number): this {
    this.t = t;
    return this;
  }

  in(input: Input): this {
    this.cause = this.causeOfInput(input);
    this.events.push({ k: "in", t: this.t, input });
    return this;
  }

  out(...outputs: Output[]): this {
    for (const o of outputs) {
      const output = this.causes && o.cause === undefined && this.cause ? { ...o, cause: this.cause } : o;
      if (output.cause && (output.kind === "api_call" || output.kind === "storage"))
        this.causeOfCall.set(output.id, output.cause);
      if (output.cause && output.kind === "ipc_push" && output.frame.event === "message_received") {
        const pushId = output.frame.push_id;
        if (pushId !== undefined) this.causeOfPush.set(pushId, output.cause);
      }
      this.events.push({ k: "out", t: this.t, output });
    }
    return this;
  }

  private causeOfInput(input: Input): Cause {
    switch (input.kind) {
      case "api_result":
      case "storage_result":
        return this.causeOfCall.get(input.id) ?? { kind: "input", input: input.kind };
      case "connector_frame": {
        const f = JSON.parse(input.text) as Record<string, unknown>;
        if (f.event !== "MESSAGE_RECEIVED") return { kind: "input", input: input.kind };
        const c: Cause = { kind: "task", task: this.nextTask++ };
        if (typeof f.messageId === "string") {
          c.messageId = f.messageId;
          this.taskCauses.set(f.messageId, c);
        }
        if (typeof f.seq === "number") c.seq = f.seq;
        return c;
      }
      case "ipc_channel_message": {
        const m = JSON.parse(input.text) as { push_id?: unknown };
        const pushed = typeof m.push_id === "string" ? this.causeOfPush.get(m.push_id) : undefined;
        return pushed ?? { kind: "input", input: input.kind, channel: input.channel };
      }
      case "ipc_request":
        return { kind: "request", request: input.id, method: input.method, path: input.path };
      default:
        return { kind: "input", input: input.kind };
    }
  }

  /** The step ends; `deadlines` are the deadline changes the core reported for it. */
  end(internalErrors = 0, deadlines?: DeadlineChange[]): this {
    this.events.push(
      deadlines === undefined
        ? { k: "step_end", t: this.t, internalErrors }
        : { k: "step_end", t: this.t, internalErrors, deadlines },
    );
    return this;
  }

  /** A deadline run: the outputs that follow are `deadline`'s doing. */
  advance(deadline: Deadline = { kind: "reinsert_drain" }): this {
    this.cause = { kind: "timer", deadline };
    this.events.push({ k: "advance", t: this.t });
    return this;
  }

  quiescent(snapshot: Partial<BrokerSnapshot>): this {
    this.events.push({ k: "quiescent", t: this.t, snapshot: snapshot as BrokerSnapshot });
    return this;
  }

  // ---- common steps ----

  open(): this {
    return this.in({ kind: "connector_open" }).end();
  }

  frame(f: Record<string, unknown>): this {
    return this.in({ kind: "connector_frame", text: JSON.stringify(f) });
  }

  /** The connector opens and registers: presence is `online` from here. */
  online(deliverySeq = 0): this {
    this.open();
    return this.frame({ event: "REGISTER_ACK", status: "ok", protocolVersion: 4, deliverySeq }).end();
  }

  /** The connector socket closes: presence is not `online` from here. */
  offline(): this {
    return this.in({ kind: "connector_closed", code: 1006, reason: "" }).end();
  }

  message(seq: number, messageId: string, metadata: Record<string, unknown> = {}, scope?: string): this {
    const f: Record<string, unknown> = {
      event: "MESSAGE_RECEIVED",
      messageId,
      from: "a",
      content: "c",
      contentType: "text",
      metadata,
      seq,
    };
    if (scope !== undefined) f.runtimeSessionId = scope;
    return this.frame(f);
  }

  send(frame: Record<string, unknown>): this {
    return this.out({ kind: "connector_send", frame: frame as never });
  }

  ack(upToSeq: number): this {
    return this.send({ event: "DELIVERY_ACK", upToSeq });
  }

  /** An API call output; returns its id through `lastId`. */
  call(op: string, args: Record<string, unknown>, id = this.nextId++): this {
    this.lastId = id;
    return this.out({ kind: "api_call", id, op, args } as Output);
  }

  lastId = 0;

  result(id: number, result: Record<string, unknown> = { ok: true }): this {
    return this.in({ kind: "api_result", id, result } as Input);
  }

  /** Accept `messageId` the inbox way: add posted and answered ok. */
  inboxed(messageId: string): this {
    this.call("undispatched_changed", {
      type: "undispatched_changed",
      version: 1,
      action: "add",
      undispatched_id: messageId,
      source_message_id: messageId,
    });
    const id = this.lastId;
    return this.end().result(id).end();
  }

  channel(channel: number, pid: number, receipts = true): this {
    return this.in({
      kind: "ipc_channel_open",
      channel,
      pid,
      capabilities: receipts ? ["push_receipt_ack_v1"] : [],
    }).end();
  }

  request(id: number, method: "GET" | "POST" | "DELETE", path: string, body: unknown = {}): this {
    return this.in({ kind: "ipc_request", id, method, path, pidHeader: "10", body });
  }

  respond(id: number, status: number, body: unknown): this {
    return this.out({ kind: "ipc_response", id, status, body });
  }

  /** Register `endpointId` for `pid` (its channel must be open). */
  registered(endpointId: string, pid: number, extra: Record<string, unknown> = {}): this {
    const id = this.nextId++;
    return this.request(id, "POST", "/v1/endpoint/register", {
      plugin_pid: pid,
      kind: "k",
      capabilities: [],
      ...extra,
    })
      .respond(id, 200, { endpoint_id: endpointId, endpoint_owner_token: `tok-${endpointId}` })
      .end();
  }

  push(channel: number, envelope: Record<string, unknown>, pushId?: string): this {
    const frame = {
      event: "message_received",
      from: "a",
      content: "c",
      contentType: "text",
      ...envelope,
    } as Record<string, unknown>;
    if (pushId !== undefined) frame.push_id = pushId;
    return this.out({ kind: "ipc_push", channel, frame: frame as never });
  }

  pushAck(channel: number, pushId: string): this {
    return this.in({
      kind: "ipc_channel_message",
      channel,
      text: JSON.stringify({ event: "push_ack", push_id: pushId }),
    });
  }
}

/** Feed `history` to a fresh instance of `def`; the first finding, if any. */
export function check(def: CheckerDef, history: History): Finding | undefined {
  const view = new View();
  const inst = def.create();
  for (const ev of history.events) {
    view.observe(ev);
    if (!wants(def, ev)) continue;
    const f = inst.onEvent(ev, view);
    if (f) return f;
  }
  return undefined;
}

/** The checkers' view after it has seen all of `history`. */
export function viewAfter(history: History): View {
  const view = new View();
  for (const ev of history.events) view.observe(ev);
  return view;
}
