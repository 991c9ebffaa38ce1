import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FileStorage } from "../../src/daemon/storage.ts";
import type { BufferRecord } from "../../src/broker/types.ts";
import { DaemonWorld, until } from "../support/daemon-world.ts";

const rec = (id: string): BufferRecord => ({
  id,
  arrived_at: "2024-01-01T00:00:00.000Z",
  envelope: { from: "agent://a", content: `hello ${id}`, contentType: "text", sourceMessageId: id },
});

describe("buffer files of an earlier daemon process", () => {
  let world: DaemonWorld;
  afterEach(async () => world?.close());

  it("are surfaced as undispatched rows at start-up and deleted once the platform has them", async () => {
    world = await new DaemonWorld().listen();
    const earlier = new FileStorage(world.dataDir);
    earlier.init();
    earlier.appendBuffer("ep-gone", rec("m-old-1"));
    earlier.appendBuffer("ep-gone", rec("m-old-2"));
    const path = earlier.bufferPath("ep-gone");
    expect(existsSync(path)).toBe(true);

    const broker = await world.startBroker();
    await until(() => !existsSync(path), "the surfaced buffer file to be deleted");
    const rows = world.api.model.rows;
    for (const id of ["m-old-1", "m-old-2"]) {
      expect(rows.get(id)).toMatchObject({ reason: "closed_session_continuation", hint: "ep-gone" });
    }
    expect(broker.core.inbox.ids()).toEqual(["m-old-1", "m-old-2"]);
    expect(broker.core.internalErrors).toBe(0);
  });
});

describe("reading buffer files at start-up", () => {
  it("names each file by the endpoint id its lines carry, and a legacy file by an alias that deletes it", () => {
    const root = mkdtempSync(join(tmpdir(), "broker-buffers-"));
    const dir = join(root, "data");
    const storage = new FileStorage(dir);
    storage.init();
    storage.appendBuffer("ep/1", rec("m1"));
    storage.appendBuffer("ep/1", rec("m2"));
    storage.appendBuffer("ep-2", rec("m3"));
    const legacy = join(storage.buffersDir, "legacy.ndjson");
    writeFileSync(legacy, `${JSON.stringify(rec("m4"))}\n`);

    const found = new FileStorage(dir).readBuffers();
    const byId = new Map(found.map((f) => [f.endpointId, f.records.map((r) => r.id)]));
    expect(byId.get("ep/1")).toEqual(["m1", "m2"]);
    expect(byId.get("ep-2")).toEqual(["m3"]);
    expect(byId.get("orphan:legacy")).toEqual(["m4"]);
    expect(found.flatMap((f) => f.records).every((r) => !("endpoint_id" in r))).toBe(true);

    const reader = new FileStorage(dir);
    reader.readBuffers();
    expect(reader.perform({ op: "delete_buffer", endpointId: "orphan:legacy" })).toEqual({ ok: true });
    expect(existsSync(legacy)).toBe(false);
    rmSync(root, { recursive: true, force: true });
  });
});
