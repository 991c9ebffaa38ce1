/**
 * A minimal in-process driver for BrokerCore: every output is answered at once, on the spot.
 *
 * It plays the world the delivery path needs and nothing else: the connector socket opens and
 * registers, every platform call succeeds (route claims answer `route`), storage succeeds, and the
 * plugin on channel 1 acks every push receipt immediately. Time is the wall clock (as in the
 * daemon), so receipt deadlines are armed and cancelled at real rates.
 *
 * The loop is deliberately cheap (a reused input array, no per-output allocation beyond what the
 * answers need) so that the figure it produces is the core's cost, not the driver's.
 */

import { BrokerCore } from "../src/broker/broker.ts";
import type { ApiOp, ApiResult } from "../src/broker/api.ts";
import type { BrokerOptions } from "../src/broker/options.ts";
import type { Input, Output, Random } from "../src/broker/types.ts";
import { CryptoRandom } from "../src/daemon/random.ts";

const OK = { ok: true } as ApiResult<ApiOp>;
const ROUTE = { ok: true, action: "route" } as unknown as ApiResult<ApiOp>;

export interface CoreLoopOptions {
  options?: Partial<BrokerOptions>;
  random?: Random;
  /** Channel capabilities of the plugin. Default: push receipts on. */
  capabilities?: string[];
  /** Register a background endpoint (inbox path) instead of a foreground one. */
  endpointCapabilities?: string[];
}

export class CoreLoop {
  readonly core: BrokerCore;
  /** Highest DELIVERY_ACK.upToSeq seen on the wire. */
  ackedUpTo = 0;
  pushes = 0;
  apiCalls = 0;
  endpointId = "";
  private readonly queue: Input[] = [];
  private readonly responses = new Map<number, { status: number; body: unknown }>();
  private nextRequest = 1;

  constructor(private readonly opts: CoreLoopOptions = {}) {
    this.core = new BrokerCore({ random: opts.random ?? new CryptoRandom(), options: opts.options ?? {} });
  }

  /** start → open → REGISTER_ACK, one plugin channel, one registered endpoint. */
  setUp(): this {
    this.feed({ kind: "start" });
    this.feed({ kind: "connector_open" });
    this.feed({
      kind: "connector_frame",
      text: JSON.stringify({ event: "REGISTER_ACK", status: "ok", protocolVersion: 4 }),
    });
    this.feed({
      kind: "ipc_channel_open",
      channel: 1,
      pid: 4242,
      capabilities: this.opts.capabilities ?? ["push_receipt_ack_v1"],
    });
    const id = this.nextRequest++;
    this.feed({
      kind: "ipc_request",
      id,
      method: "POST",
      path: "/v1/endpoint/register",
      body: { plugin_pid: 4242, kind: "claude", capabilities: this.opts.endpointCapabilities ?? [] },
    });
    const r = this.responses.get(id);
    if (r?.status !== 200) throw new Error(`bench: register failed: ${JSON.stringify(r)}`);
    this.endpointId = (r.body as { endpoint_id: string }).endpoint_id;
    return this;
  }

  /** Feed one input and everything it causes until the world is quiet. */
  feed(input: Input): void {
    const core = this.core;
    const q = this.queue;
    q.push(input);
    let now = Date.now();
    for (let i = 0; i < q.length; i++) {
      core.handle(q[i]!, now);
      this.answer(core.takeOutputs());
      const due = core.nextDeadline();
      if (due !== undefined && due <= now) {
        now = Date.now();
        core.advance(now);
        this.answer(core.takeOutputs());
      }
    }
    q.length = 0;
  }

  private answer(outs: Output[]): void {
    const q = this.queue;
    for (let i = 0; i < outs.length; i++) {
      const o = outs[i]!;
      switch (o.kind) {
        case "api_call":
          this.apiCalls++;
          if (o.op === "inbound_route_claim") q.push({ kind: "api_result", id: o.id, result: ROUTE });
          else if (o.op === "register")
            q.push({
              kind: "api_result",
              id: o.id,
              result: { ok: true, endpoint_id: "ep-bench" } as unknown as ApiResult<ApiOp>,
            });
          else q.push({ kind: "api_result", id: o.id, result: OK });
          break;
        case "storage":
          q.push({ kind: "storage_result", id: o.id, ok: true });
          break;
        case "ipc_push":
          this.pushes++;
          if (o.frame.event === "message_received" && o.frame.push_id !== undefined)
            q.push({ kind: "ipc_channel_message", channel: o.channel, text: ackText(o.frame.push_id) });
          break;
        case "connector_send":
          if (o.frame.event === "DELIVERY_ACK" && o.frame.upToSeq > this.ackedUpTo)
            this.ackedUpTo = o.frame.upToSeq;
          break;
        case "ipc_response":
          this.responses.set(o.id, { status: o.status, body: o.body });
          break;
        default:
          break;
      }
    }
  }
}

function ackText(pushId: string): string {
  return `{"event":"push_ack","push_id":"${pushId}"}`;
}

/** The text of a targeted MESSAGE_RECEIVED frame, as a connector would send it. */
export function targetedFrame(seq: number, endpointId: string | undefined, content: string): string {
  const metadata = endpointId === undefined ? {} : { target_endpoint_id: endpointId };
  return JSON.stringify({
    event: "MESSAGE_RECEIVED",
    messageId: `msg-${seq}`,
    seq,
    from: "agent://sender",
    content,
    contentType: "text",
    metadata,
  });
}
