/**
 * Connector-frame faults of the seeded platform stub: duplicate and out-of-order MESSAGE_RECEIVED,
 * dropped and late SEND_ACK. `ConnectorFaults.filter` is the connector stub's `frameFilter`: it is
 * given every frame the platform model sends, in order, and decides how (and whether) it goes out.
 *
 * Rules:
 * 1. Decisions are counted per frame kind over the model's own frames (a duplicate or a replayed
 *    frame the filter itself writes is not asked again), so the schedule follows the traffic.
 * 2. A held-back MESSAGE_RECEIVED goes out right after the next MESSAGE_RECEIVED on its socket, or
 *    after `reorderHoldMs` when none comes; a late SEND_ACK after `sendAckDelayMs`. A frame whose
 *    socket closed meanwhile is lost, as on a real connection.
 */

import type { StubFaultSchedule } from "./fault-schedule.ts";

/** Writes one frame on the socket it was meant for (a no-op once that socket is closed). */
export type FrameSend = (frame: Record<string, unknown>) => void;

interface Held {
  frame: Record<string, unknown>;
  send: FrameSend;
  timer: ReturnType<typeof setTimeout>;
}

export class ConnectorFaults {
  private readonly held = new Map<number, Held>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly schedule: StubFaultSchedule) {}

  /** The connector stub's frame filter. */
  readonly filter = (frame: Record<string, unknown>, send: FrameSend, socket: number): void => {
    const r = this.schedule.rates;
    if (frame.event === "MESSAGE_RECEIVED") {
      const on = `seq ${String(frame.seq)}`;
      const pending = this.held.get(socket);
      const reorder = this.schedule.decide(
        "message.reorder",
        "reorder_message",
        r.reorderMessageProbability,
        on,
      );
      const duplicate = this.schedule.decide(
        "message.duplicate",
        "duplicate_message",
        r.duplicateMessageProbability,
        on,
      );
      if (reorder && pending === undefined) {
        const timer = setTimeout(() => this.release(socket), r.reorderHoldMs);
        this.held.set(socket, { frame, send, timer });
      } else {
        send(frame);
      }
      if (duplicate) send(frame);
      if (pending !== undefined) this.release(socket);
      return;
    }
    if (frame.event === "SEND_ACK") {
      const on = `messageId ${String(frame.messageId)}`;
      if (this.schedule.decide("send_ack.drop", "drop_send_ack", r.dropSendAckProbability, on)) return;
      if (this.schedule.decide("send_ack.late", "late_send_ack", r.lateSendAckProbability, on)) {
        this.later(() => send(frame), r.sendAckDelayMs);
        return;
      }
    }
    send(frame);
  };

  /** Cancel every held and delayed frame (the stub is closing). */
  dispose(): void {
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private release(socket: number): void {
    const h = this.held.get(socket);
    if (!h) return;
    clearTimeout(h.timer);
    this.held.delete(socket);
    h.send(h.frame);
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}
