/**
 * Files the broker keeps (PROTOCOL §1.14): the delivery cursor, the discovery record, the
 * per-endpoint reconnecting buffers and (our addition, docs/durability.md) the undispatched inbox
 * journal. Everything lives under one data directory (mode 0700):
 *
 *   <dataDir>/delivery-cursor.json          {version:1, lastKnownSeq, updatedAt}
 *   <dataDir>/discovery.json                {version:1, pid, startedAt, ipcUrl, bearerToken}
 *   <dataDir>/buffers/<sha256(id)>.ndjson   one BufferRecord per line, plus `endpoint_id`
 *   <dataDir>/inbox.ndjson                  versioned journal of inbox rows (inbox-journal.ts)
 *
 * Rules:
 * 1. Records are written atomically: a temp file in the same directory (mode 0600), fsync'd, then
 *    renamed over the target, so a crash leaves either the old or the new record, never half.
 * 2. Buffer appends are fdatasync'd before they are reported ok: the core only acknowledges a
 *    message to the connector once it is durable.
 * 3. A missing, unreadable or invalid file is treated as absent and logged; reading never throws.
 * 4. All file work is synchronous: the records are tiny, and doing them in output order is what
 *    makes "the cursor on disk never runs ahead of the ack" easy to see.
 * 5. Buffer file names are hashes, so each line also carries the `endpoint_id` it was written for:
 *    at start-up `readBuffers` hands every file left by an earlier process to the core, which
 *    surfaces the records into its inbox and deletes the file afterwards (L5). A file without any
 *    `endpoint_id` (written before this rule) is named `orphan:<file name>`; deleting that name
 *    deletes the file.
 */

import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { BufferRecord, StorageOp } from "../broker/types.ts";
import { InboxJournal, type InboxJournalContents } from "./inbox-journal.ts";
import { processAlive } from "./ipc-server.ts";
import type { Logger } from "./logger.ts";

export interface CursorRecord {
  version: 1;
  lastKnownSeq: number;
  updatedAt: string;
}

export interface DiscoveryRecord {
  version: 1;
  pid: number;
  startedAt: string;
  ipcUrl: string;
  bearerToken: string;
}

export type StorageResult = { ok: true } | { ok: false; error: string };

export class FileStorage {
  readonly cursorPath: string;
  readonly discoveryPath: string;
  readonly buffersDir: string;
  readonly inboxJournal: InboxJournal;
  /** Paths of files found by `readBuffers` whose endpoint id is not known (legacy lines). */
  private readonly orphanPaths = new Map<string, string>();

  constructor(
    readonly dataDir: string,
    private readonly logger?: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.cursorPath = join(dataDir, "delivery-cursor.json");
    this.discoveryPath = join(dataDir, "discovery.json");
    this.buffersDir = join(dataDir, "buffers");
    this.inboxJournal = new InboxJournal(join(dataDir, "inbox.ndjson"), logger);
  }

  /** Create the data directory (0700). Throws when it cannot: without it nothing is durable. */
  init(): void {
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    chmodSync(this.dataDir, 0o700);
    this.removeStaleTempFiles();
  }

  /**
   * A process killed between creating an atomic write's temp file and renaming it leaves
   * `<file>.<pid>.<hex>.tmp` behind; at start every such file of a process that is no longer
   * alive is removed (a live pid may be a concurrent writer, so its files stay).
   */
  private removeStaleTempFiles(): void {
    let names: string[];
    try {
      names = readdirSync(this.dataDir);
    } catch {
      return;
    }
    for (const name of names) {
      const m = /^(?:delivery-cursor|discovery)\.json\.(\d+)\.[0-9a-f]+\.tmp$/.exec(name);
      if (!m || processAlive(Number(m[1]))) continue;
      try {
        rmSync(join(this.dataDir, name), { force: true });
        this.logger?.info("stale_temp_file_removed", { name });
      } catch (err) {
        this.logger?.warn("stale_temp_file_unremovable", { name, error: (err as Error).message });
      }
    }
  }

  // ---- core storage outputs ----

  perform(op: StorageOp): StorageResult {
    try {
      switch (op.op) {
        case "write_cursor":
          this.writeCursor(op.lastKnownSeq);
          return { ok: true };
        case "append_buffer":
          this.appendBuffer(op.endpointId, op.record);
          return { ok: true };
        case "delete_buffer":
          rmSync(this.bufferPath(op.endpointId), { force: true });
          return { ok: true };
        case "inbox_put":
          this.inboxJournal.append({ op: "put", row: op.row });
          return { ok: true };
        case "inbox_remove":
          this.inboxJournal.append({ op: "remove", id: op.id });
          return { ok: true };
        default: {
          const never: never = op;
          return { ok: false, error: `unknown storage op ${JSON.stringify(never)}` };
        }
      }
    } catch (err) {
      const error = (err as Error).message;
      this.logger?.error("storage_op_failed", { op: op.op, error });
      return { ok: false, error };
    }
  }

  /** The inbox journal an earlier process left, for `BrokerCoreConfig.initialInbox`; never throws. */
  readInbox(): InboxJournalContents {
    try {
      return this.inboxJournal.read();
    } catch (err) {
      this.logger?.error("inbox_journal_open_failed", { error: (err as Error).message });
      return { rows: [], departed: [] };
    }
  }

  // ---- cursor ----

  writeCursor(lastKnownSeq: number): void {
    const rec: CursorRecord = { version: 1, lastKnownSeq, updatedAt: new Date(this.now()).toISOString() };
    writeAtomic(this.cursorPath, `${JSON.stringify(rec)}\n`);
  }

  /** The persisted `lastKnownSeq`, or 0 when the file is missing or invalid. */
  readCursor(): number {
    const rec = this.readJson(this.cursorPath, "cursor");
    if (rec === undefined) return 0;
    if (!isCursorRecord(rec)) {
      this.logger?.warn("cursor_file_invalid", { path: this.cursorPath });
      return 0;
    }
    return rec.lastKnownSeq;
  }

  // ---- discovery ----

  writeDiscovery(rec: DiscoveryRecord): void {
    writeAtomic(this.discoveryPath, `${JSON.stringify(rec)}\n`);
  }

  readDiscovery(): DiscoveryRecord | undefined {
    const rec = this.readJson(this.discoveryPath, "discovery");
    if (rec === undefined) return undefined;
    if (!isDiscoveryRecord(rec)) {
      this.logger?.warn("discovery_file_invalid", { path: this.discoveryPath });
      return undefined;
    }
    return rec;
  }

  /** Delete the discovery file only if it still names this broker (another may have replaced it). */
  deleteDiscoveryIfOwned(own: Pick<DiscoveryRecord, "pid" | "ipcUrl" | "bearerToken">): boolean {
    const rec = this.readDiscovery();
    if (!rec || rec.pid !== own.pid || rec.ipcUrl !== own.ipcUrl || rec.bearerToken !== own.bearerToken) {
      return false;
    }
    try {
      unlinkSync(this.discoveryPath);
      return true;
    } catch (err) {
      this.logger?.warn("discovery_delete_failed", { error: (err as Error).message });
      return false;
    }
  }

  // ---- buffers ----

  bufferPath(endpointId: string): string {
    const orphan = this.orphanPaths.get(endpointId);
    if (orphan !== undefined) return orphan;
    const name = createHash("sha256").update(endpointId, "utf8").digest("hex").slice(0, 32);
    return join(this.buffersDir, `${name}.ndjson`);
  }

  appendBuffer(endpointId: string, record: BufferRecord): void {
    mkdirSync(this.buffersDir, { recursive: true, mode: 0o700 });
    const fd = openSync(this.bufferPath(endpointId), "a", 0o600);
    try {
      writeAll(fd, Buffer.from(`${JSON.stringify({ ...record, endpoint_id: endpointId })}\n`, "utf8"));
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Records of a buffer in file order; a torn or invalid line is skipped and logged. */
  readBuffer(endpointId: string): BufferRecord[] {
    return this.readBufferFile(this.bufferPath(endpointId), endpointId).records;
  }

  /**
   * Every non-empty buffer file, for `BrokerCoreConfig.initialBuffers` (rule 5), ordered by file
   * name so a restart sees the same order every time.
   */
  readBuffers(): Array<{ endpointId: string; records: BufferRecord[] }> {
    let names: string[];
    try {
      names = readdirSync(this.buffersDir).filter((n) => n.endsWith(".ndjson"));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        this.logger?.warn("buffers_dir_unreadable", { path: this.buffersDir, error: (err as Error).message });
      }
      return [];
    }
    const out: Array<{ endpointId: string; records: BufferRecord[] }> = [];
    for (const name of names.sort()) {
      const path = join(this.buffersDir, name);
      const { records, endpointId: named } = this.readBufferFile(path, name);
      if (records.length === 0) continue;
      let endpointId = named;
      if (endpointId === undefined || this.bufferPath(endpointId) !== path) {
        endpointId = `orphan:${name.slice(0, -".ndjson".length)}`;
        this.orphanPaths.set(endpointId, path);
      }
      out.push({ endpointId, records });
    }
    if (out.length > 0) this.logger?.info("buffer_files_found", { files: out.length });
    return out;
  }

  private readBufferFile(path: string, label: string): { records: BufferRecord[]; endpointId?: string } {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        this.logger?.warn("buffer_file_unreadable", { endpointId: label, error: (err as Error).message });
      }
      return { records: [] };
    }
    const records: BufferRecord[] = [];
    let endpointId: string | undefined;
    for (const line of text.split("\n")) {
      if (line.trim().length === 0) continue;
      try {
        const { endpoint_id, ...rec } = JSON.parse(line) as BufferRecord & { endpoint_id?: unknown };
        if (typeof rec?.id === "string" && typeof rec.envelope === "object" && rec.envelope !== null) {
          if (typeof endpoint_id === "string" && endpointId === undefined) endpointId = endpoint_id;
          records.push(rec);
          continue;
        }
      } catch {
        // fall through: logged below
      }
      this.logger?.warn("buffer_line_invalid", { endpointId: label });
    }
    return endpointId === undefined ? { records } : { records, endpointId };
  }

  private readJson(path: string, what: string): unknown {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "ENOENT")
        this.logger?.warn(`${what}_file_unreadable`, { path, error: (err as Error).message });
      return undefined;
    }
    try {
      return JSON.parse(text) as unknown;
    } catch {
      this.logger?.warn(`${what}_file_invalid`, { path, reason: "not_json" });
      return undefined;
    }
  }
}

/** Write `text` to `path` through a fsync'd temp file and a rename (mode 0600). */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(tmp, "wx", 0o600);
  try {
    writeAll(fd, Buffer.from(text, "utf8"));
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function isCursorRecord(v: unknown): v is CursorRecord {
  return (
    isObject(v) &&
    v.version === 1 &&
    typeof v.lastKnownSeq === "number" &&
    Number.isSafeInteger(v.lastKnownSeq) &&
    v.lastKnownSeq >= 0
  );
}

export function isDiscoveryRecord(v: unknown): v is DiscoveryRecord {
  return (
    isObject(v) &&
    v.version === 1 &&
    typeof v.pid === "number" &&
    Number.isSafeInteger(v.pid) &&
    v.pid > 0 &&
    typeof v.ipcUrl === "string" &&
    typeof v.bearerToken === "string" &&
    typeof v.startedAt === "string"
  );
}
