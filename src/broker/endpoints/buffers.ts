/**
 * Reconnecting buffers (PROTOCOL §1.5): one append-only record file per endpoint, written through
 * `env.storage`, mirrored in memory so the reattach route can drain it without reading storage.
 *
 * Theory of operation:
 * 1. The mirror holds only records storage confirmed; an append joins it when `append_buffer`
 *    answers ok. A duplicate id (already stored, or an append of it in flight) is skipped and
 *    reported ok, like the reference's read-before-append check.
 * 2. Appends in flight are counted per endpoint so a drain can wait for them (`whenSettled`):
 *    otherwise a record confirmed after the drain finished would be deleted with the file unseen.
 * 3. `delete` writes `delete_buffer` and forgets the mirror at once. Storage performs operations in
 *    order, so an append written before the delete is removed by it too.
 * 4. `retire` forgets the mirror without touching the file and returns its records: a removed
 *    endpoint's records are surfaced into the inbox (`buffer-surfacer.ts`, L5), which deletes the
 *    file once they are safe. An append still in flight then reports not ok (its task is not
 *    accepted and the message is redelivered); its record lands in the file and goes with it.
 * 5. A record the reattach drain pushed successfully leaves the mirror (`delivered`), so neither a
 *    second drain nor a later removal hands it out again. The file keeps it until it is deleted.
 * 6. Files of an earlier process are not read here: the driver hands them to the core at start-up
 *    (`BrokerCoreConfig.initialBuffers`) and the surfacer takes them.
 */

import type { Env } from "../env.ts";
import type { Buffers } from "../model.ts";
import type { BufferRecord, PushEnvelope } from "../types.ts";

interface EndpointBuffer {
  records: Map<string, BufferRecord>;
  inflight: Set<string>;
  waiters: Array<() => void>;
}

export class ReconnectingBuffers implements Buffers {
  private readonly buffers = new Map<string, EndpointBuffer>();

  constructor(private readonly env: Env) {}

  append(endpointId: string, id: string, envelope: PushEnvelope, cb: (ok: boolean) => void): void {
    const buf = this.bufferOf(endpointId);
    if (buf.records.has(id) || buf.inflight.has(id)) {
      this.env.log("debug", "buffer_append_duplicate_skipped", { endpoint_id: endpointId, id });
      cb(true);
      return;
    }
    const record: BufferRecord = { id, arrived_at: this.env.iso(), envelope };
    buf.inflight.add(id);
    this.env.storage({ op: "append_buffer", endpointId, record }, (ok, error) => {
      const live = this.buffers.get(endpointId) === buf;
      buf.inflight.delete(id);
      if (ok && live) buf.records.set(id, record);
      if (!ok)
        this.env.log("warn", "buffer_for_reconnecting_endpoint_failed", { endpoint_id: endpointId, error });
      if (live && buf.inflight.size === 0) this.wake(buf);
      cb(ok && live);
    });
  }

  count(endpointId: string): number {
    return this.buffers.get(endpointId)?.records.size ?? 0;
  }

  inflight(endpointId: string): number {
    return this.buffers.get(endpointId)?.inflight.size ?? 0;
  }

  /** Stored records in append order. */
  records(endpointId: string): BufferRecord[] {
    const buf = this.buffers.get(endpointId);
    return buf ? [...buf.records.values()] : [];
  }

  /** Run `cb` once no append for `endpointId` is in flight (at once if none is). */
  whenSettled(endpointId: string, cb: () => void): void {
    const buf = this.buffers.get(endpointId);
    if (!buf || buf.inflight.size === 0) {
      cb();
      return;
    }
    buf.waiters.push(this.env.bind(cb));
  }

  /** Does `endpointId` have a buffer in this process (records or appends in flight)? */
  has(endpointId: string): boolean {
    return this.buffers.has(endpointId);
  }

  /** The reattach drain pushed `id` and the plugin received it. */
  delivered(endpointId: string, id: string): void {
    this.buffers.get(endpointId)?.records.delete(id);
  }

  /** Forget the mirror but keep the file; returns the stored records in append order. */
  retire(endpointId: string): BufferRecord[] {
    const buf = this.buffers.get(endpointId);
    if (!buf) return [];
    this.buffers.delete(endpointId);
    this.wake(buf);
    return [...buf.records.values()];
  }

  delete(endpointId: string): void {
    const buf = this.buffers.get(endpointId);
    this.buffers.delete(endpointId);
    this.env.storage({ op: "delete_buffer", endpointId });
    if (buf) this.wake(buf);
  }

  /** Endpoint ids with a non-empty mirror (checkers: a closed endpoint has none). */
  endpointsWithRecords(): string[] {
    const out: string[] = [];
    for (const [id, b] of this.buffers) if (b.records.size > 0) out.push(id);
    return out;
  }

  private bufferOf(endpointId: string): EndpointBuffer {
    let buf = this.buffers.get(endpointId);
    if (!buf) {
      buf = { records: new Map(), inflight: new Set(), waiters: [] };
      this.buffers.set(endpointId, buf);
    }
    return buf;
  }

  private wake(buf: EndpointBuffer): void {
    const ws = buf.waiters;
    buf.waiters = [];
    for (const w of ws) w();
  }
}
