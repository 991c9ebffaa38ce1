/**
 * The fault hub: the one owner of the world's single-slot fault hooks. Fault modules register small
 * hook functions here; the hub composes them and counts what fired.
 *
 * Theory of operation:
 * 1. A hook slot of the world (`network.faults`, `server.faults`, `storage.faults`,
 *    `world.apiFaults`) is taken only when the first module registers for it, so a world without
 *    faults runs exactly as before.
 * 2. Composition is in registration order (= registry order): network decisions merge (any drop
 *    drops, extra delays add up, the first duplicate wins, any reorder reorders); for the other
 *    hooks the first module with an opinion decides.
 * 3. Every firing is counted per `fault:what` and written to the trace, so a run's report can say
 *    which faults were injected and two runs with the same seed still hash the same.
 * 4. `healAll` heals every installed module, then undoes anything standing (held links) and makes
 *    every hook a no-op from then on.
 * 5. Observers see every event the checkers see (core inputs and outputs, facts), after the view.
 *    They may only remember and schedule (`world.after`): acting at once would feed the broker an
 *    input in the middle of another step.
 */

import type { ApiArgs, ApiOp } from "../../src/broker/api.ts";
import type { StorageOp } from "../../src/broker/types.ts";
import type { ConnectorServerFaultHooks } from "../actors/connector-server.ts";
import type { ApiFaultHook, World } from "../kernel/world.ts";
import type { SimEvent } from "../kernel/events.ts";
import type { FaultDecision, Link } from "../network/network.ts";
import type { FaultHandle } from "./fault.ts";

export type NetHook = (link: Link, label: string) => FaultDecision | undefined;
export type RegisterDecision = ReturnType<NonNullable<ConnectorServerFaultHooks["onRegister"]>>;
export type RegisterHook = (socket: number) => RegisterDecision | undefined;
export type SendAckHook = (messageId: string, socket: number) => boolean;
export type SendErrorDecision = ReturnType<NonNullable<ConnectorServerFaultHooks["sendError"]>>;
export type SendErrorHook = (messageId: string, to: string, socket: number) => SendErrorDecision;
export type StorageHook = (op: StorageOp) => string | undefined;
export type ControlHook = (key: string, again: () => void) => void;
export type ObserverHook = (ev: SimEvent) => void;

/** The class of a link: its name up to the first `:` (`conn-down`, `api-req`, `ipc-up`, …). */
export function linkClass(link: Link | string): string {
  if (typeof link !== "string") return link.cls;
  const i = link.indexOf(":");
  return i < 0 ? link : link.slice(0, i);
}

/**
 * Labels that stand for connection lifecycle rather than a message (TCP connect/close, channel
 * open/close). Message-level faults leave them alone; the disconnect and partition modules own them.
 */
const LIFECYCLE_LABELS = new Set(["connect", "open", "close", "server_close", "abrupt_close", "crash_close"]);

export function isLifecycle(label: string): boolean {
  return LIFECYCLE_LABELS.has(label);
}

export class FaultHub {
  /** Firings per `fault:what`, in first-firing order. */
  readonly fired = new Map<string, number>();
  readonly handles: Array<{ name: string; handle: FaultHandle }> = [];
  healed = false;
  private readonly net: NetHook[] = [];
  private readonly api: ApiFaultHook[] = [];
  private readonly register: RegisterHook[] = [];
  private readonly sendAck: SendAckHook[] = [];
  private readonly sendError: SendErrorHook[] = [];
  private readonly storage: StorageHook[] = [];
  private readonly control: ControlHook[] = [];
  private readonly observers: ObserverHook[] = [];

  constructor(private readonly w: World) {}

  /** Count one firing and trace it. */
  record(fault: string, what: string, detail?: string): void {
    const key = `${fault}:${what}`;
    this.fired.set(key, (this.fired.get(key) ?? 0) + 1);
    const d = detail === undefined ? "" : `,"d":${JSON.stringify(detail)}`;
    this.w.trace.add(`{"t":${this.w.elapsedMs},"k":"fault","f":"${fault}","w":"${what}"${d}}`);
  }

  /** Total firings of one fault (all kinds), or of one `fault:what`. */
  count(fault: string, what?: string): number {
    if (what !== undefined) return this.fired.get(`${fault}:${what}`) ?? 0;
    let n = 0;
    for (const [k, v] of this.fired) if (k.startsWith(`${fault}:`)) n += v;
    return n;
  }

  firedRecord(): Record<string, number> {
    return Object.fromEntries(this.fired);
  }

  addNet(hook: NetHook): void {
    if (this.net.length === 0) this.w.network.faults = { onSend: (link, label) => this.onSend(link, label) };
    this.net.push(hook);
  }

  addApi(hook: ApiFaultHook): void {
    if (this.api.length === 0) this.w.apiFaults = (op, args, now) => this.onApi(op, args, now);
    this.api.push(hook);
  }

  addRegister(hook: RegisterHook): void {
    this.register.push(hook);
    this.claimServerHooks();
  }

  addSendAck(hook: SendAckHook): void {
    this.sendAck.push(hook);
    this.claimServerHooks();
  }

  addSendError(hook: SendErrorHook): void {
    this.sendError.push(hook);
    this.claimServerHooks();
  }

  addStorage(hook: StorageHook): void {
    if (this.storage.length === 0) this.w.storage.faults = { onOp: (op) => this.onStorage(op) };
    this.storage.push(hook);
  }

  addControl(hook: ControlHook): void {
    if (this.control.length === 0) {
      this.w.wiring.controlFaults = {
        delivered: (key, again) => {
          if (this.healed) return;
          for (const h of this.control) h(key, again);
        },
      };
    }
    this.control.push(hook);
  }

  addObserver(hook: ObserverHook): void {
    this.observers.push(hook);
  }

  /** Show `ev` to every observer (point 5); nothing once healed. */
  observe(ev: SimEvent): void {
    if (this.healed) return;
    for (let i = 0; i < this.observers.length; i++) this.observers[i]!(ev);
  }

  adopt(name: string, handle: FaultHandle): void {
    this.handles.push({ name, handle });
  }

  /** Heal every module, release every held link, and turn every hook into a no-op. */
  healAll(): void {
    if (this.healed) return;
    this.healed = true;
    for (const { handle } of this.handles) handle.heal();
    for (const link of this.w.network.all()) if (link.holding) link.release();
    // Traced only when something was installed, so fault-free runs keep their trace (golden hashes).
    if (this.handles.length > 0) this.w.trace.add(`{"t":${this.w.elapsedMs},"k":"fault","f":"*","w":"heal"}`);
  }

  private claimServerHooks(): void {
    if (this.w.server.faults !== undefined) return;
    this.w.server.faults = {
      onRegister: (socket) => {
        if (this.healed) return { reply: "ok" };
        for (const h of this.register) {
          const d = h(socket);
          if (d !== undefined) return d;
        }
        return { reply: "ok" };
      },
      withholdSendAck: (messageId, socket) => {
        if (this.healed) return false;
        for (const h of this.sendAck) if (h(messageId, socket)) return true;
        return false;
      },
      sendError: (messageId, to, socket) => {
        if (this.healed) return undefined;
        for (const h of this.sendError) {
          const d = h(messageId, to, socket);
          if (d !== undefined) return d;
        }
        return undefined;
      },
    };
  }

  private onSend(link: Link, label: string): FaultDecision | undefined {
    if (this.healed) return undefined;
    let out: FaultDecision | undefined;
    for (const h of this.net) {
      const d = h(link, label);
      if (d === undefined) continue;
      out ??= {};
      if (d.drop) out.drop = true;
      if (d.extraDelayMs !== undefined) out.extraDelayMs = (out.extraDelayMs ?? 0) + d.extraDelayMs;
      if (d.duplicateAfterMs !== undefined && out.duplicateAfterMs === undefined) {
        out.duplicateAfterMs = d.duplicateAfterMs;
      }
      if (d.reorder) out.reorder = true;
    }
    return out;
  }

  private onApi(op: ApiOp, args: ApiArgs[ApiOp], nowMs: number): ReturnType<ApiFaultHook> {
    // Not silenced by healing: each API hook checks its own switch, so that platform decisions
    // already made (a route claim answered `skip`) stay consistent after the heal.
    for (const h of this.api) {
      const r = h(op, args, nowMs);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  private onStorage(op: StorageOp): string | undefined {
    if (this.healed) return undefined;
    for (const h of this.storage) {
      const r = h(op);
      if (r !== undefined) return r;
    }
    return undefined;
  }
}
