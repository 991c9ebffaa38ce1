/**
 * The simulated network: one-way links between the broker and each actor, with latency drawn from
 * the run's `network` stream, and the hooks fault injectors use (drop, delay, duplicate, reorder,
 * hold/release, disconnect).
 *
 * Theory of operation:
 * 1. A link carries opaque deliveries: `send(label, deliver)` schedules `deliver` on the event queue
 *    after the link's latency. The label is only for the trace.
 * 2. Ordered links (WebSockets) never deliver out of send order, even when latency draws would; an
 *    explicit `reorder` fault decision is the only way to overtake. Unordered links (independent
 *    HTTP requests) deliver whenever their own latency says.
 * 3. `disconnect()` bumps the link's generation: everything in flight is silently lost, as on a
 *    dropped TCP connection. `hold()` parks new sends until `release()`.
 * 4. Every latency is drawn even when a fault then drops the message, so turning a fault on does not
 *    shift the later draws of the `network` stream.
 */

import type { EventQueue } from "../kernel/event-queue.ts";
import type { VirtualClock } from "../kernel/clock.ts";
import type { Stream } from "../kernel/prng.ts";

export interface LinkSpec {
  /** Deliveries on an ordered link keep send order. */
  ordered: boolean;
  /** Latency is uniform in [minMs, maxMs] (integer milliseconds). */
  minMs: number;
  maxMs: number;
}

/** What a fault injector decides for one send. Absent fields mean "no fault". */
export interface FaultDecision {
  drop?: boolean;
  /** Extra delay on top of the drawn latency. */
  extraDelayMs?: number;
  /** Deliver a second copy this many ms after the first. */
  duplicateAfterMs?: number;
  /** Ignore the link's ordering for this message (lets it overtake or be overtaken). */
  reorder?: boolean;
}

export interface NetworkFaultHooks {
  onSend(link: Link, label: string): FaultDecision | undefined;
}

export type NetTraceSink = (link: string, what: string, label: string, atMs: number) => void;

export class Link {
  /** The link's class: its name up to the first `:` (`conn-down`, `api-req`, `ipc-up`, …). */
  readonly cls: string;
  private generation = 0;
  private lastAt = 0;
  private held: Array<{ label: string; deliver: () => void }> | undefined;
  /** Messages sent, dropped and delivered on this link (cheap counters for reports). */
  sent = 0;
  dropped = 0;

  constructor(
    readonly name: string,
    readonly spec: LinkSpec,
    private readonly net: Network,
  ) {
    const i = name.indexOf(":");
    this.cls = i < 0 ? name : name.slice(0, i);
  }

  send(label: string, deliver: () => void): void {
    this.sent++;
    const net = this.net;
    const latency = this.spec.minMs + net.stream.int(this.spec.maxMs - this.spec.minMs + 1);
    const d = net.faults?.onSend(this, label);
    if (d?.drop) {
      this.dropped++;
      net.onTrace?.(this.name, "drop", label, net.clock.nowMs);
      return;
    }
    if (this.held) {
      this.held.push({ label, deliver });
      net.onTrace?.(this.name, "hold", label, net.clock.nowMs);
      return;
    }
    let at = net.clock.nowMs + latency + (d?.extraDelayMs ?? 0);
    if (this.spec.ordered && !d?.reorder) {
      if (at < this.lastAt) at = this.lastAt;
      this.lastAt = at;
    }
    this.schedule(at, label, deliver);
    if (d?.duplicateAfterMs !== undefined) this.schedule(at + d.duplicateAfterMs, label, deliver);
  }

  /** Lose everything in flight (and everything held). */
  disconnect(): void {
    this.generation++;
    this.lastAt = 0;
    if (this.held) this.held = [];
  }

  /** Park every later send until `release()`. */
  hold(): void {
    if (!this.held) this.held = [];
  }

  /** Send everything parked, in the order it was parked, with fresh latencies. */
  release(): void {
    const held = this.held;
    this.held = undefined;
    if (!held) return;
    for (const h of held) this.send(h.label, h.deliver);
  }

  get holding(): boolean {
    return this.held !== undefined;
  }

  private schedule(at: number, label: string, deliver: () => void): void {
    const gen = this.generation;
    const net = this.net;
    net.onTrace?.(this.name, "send", label, at);
    net.queue.schedule(at, () => {
      if (gen !== this.generation) {
        this.dropped++;
        return;
      }
      deliver();
    });
  }
}

export class Network {
  private readonly links = new Map<string, Link>();
  faults: NetworkFaultHooks | undefined;

  constructor(
    readonly queue: EventQueue,
    readonly clock: VirtualClock,
    readonly stream: Stream,
    readonly onTrace: NetTraceSink | undefined,
  ) {}

  /** The link named `name`, created with `spec` on first use. */
  link(name: string, spec: LinkSpec): Link {
    let l = this.links.get(name);
    if (!l) {
      l = new Link(name, spec, this);
      this.links.set(name, l);
    }
    return l;
  }

  get(name: string): Link | undefined {
    return this.links.get(name);
  }

  all(): Iterable<Link> {
    return this.links.values();
  }
}
