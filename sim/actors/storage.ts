/**
 * The simulated disk: the persisted delivery cursor and the per-endpoint reconnecting buffers.
 * It is the only state that survives a simulated broker crash (a restart starts the broker with
 * `cursor` as its initial cursor and the buffer files as its initial buffers, and may tear or fail
 * writes through `faults`).
 *
 * Appends skip a record whose id is already in the file, as the reference does (PROTOCOL §1.5).
 */

import type { BufferRecord, StorageOp } from "../../src/broker/types.ts";

export interface StorageFaultHooks {
  /** Return an error string to fail the operation (nothing is written). */
  onOp(op: StorageOp): string | undefined;
}

export interface StorageResult {
  ok: boolean;
  error?: string;
}

export class SimStorage {
  /** The durable cursor value (0 when never written). */
  cursor = 0;
  /**
   * The cursor file is unreadable (a torn write on a crash). The daemon's storage treats an
   * invalid file as absent, so a restart reads 0 until the next successful write replaces it.
   */
  cursorCorrupt = false;
  /** Every cursor value made durable, in order. */
  readonly cursorHistory: number[] = [];
  readonly buffers = new Map<string, BufferRecord[]>();
  faults: StorageFaultHooks | undefined;
  ops = 0;

  /** What a (re)starting broker reads from the cursor file. */
  readCursor(): number {
    return this.cursorCorrupt ? 0 : this.cursor;
  }

  /**
   * What a (re)starting broker finds in the buffers directory: every file with its records, in the
   * order the files were created. The broker surfaces them into its inbox (L5) and deletes each file
   * once they are safe there.
   */
  readBuffers(): Array<{ endpointId: string; records: BufferRecord[] }> {
    const out: Array<{ endpointId: string; records: BufferRecord[] }> = [];
    for (const [endpointId, records] of this.buffers) {
      if (records.length > 0) out.push({ endpointId, records: [...records] });
    }
    return out;
  }

  /** A torn write left the cursor file half-written (faults use it). */
  corruptCursor(): void {
    this.cursorCorrupt = true;
  }

  apply(op: StorageOp): StorageResult {
    this.ops++;
    const err = this.faults?.onOp(op);
    if (err !== undefined) return { ok: false, error: err };
    switch (op.op) {
      case "write_cursor":
        this.cursor = op.lastKnownSeq;
        this.cursorCorrupt = false;
        this.cursorHistory.push(op.lastKnownSeq);
        return { ok: true };
      case "append_buffer": {
        let file = this.buffers.get(op.endpointId);
        if (!file) {
          file = [];
          this.buffers.set(op.endpointId, file);
        }
        if (!file.some((r) => r.id === op.record.id)) file.push(op.record);
        return { ok: true };
      }
      case "delete_buffer":
        this.buffers.delete(op.endpointId);
        return { ok: true };
      default:
        return { ok: false, error: "unknown storage op" };
    }
  }
}
