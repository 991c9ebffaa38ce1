/**
 * Turns trace records into a timeline both exporters draw: nodes (one per thing that happened, on
 * the lane of the actor where it happened) and links (arrows between nodes).
 *
 * Theory of operation:
 * 1. Core inputs and outputs sit on the broker lane. A `net` send from the broker to an actor is
 *    drawn from the output that caused it to a `recv` node on the actor's lane at the scheduled
 *    arrival time. A `net` send from an actor is a `send` node on the actor's lane; it is linked to
 *    the core input it became by matching link, label and arrival time (sends never matched were
 *    lost in flight: a closed socket, a crashed broker).
 * 2. Logical links sit on top of the wire arrows: api_call → api_result and storage → result by id
 *    (ids restart with each broker incarnation), ipc_request → ipc_response by id, and each inbound
 *    message's path server_sent → connector_frame → hand-off outputs of that step → the first
 *    DELIVERY_ACK that covers its seq.
 * 3. Nodes are created in trace order and then sorted by (time, creation order). An arrival node is
 *    created when its send is seen, which is before anything else at the arrival time, so the sort
 *    keeps cause before effect.
 * 4. A failed run gets a node on the checkers lane at the violation time, linked from the last
 *    traced event (the world traces an event before it shows it to the checkers, so the last line
 *    is the one that tripped the invariant).
 */

import type { Input, Output } from "../../src/broker/types.ts";
import type { Fact } from "../kernel/events.ts";
import { describeFact, describeInput, describeOutput, frameOf } from "./describe.ts";
import { type End, expectedWire, isHandoff, linkEnds, wireOf } from "./wire-map.ts";
import type { RunMeta, TraceRecord } from "./records.ts";

export type NodeKind =
  | "in"
  | "out"
  | "send"
  | "recv"
  | "drop"
  | "hold"
  | "fact"
  | "life"
  | "violation"
  | "other";
export type LinkCat = "wire" | "msg" | "api" | "ipc" | "storage" | "violation";

export interface TimelineNode {
  /** Index in `Timeline.nodes` (sorted by time). */
  i: number;
  /** Virtual ms since the run started. */
  t: number;
  lane: string;
  /** Sub-track inside the lane (a Perfetto thread). */
  thread: string;
  kind: NodeKind;
  name: string;
  label: string;
  /** The record (or violation) this node shows, for detail views. */
  data: unknown;
  /** An actor's send that never became a core input. */
  lost?: boolean;
  /** An actor's send still in flight when the trace ends. */
  inFlight?: boolean;
  /** The traced event that tripped the checker. */
  trigger?: boolean;
}

export interface TimelineLink {
  from: number;
  to: number;
  cat: LinkCat;
}

export interface Lane {
  id: string;
  title: string;
  threads: string[];
}

export interface Timeline {
  meta: RunMeta;
  lanes: Lane[];
  nodes: TimelineNode[];
  links: TimelineLink[];
  /** Index of the checkers-lane node, when the run failed. */
  violationNode?: number;
}

const FIXED_LANES: Lane[] = [
  { id: "server", title: "connector server", threads: ["connector"] },
  { id: "api", title: "platform API", threads: ["api"] },
  { id: "control", title: "platform control", threads: ["dispatcher"] },
  { id: "storage", title: "storage", threads: ["disk"] },
  { id: "broker", title: "broker core", threads: ["inputs", "outputs", "lifecycle"] },
];

interface Pending {
  node: TimelineNode;
  link: string;
  label: string;
  at: number;
}

export function buildTimeline(records: readonly TraceRecord[], meta: RunMeta = {}): Timeline {
  return new Builder(meta).build(records);
}

class Builder {
  private readonly nodes: TimelineNode[] = [];
  private readonly links: Array<{ from: TimelineNode; to: TimelineNode; cat: LinkCat }> = [];
  private readonly lanes = new Map<string, Lane>(
    FIXED_LANES.map((l) => [l.id, { ...l, threads: [...l.threads] }]),
  );
  private readonly pending: Pending[] = [];
  private readonly channelPid = new Map<number, number>();
  private readonly assignmentPid = new Map<string, number>();
  private apiCalls = new Map<number, TimelineNode>();
  private storageOps = new Map<number, TimelineNode>();
  private readonly ipcRequests = new Map<number, TimelineNode>();
  private readonly serverSent = new Map<number, TimelineNode>();
  /** Last node of each unacknowledged seq's path. */
  private readonly seqPath = new Map<number, TimelineNode>();
  private stepSeq: { seq: number; node: TimelineNode } | undefined;
  /** Api / storage request ids made while handing a seq on: their results continue its path. */
  private pathOf = new Map<string, number>();
  private lastOut: { node: TimelineNode; wire: { link: string; label: string } | undefined } | undefined;
  private last: TimelineNode | undefined;

  constructor(private readonly meta: RunMeta) {}

  build(records: readonly TraceRecord[]): Timeline {
    let endT = 0;
    for (const r of records) {
      this.record(r);
      if (r.t > endT) endT = r.t;
    }
    for (const p of this.pending) {
      if (p.at < endT) p.node.lost = true;
      else p.node.inFlight = true;
    }
    const v = this.meta.violation;
    let violation: TimelineNode | undefined;
    if (v) {
      violation = this.node(v.atMs, { lane: "checkers", thread: "violations" }, "violation", {
        name: `violation ${v.invariant}`,
        label: `${v.invariant} (${v.kind}): ${v.message}`,
        data: v,
      });
      if (this.last && this.last.t === v.atMs) {
        this.last.trigger = true;
        this.link(this.last, violation, "violation");
      }
    }
    const nodes = this.nodes.slice().sort((a, b) => a.t - b.t || a.i - b.i);
    nodes.forEach((n, i) => {
      n.i = i;
    });
    const timeline: Timeline = {
      meta: this.meta,
      lanes: this.orderedLanes(),
      nodes,
      links: this.links.map((l) => ({ from: l.from.i, to: l.to.i, cat: l.cat })),
    };
    if (violation) timeline.violationNode = violation.i;
    return timeline;
  }

  private record(r: TraceRecord): void {
    switch (r.k) {
      case "in":
        this.input(r);
        break;
      case "out":
        this.output(r);
        break;
      case "truth":
        this.fact(r.t, r.fact, r);
        break;
      case "net":
        this.net(r);
        break;
      case "start":
        // Api and storage ids restart with each broker process.
        this.apiCalls = new Map();
        this.storageOps = new Map();
        this.pathOf = new Map();
        this.life(r, "broker start", `broker start #${r.incarnation} (cursor ${r.initialCursor})`);
        break;
      case "crash":
        this.life(r, "broker crash", `broker crash #${r.incarnation}`);
        break;
      case "advance":
        this.life(r, "deadline", "deadline due (advance)");
        break;
      case "quiescent":
        this.life(r, "quiescent", "end of run (quiescent)");
        break;
      case "other": {
        const w = { name: "unknown event", label: JSON.stringify(r.raw).slice(0, 80), data: r.raw };
        this.last = this.node(r.t, { lane: "other", thread: "other" }, "other", w);
        break;
      }
    }
  }

  private life(r: TraceRecord, name: string, label: string): void {
    if (r.k !== "quiescent") this.stepSeq = undefined;
    this.last = this.node(r.t, { lane: "broker", thread: "lifecycle" }, "life", { name, label, data: r });
  }

  private input(r: Extract<TraceRecord, { k: "in" }>): void {
    const input = r.input;
    const node = this.node(r.t, { lane: "broker", thread: "inputs" }, "in", {
      ...describeInput(input),
      data: r,
    });
    this.last = node;
    this.lastOut = undefined;
    this.stepSeq = undefined;
    const from = this.takePending(r.t, input);
    if (from) this.link(from, node, "wire");
    switch (input.kind) {
      case "ipc_channel_open":
        this.channelPid.set(input.channel, input.pid);
        break;
      case "api_result": {
        const call = this.apiCalls.get(input.id);
        if (call) this.link(call, node, "api");
        this.apiCalls.delete(input.id);
        this.continuePath(`api ${input.id}`, call, node);
        break;
      }
      case "storage_result": {
        const op = this.storageOps.get(input.id);
        if (op) this.link(op, node, "storage");
        this.storageOps.delete(input.id);
        this.continuePath(`storage ${input.id}`, op, node);
        break;
      }
      case "ipc_request":
        this.ipcRequests.set(input.id, node);
        break;
      case "connector_frame": {
        const f = frameOf(input.text);
        if ((f?.event === "MESSAGE_RECEIVED" || f?.event === "DELIVERY_SKIP") && typeof f.seq === "number") {
          const sent = this.serverSent.get(f.seq);
          if (sent) this.link(sent, node, "msg");
          this.stepSeq = { seq: f.seq, node };
          this.seqPath.set(f.seq, node);
        }
        break;
      }
    }
  }

  /** A result of a hand-off request: the outputs of its step carry the message on. */
  private continuePath(key: string, request: TimelineNode | undefined, result: TimelineNode): void {
    const seq = this.pathOf.get(key);
    this.pathOf.delete(key);
    if (seq === undefined || !request || !this.seqPath.has(seq)) return;
    this.link(request, result, "msg");
    this.seqPath.set(seq, result);
    this.stepSeq = { seq, node: result };
  }

  private output(r: Extract<TraceRecord, { k: "out" }>): void {
    const o = r.output;
    const node = this.node(r.t, { lane: "broker", thread: "outputs" }, "out", {
      ...describeOutput(o),
      data: r,
    });
    this.last = node;
    this.lastOut = { node, wire: wireOf(o) };
    switch (o.kind) {
      case "api_call":
        this.apiCalls.set(o.id, node);
        break;
      case "storage":
        this.storageOps.set(o.id, node);
        break;
      case "ipc_response": {
        const req = this.ipcRequests.get(o.id);
        if (req) this.link(req, node, "ipc");
        this.ipcRequests.delete(o.id);
        break;
      }
      case "ipc_push": {
        const ra = o.frame.event === "message_received" ? o.frame.runtimeAssignment : undefined;
        const pid = this.channelPid.get(o.channel);
        if (ra && pid !== undefined) this.assignmentPid.set(ra.assignmentId, pid);
        break;
      }
    }
    const step = this.stepSeq;
    if (step && isHandoff(o)) {
      this.link(step.node, node, "msg");
      this.seqPath.set(step.seq, node);
      if (o.kind === "api_call") this.pathOf.set(`api ${o.id}`, step.seq);
      if (o.kind === "storage") this.pathOf.set(`storage ${o.id}`, step.seq);
    }
    if (o.kind === "connector_send" && o.frame.event === "DELIVERY_ACK") {
      const upTo = o.frame.upToSeq;
      for (const [seq, last] of this.seqPath) {
        if (seq > upTo) continue;
        this.link(last, node, "msg");
        this.seqPath.delete(seq);
      }
    }
  }

  private fact(t: number, fact: Fact, r: TraceRecord): void {
    let end: End;
    switch (fact.f) {
      case "server_sent":
      case "server_acked":
      case "server_gap_fill":
        end = { lane: "server", thread: "connector" };
        break;
      case "cursor_persisted":
        end = { lane: "storage", thread: "disk" };
        break;
      case "plugin_push_acked":
        end = { lane: `plugin:${fact.pid}`, thread: "stream" };
        break;
      case "plugin_reply_abandoned": {
        const pid = this.assignmentPid.get(fact.assignmentId);
        end =
          pid === undefined
            ? { lane: "other", thread: "facts" }
            : { lane: `plugin:${pid}`, thread: "stream" };
        break;
      }
      default:
        end = { lane: "other", thread: "facts" };
    }
    const node = this.node(t, end, "fact", { ...describeFact(fact), data: r });
    this.last = node;
    if (fact.f === "server_sent") this.serverSent.set(fact.seq, node);
  }

  private net(r: Extract<TraceRecord, { k: "net" }>): void {
    const ends = linkEnds(r.link);
    const base = r.link.split(":", 1)[0]!;
    if (ends.from.lane === "broker") {
      const lo = this.lastOut;
      let src: TimelineNode;
      if (lo && lo.node.t === r.t && lo.wire?.link === base && lo.wire.label === r.label) src = lo.node;
      else
        src = this.node(r.t, ends.from, "send", {
          name: `send ${r.label}`,
          label: `send ${r.label} on ${r.link}`,
          data: r,
        });
      if (r.what !== "send") {
        this.node(r.t, ends.from, r.what === "drop" ? "drop" : "hold", {
          name: `${r.what} ${r.label}`,
          label: `${r.what === "drop" ? "✗ dropped" : "held"} ${r.label} on ${r.link}`,
          data: r,
        });
        return;
      }
      const recv = this.node(r.at, ends.to, "recv", {
        name: `recv ${r.label}`,
        label: `recv ${r.label}`,
        data: r,
      });
      this.link(src, recv, "wire");
      if (base === "disk" && lo?.node === src && lo.node.data) {
        const op = (lo.node.data as { output?: Output }).output;
        if (op?.kind === "storage" && this.storageOps.get(op.id) === src) this.storageOps.set(op.id, recv);
      }
      return;
    }
    const kind: NodeKind = r.what === "send" ? "send" : r.what === "drop" ? "drop" : "hold";
    const verb = r.what === "send" ? "send" : r.what === "drop" ? "✗ dropped" : "held";
    const node = this.node(r.t, ends.from, kind, {
      name: `${r.what} ${r.label}`,
      label: `${verb} ${r.label}`,
      data: r,
    });
    this.last = node;
    if (r.what === "send") this.pending.push({ node, link: r.link, label: r.label, at: r.at });
  }

  /** The actor send that became `input` at time `t`, if the trace shows one. */
  private takePending(t: number, input: Input): TimelineNode | undefined {
    const want = expectedWire(input, this.channelPid);
    if (!want) return undefined;
    // Records come in time order: a send due before now that was not taken never arrived.
    for (let i = 0; i < this.pending.length; ) {
      const p = this.pending[i]!;
      if (p.at < t) {
        p.node.lost = true;
        this.pending.splice(i, 1);
      } else i++;
    }
    for (let i = 0; i < this.pending.length; i++) {
      const p = this.pending[i]!;
      if (p.at !== t || !want.links.includes(p.link.split(":", 1)[0]!)) continue;
      if (want.pid !== undefined && p.link !== `${p.link.split(":", 1)[0]}:${want.pid}`) continue;
      if (!want.label(p.label)) continue;
      this.pending.splice(i, 1);
      return p.node;
    }
    return undefined;
  }

  private node(
    t: number,
    end: End,
    kind: NodeKind,
    w: { name: string; label: string; data: unknown },
  ): TimelineNode {
    const lane = this.laneFor(end.lane);
    if (!lane.threads.includes(end.thread)) lane.threads.push(end.thread);
    const n: TimelineNode = { i: this.nodes.length, t, lane: end.lane, thread: end.thread, kind, ...w };
    this.nodes.push(n);
    return n;
  }

  private link(from: TimelineNode, to: TimelineNode, cat: LinkCat): void {
    this.links.push({ from, to, cat });
  }

  private laneFor(id: string): Lane {
    let l = this.lanes.get(id);
    if (!l) {
      const title = id.startsWith("plugin:") ? `plugin ${id.slice(7)}` : id;
      l = { id, title, threads: [] };
      this.lanes.set(id, l);
    }
    return l;
  }

  /** Fixed actors first, then plugins by pid, then the checkers and anything unknown. */
  private orderedLanes(): Lane[] {
    const all = [...this.lanes.values()];
    const plugins = all.filter((l) => l.id.startsWith("plugin:")).sort((a, b) => pidOf(a) - pidOf(b));
    const rest = all.filter((l) => !l.id.startsWith("plugin:") && !FIXED_LANES.some((f) => f.id === l.id));
    rest.sort((a, b) => (a.id === "checkers" ? 1 : 0) - (b.id === "checkers" ? 1 : 0));
    const fixed = all.filter((l) => FIXED_LANES.some((f) => f.id === l.id));
    return [...fixed, ...plugins, ...rest];
  }
}

function pidOf(l: Lane): number {
  const n = Number(l.id.slice(7));
  return Number.isFinite(n) ? n : Number.MAX_SAFE_INTEGER;
}
