import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Logger, MemoryLogWriter } from "../../src/daemon/logger.ts";
import { FileStorage } from "../../src/daemon/storage.ts";

describe("file storage", () => {
  let dir: string;
  let logs: MemoryLogWriter;
  let storage: FileStorage;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), "broker-storage-")), "data");
    logs = new MemoryLogWriter();
    storage = new FileStorage(dir, new Logger({ level: "debug", stream: logs }));
    storage.init();
  });
  afterEach(() => rmSync(join(dir, ".."), { recursive: true, force: true }));

  it("creates the data directory with mode 0700", () => {
    expect(statSync(dir).mode & 0o777).toBe(0o700);
  });

  it("removes temp files a killed process left behind at start, but not a live process's", () => {
    // 2^22 + 1 is above the largest pid Linux can hand out, so that process cannot be alive.
    const dead = "delivery-cursor.json.4194305.a1b2c3.tmp";
    const live = `discovery.json.${process.pid}.d4e5f6.tmp`;
    writeFileSync(join(dir, dead), "{}");
    writeFileSync(join(dir, live), "{}");
    writeFileSync(join(dir, "notes.tmp"), "x");
    new FileStorage(dir, new Logger({ level: "debug", stream: logs })).init();
    expect(readdirSync(dir).sort()).toEqual([live, "notes.tmp"].sort());
    expect(logs.events().filter((e) => e.event === "stale_temp_file_removed")).toHaveLength(1);
  });

  it("writes the cursor record of §1.14 with mode 0600 and reads it back", () => {
    expect(storage.perform({ op: "write_cursor", lastKnownSeq: 42 })).toEqual({ ok: true });
    const rec = JSON.parse(readFileSync(storage.cursorPath, "utf8"));
    expect(rec).toMatchObject({ version: 1, lastKnownSeq: 42 });
    expect(typeof rec.updatedAt).toBe("string");
    expect(statSync(storage.cursorPath).mode & 0o777).toBe(0o600);
    expect(storage.readCursor()).toBe(42);
  });

  it("replaces the cursor atomically and leaves no temp files behind", () => {
    for (let i = 1; i <= 50; i++) storage.writeCursor(i);
    expect(storage.readCursor()).toBe(50);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("treats a missing cursor file as 0", () => {
    expect(storage.readCursor()).toBe(0);
  });

  it.each([
    ["not JSON", "{ half a rec"],
    ["a wrong version", JSON.stringify({ version: 2, lastKnownSeq: 5, updatedAt: "x" })],
    ["a negative seq", JSON.stringify({ version: 1, lastKnownSeq: -1, updatedAt: "x" })],
    ["a fractional seq", JSON.stringify({ version: 1, lastKnownSeq: 1.5, updatedAt: "x" })],
    ["an array", "[1,2,3]"],
    ["an empty file", ""],
  ])("treats a cursor file holding %s as absent and logs it", (_what, text) => {
    writeFileSync(storage.cursorPath, text);
    expect(storage.readCursor()).toBe(0);
    expect(logs.events().some((e) => String(e.event).startsWith("cursor_file_"))).toBe(true);
  });

  it("treats an unreadable cursor file as absent instead of crashing", () => {
    // A directory where the file should be fails to read for every user, root included.
    mkdirSync(storage.cursorPath);
    expect(storage.readCursor()).toBe(0);
    expect(logs.events().some((e) => e.event === "cursor_file_unreadable")).toBe(true);
  });

  it("writes the discovery record with mode 0600 and deletes it only while it names us", () => {
    const own = { pid: 4242, ipcUrl: "http://127.0.0.1:1", bearerToken: "tok" };
    storage.writeDiscovery({ version: 1, startedAt: "2024-01-01T00:00:00.000Z", ...own });
    expect(statSync(storage.discoveryPath).mode & 0o777).toBe(0o600);
    expect(storage.readDiscovery()).toMatchObject({ version: 1, ...own });
    expect(storage.deleteDiscoveryIfOwned({ ...own, bearerToken: "other" })).toBe(false);
    expect(storage.readDiscovery()).toBeDefined();
    expect(storage.deleteDiscoveryIfOwned(own)).toBe(true);
    expect(storage.readDiscovery()).toBeUndefined();
  });

  it("treats a corrupt discovery file as absent", () => {
    writeFileSync(storage.discoveryPath, '{"version":1,"pid":"x"}');
    expect(storage.readDiscovery()).toBeUndefined();
  });

  it("appends buffer records as NDJSON in order and deletes the buffer", () => {
    const rec = (id: string) => ({
      id,
      arrived_at: "2024-01-01T00:00:00.000Z",
      envelope: { from: "a", content: id, contentType: "text" },
    });
    for (const id of ["m1", "m2", "m3"]) {
      expect(storage.perform({ op: "append_buffer", endpointId: "ep/1", record: rec(id) })).toEqual({
        ok: true,
      });
    }
    const path = storage.bufferPath("ep/1");
    expect(readFileSync(path, "utf8").trim().split("\n")).toHaveLength(3);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(storage.readBuffer("ep/1").map((r) => r.id)).toEqual(["m1", "m2", "m3"]);
    expect(storage.perform({ op: "delete_buffer", endpointId: "ep/1" })).toEqual({ ok: true });
    expect(storage.readBuffer("ep/1")).toEqual([]);
  });

  it("skips a torn last buffer line instead of failing the whole buffer", () => {
    storage.appendBuffer("ep", {
      id: "m1",
      arrived_at: "t",
      envelope: { from: "a", content: "x", contentType: "text" },
    });
    writeFileSync(
      storage.bufferPath("ep"),
      `${readFileSync(storage.bufferPath("ep"), "utf8")}{"id":"m2","arr`,
    );
    expect(storage.readBuffer("ep").map((r) => r.id)).toEqual(["m1"]);
  });

  it("reports a failed write as a storage error rather than throwing", () => {
    rmSync(dir, { recursive: true, force: true });
    writeFileSync(dir, "a file where the directory was");
    const r = storage.perform({ op: "write_cursor", lastKnownSeq: 1 });
    expect(r.ok).toBe(false);
    expect(logs.events().some((e) => e.event === "storage_op_failed")).toBe(true);
  });
});
