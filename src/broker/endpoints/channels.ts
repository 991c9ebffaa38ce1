/**
 * IPC stream channels (PROTOCOL §1.3, §3.3–§3.5): one channel per plugin pid, pushes and receipts.
 *
 * Theory of operation:
 * 1. A new channel for a pid displaces the previous one: the old one is closed with
 *    1000/"replaced", marked displaced, and stops counting as open at once. Its later close does not
 *    drive endpoint transitions (the caller asks `close()` whether it was displaced).
 * 2. A push on a channel that advertised `push_receipt_ack_v1` carries `push_id = push_<uuid>` and
 *    waits for `{event:"push_ack", push_id}` from the same pid on the same channel (I3), at most
 *    `pushReceiptTimeoutMs` (deadline `{ kind: "push_receipt", pushId }`). Without the capability a push counts as
 *    received as soon as it is written on an open channel.
 * 3. Displacement or close settles every pending receipt of that channel as not received: a push on
 *    a displaced or closed socket is never reported as received.
 * 4. Callbacks may run synchronously (closed channel, no receipt) or later (receipt); callers must
 *    handle both.
 */

import { invariant } from "../invariant.ts";
import type { Env } from "../env.ts";
import type { Channels, PushCallback } from "../model.ts";
import type { PushEnvelope, PushFrame } from "../types.ts";

export const PUSH_RECEIPT_CAPABILITY = "push_receipt_ack_v1";

interface Channel {
  id: number;
  pid: number;
  receipts: boolean;
  open: boolean;
  displaced: boolean;
  /** push ids awaiting a receipt on this channel. */
  pending: Set<string>;
}

interface PendingReceipt {
  channel: number;
  pid: number;
  /** Runs under the cause of the push (a task's, or the reattach request's for a drain). */
  cb: PushCallback;
}

export interface CloseResult {
  known: boolean;
  displaced: boolean;
  pid?: number;
}

export class IpcChannels implements Channels {
  private readonly channels = new Map<number, Channel>();
  private readonly current = new Map<number, number>();
  private readonly receipts = new Map<string, PendingReceipt>();

  constructor(private readonly env: Env) {
    env.onDeadline("push_receipt", (d) => this.receiptTimedOut(d.pushId));
  }

  open(channel: number, pid: number, capabilities: readonly string[]): void {
    const prev = this.current.get(pid);
    if (prev !== undefined && prev !== channel) {
      const old = this.channels.get(prev);
      if (old?.open) {
        old.open = false;
        old.displaced = true;
        this.env.emit({ kind: "ipc_close_channel", channel: prev, code: 1000, reason: "replaced" });
        this.settleAll(old, "ipc_push_ack_channel_closed");
      }
    }
    this.channels.set(channel, {
      id: channel,
      pid,
      receipts: capabilities.includes(PUSH_RECEIPT_CAPABILITY),
      open: true,
      displaced: false,
      pending: new Set(),
    });
    this.current.set(pid, channel);
  }

  close(channel: number): CloseResult {
    const ch = this.channels.get(channel);
    if (!ch) return { known: false, displaced: false };
    this.channels.delete(channel);
    if (this.current.get(ch.pid) === channel) this.current.delete(ch.pid);
    ch.open = false;
    this.settleAll(ch, "ipc_push_ack_channel_closed");
    return { known: true, displaced: ch.displaced, pid: ch.pid };
  }

  /** Is `channel` known, and was it displaced by a newer channel of its pid? */
  describe(channel: number): CloseResult {
    const ch = this.channels.get(channel);
    return ch ? { known: true, displaced: ch.displaced, pid: ch.pid } : { known: false, displaced: false };
  }

  channelOf(pid: number): number | undefined {
    const c = this.current.get(pid);
    return c !== undefined && this.channels.get(c)?.open ? c : undefined;
  }

  isOpen(channel: number): boolean {
    return this.channels.get(channel)?.open ?? false;
  }

  pidOf(channel: number): number | undefined {
    return this.channels.get(channel)?.pid;
  }

  /** Open channels in opening order. */
  openChannels(): number[] {
    const out: number[] = [];
    for (const c of this.channels.values()) if (c.open) out.push(c.id);
    return out;
  }

  get pendingReceipts(): number {
    return this.receipts.size;
  }

  pushMessage(channel: number, envelope: PushEnvelope, cb: PushCallback): void {
    const ch = this.channels.get(channel);
    if (!ch?.open) {
      cb(false);
      return;
    }
    if (!ch.receipts) {
      this.env.emit({ kind: "ipc_push", channel, frame: { event: "message_received", ...envelope } });
      cb(true);
      return;
    }
    const pushId = `push_${this.env.random.uuid()}`;
    this.receipts.set(pushId, { channel, pid: ch.pid, cb: this.env.bind(cb) });
    ch.pending.add(pushId);
    this.env.emit({
      kind: "ipc_push",
      channel,
      frame: { event: "message_received", ...envelope, push_id: pushId },
    });
    this.env.arm({ kind: "push_receipt", pushId }, this.env.opts.pushReceiptTimeoutMs);
  }

  private receiptTimedOut(pushId: string): void {
    this.env.log("warn", "ipc_push_ack_timeout", {
      push_id: pushId,
      channel: this.receipts.get(pushId)?.channel,
    });
    this.settle(pushId, false);
  }

  /** Presence pushes never carry a receipt. */
  pushToAll(frame: PushFrame): void {
    for (const c of this.channels.values()) {
      if (c.open) this.env.emit({ kind: "ipc_push", channel: c.id, frame });
    }
  }

  /** A text frame from a plugin: only `push_ack` is interpreted. */
  handleMessage(channel: number, text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.env.log("debug", "ipc_stream_frame_ignored", { channel, reason: "not_json" });
      return;
    }
    if (typeof msg !== "object" || msg === null) return;
    const m = msg as Record<string, unknown>;
    if (m.event !== "push_ack" || typeof m.push_id !== "string") return;
    const pending = this.receipts.get(m.push_id);
    if (!pending) {
      this.env.log("debug", "ipc_push_ack_unknown", { push_id: m.push_id, channel });
      return;
    }
    if (pending.channel !== channel) {
      const pid = this.channels.get(channel)?.pid;
      const event = pid === pending.pid ? "ipc_push_ack_ws_mismatch" : "ipc_push_ack_pid_mismatch";
      this.env.log("warn", event, { push_id: m.push_id, channel, expected_channel: pending.channel });
      return;
    }
    this.settle(m.push_id, true);
  }

  private settleAll(ch: Channel, event: string): void {
    if (ch.pending.size === 0) return;
    const ids = [...ch.pending];
    for (const id of ids) {
      // A callback of an earlier push may have settled this one already (by closing the channel).
      if (!this.receipts.has(id)) continue;
      this.env.log("debug", event, { push_id: id, channel: ch.id });
      this.settle(id, false);
    }
  }

  private settle(pushId: string, received: boolean): void {
    // Every caller checks the receipt is pending, and settling cancels its deadline.
    const p = this.receipts.get(pushId);
    invariant(p !== undefined, `settling push ${pushId}, which has no pending receipt`);
    this.receipts.delete(pushId);
    this.channels.get(p.channel)?.pending.delete(pushId);
    this.env.disarm({ kind: "push_receipt", pushId });
    p.cb(received);
  }
}
