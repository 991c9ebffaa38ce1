/**
 * The undispatched inbox journal on disk (`<dataDir>/inbox.ndjson`), format version 1. The format
 * is documented in docs/durability.md; in short, one JSON object per line:
 *
 *   {"format":"runtime-broker-inbox","version":1}          header, always the first line
 *   {"op":"put","row":{id, arrived_at, sender_address, …}}  a row entered the inbox (or changed)
 *   {"op":"remove","id":"…"}                               the row's message is safe or settled
 *
 * Rules:
 * 1. Every append is one line written with a single write and fdatasync'd before it is reported
 *    ok: the core posts the row to the platform, and lets its seq be acked, only after that.
 * 2. Reading folds the lines in order: a put sets the row (first put fixes its position), a
 *    remove deletes it. A last line that is not complete JSON (a torn write: the process died in
 *    the middle of it) is ignored; so is any other invalid line, each logged. Reading never throws.
 * 3. A file whose header names another format or a newer version is not read and not written: it
 *    is renamed to `inbox.ndjson.unsupported-<n>` (kept for whoever can read it) and the broker
 *    starts with an empty inbox, logged as an error.
 * 4. `open` (called by `read`, or by the first append) compacts: it rewrites the file atomically as
 *    the header, one put per live row and one remove per remembered departed id (the last
 *    `departedMax` removed ids, which the core uses to answer late dispatches of rows it handed
 *    off), which also drops a torn tail before anything is appended after it. Appends compact again
 *    once the file holds more than `compactAfterLines` lines and four times as many as there are
 *    live rows and departed ids.
 */

import { closeSync, fdatasyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import type { InboxRow } from "../broker/model.ts";
import type { Logger } from "./logger.ts";
import { writeAtomic } from "./storage.ts";

export const INBOX_JOURNAL_FORMAT = "runtime-broker-inbox";
export const INBOX_JOURNAL_VERSION = 1;
const HEADER = `${JSON.stringify({ format: INBOX_JOURNAL_FORMAT, version: INBOX_JOURNAL_VERSION })}\n`;

export type InboxJournalLine = { op: "put"; row: InboxRow } | { op: "remove"; id: string };

export interface InboxJournalContents {
  rows: InboxRow[];
  departed: string[];
}

export class InboxJournal {
  private rows = new Map<string, InboxRow>();
  /** Removed ids, oldest first, at most `departedMax` (a Set keeps insertion order). */
  private departed = new Set<string>();
  private opened = false;
  private lines = 0;

  constructor(
    readonly path: string,
    private readonly logger?: Logger,
    private readonly compactAfterLines = 10_000,
    private readonly departedMax = 4_096,
  ) {}

  /** The live rows in first-put order and the departed ids (rule 2); compacts the file (rule 4). */
  read(): InboxJournalContents {
    this.open();
    return { rows: [...this.rows.values()], departed: [...this.departed] };
  }

  /** Append one operation durably (rule 1). Throws on an I/O error (the caller reports it). */
  append(line: InboxJournalLine): void {
    this.open();
    const fd = openSync(this.path, "a", 0o600);
    try {
      writeAll(fd, Buffer.from(`${JSON.stringify(line)}\n`, "utf8"));
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.lines++;
    this.apply(line);
    const live = this.rows.size + this.departed.size;
    if (this.lines > this.compactAfterLines && this.lines > 4 * live) this.compact();
  }

  private open(): void {
    if (this.opened) return;
    this.opened = true;
    this.load();
    this.compact();
  }

  private compact(): void {
    let text = HEADER;
    for (const row of this.rows.values()) text += `${JSON.stringify({ op: "put", row })}\n`;
    for (const id of this.departed) text += `${JSON.stringify({ op: "remove", id })}\n`;
    writeAtomic(this.path, text);
    this.lines = this.rows.size + this.departed.size;
  }

  private apply(line: InboxJournalLine): void {
    if (line.op === "put") {
      this.rows.set(line.row.id, line.row);
      this.departed.delete(line.row.id);
      return;
    }
    this.rows.delete(line.id);
    this.departed.delete(line.id);
    this.departed.add(line.id);
    if (this.departed.size > this.departedMax) {
      const oldest = this.departed.values().next().value as string;
      this.departed.delete(oldest);
    }
  }

  private load(): void {
    this.rows = new Map();
    this.departed = new Set();
    const rows = this.rows;
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        this.logger?.error("inbox_journal_unreadable", { path: this.path, error: (err as Error).message });
      }
      return;
    }
    const lines = text.split("\n");
    // A complete file ends with a newline, so its last piece is empty; anything else is torn.
    const tail = lines.pop() ?? "";
    if (tail.length > 0) this.logger?.warn("inbox_journal_torn_tail_ignored", { path: this.path });
    if (lines.length === 0) return;
    const header = parse(lines[0]!);
    if (!isHeader(header)) {
      this.setAside(header);
      return;
    }
    for (let i = 1; i < lines.length; i++) {
      const line = parse(lines[i]!);
      if (isLine(line)) this.apply(line);
      else this.logger?.warn("inbox_journal_line_invalid", { path: this.path, line: i + 1 });
    }
    if (rows.size > 0) this.logger?.info("inbox_journal_read", { path: this.path, rows: rows.size });
  }

  /** Rule 3: keep a file this version cannot read out of the way, untouched. */
  private setAside(header: unknown): void {
    const aside = `${this.path}.unsupported-${Date.now()}`;
    this.logger?.error("inbox_journal_unsupported", {
      path: this.path,
      header: JSON.stringify(header) ?? null,
      moved_to: aside,
    });
    renameSync(this.path, aside);
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isHeader(v: unknown): boolean {
  return isObject(v) && v.format === INBOX_JOURNAL_FORMAT && v.version === INBOX_JOURNAL_VERSION;
}

/** A journal line whose row has the fields the core relies on. */
export function isLine(v: unknown): v is InboxJournalLine {
  if (!isObject(v)) return false;
  if (v.op === "remove") return typeof v.id === "string" && v.id.length > 0;
  if (v.op !== "put" || !isObject(v.row)) return false;
  const r = v.row;
  return (
    typeof r.id === "string" &&
    r.id.length > 0 &&
    typeof r.arrived_at === "string" &&
    typeof r.sender_address === "string" &&
    typeof r.content === "string" &&
    typeof r.content_type === "string" &&
    isObject(r.metadata) &&
    (r.reason === "unaddressed" ||
      r.reason === "closed_session_continuation" ||
      r.reason === "correlated_continuation") &&
    (r.source_message_id === undefined || typeof r.source_message_id === "string")
  );
}

function writeAll(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}
