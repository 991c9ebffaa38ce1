/**
 * The daemon's inbox journal file (src/daemon/inbox-journal.ts, format version 1): round trip
 * through a restart, a torn last line, invalid lines, an unsupported version, departed ids and
 * compaction. Each test uses its own temp directory.
 */

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { InboxRow } from "../../src/broker/model.ts";
import { InboxJournal } from "../../src/daemon/inbox-journal.ts";
import { Logger, MemoryLogWriter } from "../../src/daemon/logger.ts";
import { FileStorage } from "../../src/daemon/storage.ts";

function row(id: string, content = "c"): InboxRow {
  return {
    id,
    source_message_id: id,
    arrived_at: "2025-01-01T00:00:00.000Z",
    sender_address: "agent://a",
    content,
    content_type: "text",
    metadata: { k: "v" },
    reason: "unaddressed",
  };
}

const HEADER = '{"format":"runtime-broker-inbox","version":1}';

describe("inbox journal file", () => {
  let dir: string;
  let path: string;
  let logs: MemoryLogWriter;
  let logger: Logger;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "broker-inbox-"));
    path = join(dir, "inbox.ndjson");
    logs = new MemoryLogWriter();
    logger = new Logger({ level: "debug", stream: logs });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const events = () => logs.events().map((e) => String(e.event));

  it("starts empty without a file, and a restart reads back the rows still in the inbox, in order", () => {
    const j = new InboxJournal(path, logger);
    expect(j.read()).toEqual({ rows: [], departed: [] });
    j.append({ op: "put", row: row("m1") });
    j.append({ op: "put", row: row("m2") });
    j.append({ op: "put", row: row("m1", "overwritten") });
    j.append({ op: "remove", id: "m2" });
    j.append({ op: "put", row: row("m3") });
    expect(readFileSync(path, "utf8").split("\n")[0]).toBe(HEADER);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = new InboxJournal(path, logger).read();
    expect(again.rows).toEqual([row("m1", "overwritten"), row("m3")]);
    expect(again.departed).toEqual(["m2"]);
  });

  it("ignores a torn last line and drops it before the next append", () => {
    writeFileSync(
      path,
      `${HEADER}\n${JSON.stringify({ op: "put", row: row("m1") })}\n{"op":"put","row":{"id":"m2","arr`,
    );
    const j = new InboxJournal(path, logger);
    expect(j.read().rows).toEqual([row("m1")]);
    expect(events()).toContain("inbox_journal_torn_tail_ignored");
    j.append({ op: "put", row: row("m3") });
    expect(new InboxJournal(path, logger).read().rows).toEqual([row("m1"), row("m3")]);
  });

  it("skips an invalid line in the middle and logs it", () => {
    const lines = [
      HEADER,
      JSON.stringify({ op: "put", row: row("m1") }),
      "not json",
      JSON.stringify({ op: "put", row: { id: "m2" } }),
      JSON.stringify({ op: "put", row: row("m3") }),
    ];
    writeFileSync(path, `${lines.join("\n")}\n`);
    expect(new InboxJournal(path, logger).read().rows.map((r) => r.id)).toEqual(["m1", "m3"]);
    expect(events().filter((e) => e === "inbox_journal_line_invalid")).toHaveLength(2);
  });

  it("sets a file of another version aside untouched and starts empty", () => {
    const future = `{"format":"runtime-broker-inbox","version":2}\n{"op":"put","row":{}}\n`;
    writeFileSync(path, future);
    const j = new InboxJournal(path, logger);
    expect(j.read()).toEqual({ rows: [], departed: [] });
    const aside = readdirSync(dir).filter((f) => f.startsWith("inbox.ndjson.unsupported-"));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, aside[0]!), "utf8")).toBe(future);
    expect(events()).toContain("inbox_journal_unsupported");
    j.append({ op: "put", row: row("m1") });
    expect(new InboxJournal(path, logger).read().rows).toEqual([row("m1")]);
  });

  it("compacts on open and once the file grows far beyond its live content", () => {
    const j = new InboxJournal(path, logger, 20, 3);
    for (let i = 0; i < 60; i++) {
      j.append({ op: "put", row: row(`m${i}`) });
      if (i % 10 !== 0) j.append({ op: "remove", id: `m${i}` });
    }
    // 114 appends; without compaction the file would hold 115 lines.
    expect(readFileSync(path, "utf8").trim().split("\n").length).toBeLessThan(50);
    const back = new InboxJournal(path, logger, 20, 3).read();
    expect(back.rows.map((r) => r.id)).toEqual(["m0", "m10", "m20", "m30", "m40", "m50"]);
    expect(back.departed).toEqual(["m57", "m58", "m59"]);
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(1 + 6 + 3);
  });

  it("is what FileStorage writes for the core's inbox ops, and a missing data dir is reported not thrown", () => {
    const storage = new FileStorage(join(dir, "data"), logger);
    storage.init();
    expect(storage.perform({ op: "inbox_put", row: row("m1") })).toEqual({ ok: true });
    expect(storage.perform({ op: "inbox_put", row: row("m2") })).toEqual({ ok: true });
    expect(storage.perform({ op: "inbox_remove", id: "m1" })).toEqual({ ok: true });
    expect(new FileStorage(join(dir, "data"), logger).readInbox()).toEqual({
      rows: [row("m2")],
      departed: ["m1"],
    });
    rmSync(join(dir, "data"), { recursive: true });
    expect(storage.perform({ op: "inbox_put", row: row("m3") }).ok).toBe(false);
    expect(existsSync(join(dir, "data"))).toBe(false);
  });
});
