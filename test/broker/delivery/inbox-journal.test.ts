/**
 * The inbox journal as the core writes it (src/broker/inbound/inbox.ts, durability points 1–4): an
 * add is written, a take is not (the row is held), settle records the removal, a restart restores
 * the rows and the departed ids, and without a journal (planted `inMemoryInbox`) nothing is written.
 */

import { describe, expect, it } from "vitest";
import { UndispatchedInbox } from "../../../src/broker/inbound/inbox.ts";
import type { InboxRow } from "../../../src/broker/model.ts";
import type { StorageOp } from "../../../src/broker/types.ts";

function row(id: string, content = "c"): InboxRow {
  return {
    id,
    source_message_id: id,
    arrived_at: "2025-01-01T00:00:00.000Z",
    sender_address: "agent://a",
    content,
    content_type: "text",
    metadata: {},
    reason: "unaddressed",
  };
}

/** A journal that records operations and answers them when told. */
function journal() {
  const ops: StorageOp[] = [];
  const pending: Array<(ok: boolean) => void> = [];
  return {
    ops,
    write: (op: StorageOp, cb: (ok: boolean) => void) => {
      ops.push(op);
      pending.push(cb);
    },
    answer(ok = true) {
      for (const cb of pending.splice(0)) cb(ok);
    },
  };
}

describe("inbox journal (core side)", () => {
  it("writes a put for every new row and reports durability only when the write is answered", () => {
    const j = journal();
    const inbox = new UndispatchedInbox(4, j.write);
    const seen: boolean[] = [];
    expect(inbox.tryAdd(row("m1"), undefined, (ok) => seen.push(ok))).toBe(true);
    expect(j.ops).toEqual([{ op: "inbox_put", row: row("m1") }]);
    expect(seen).toEqual([]);
    j.answer();
    expect(seen).toEqual([true]);
  });

  it("keeps a taken row in the journal until it is settled, then records its removal once", () => {
    const j = journal();
    const inbox = new UndispatchedInbox(4, j.write);
    inbox.tryAdd(row("m1"));
    j.answer();
    inbox.take("m1");
    expect(j.ops.map((o) => o.op)).toEqual(["inbox_put"]);
    expect(inbox.held("m1")).toBe(true);
    inbox.settle("m1");
    inbox.settle("m1");
    expect(j.ops.map((o) => o.op)).toEqual(["inbox_put", "inbox_remove"]);
    expect(inbox.held("m1")).toBe(false);
    expect(inbox.departed("m1")).toBe(true);
  });

  it("does not record a removal for a row that was put back before it was settled", () => {
    const j = journal();
    const inbox = new UndispatchedInbox(4, j.write);
    inbox.tryAdd(row("m1"));
    j.answer();
    const r = inbox.take("m1")!;
    expect(inbox.tryAdd(r)).toBe(true);
    inbox.settle("m1");
    expect(j.ops.map((o) => o.op)).toEqual(["inbox_put"]);
    expect(inbox.departed("m1")).toBe(false);
  });

  it("writes a put again after a failed one, so a redelivery can make the row durable", () => {
    const j = journal();
    const inbox = new UndispatchedInbox(4, j.write);
    const seen: boolean[] = [];
    inbox.tryAdd(row("m1"), undefined, (ok) => seen.push(ok));
    j.answer(false);
    inbox.tryAdd(row("m1", "again"));
    j.answer();
    expect(seen).toEqual([false]);
    expect(j.ops).toEqual([
      { op: "inbox_put", row: row("m1") },
      { op: "inbox_put", row: row("m1", "again") },
    ]);
  });

  it("drop takes and settles at once (a row the platform settled)", () => {
    const j = journal();
    const inbox = new UndispatchedInbox(4, j.write);
    inbox.tryAdd(row("m1"));
    expect(inbox.drop("m1")?.id).toBe("m1");
    expect(j.ops.map((o) => o.op)).toEqual(["inbox_put", "inbox_remove"]);
  });

  it("restores rows and departed ids without writing, even beyond its capacity", () => {
    const j = journal();
    const inbox = new UndispatchedInbox(1, j.write);
    inbox.restore([row("m1"), row("m2")], ["m0"]);
    expect(inbox.ids()).toEqual(["m1", "m2"]);
    expect(inbox.departed("m0")).toBe(true);
    expect(j.ops).toEqual([]);
    expect(inbox.tryAdd(row("m3"))).toBe(false);
    inbox.take("m1");
    inbox.settle("m1");
    expect(j.ops).toEqual([{ op: "inbox_remove", id: "m1" }]);
  });

  it("without a journal writes nothing and reports an add durable at once (the published broker)", () => {
    const inbox = new UndispatchedInbox(4);
    const seen: boolean[] = [];
    inbox.tryAdd(row("m1"), undefined, (ok) => seen.push(ok));
    expect(seen).toEqual([true]);
    inbox.take("m1");
    inbox.settle("m1");
    expect(inbox.departed("m1")).toBe(false);
  });

  it("remembers only the last departedMax departed ids", () => {
    const j = journal();
    const inbox = new UndispatchedInbox(8, j.write, 2);
    for (const id of ["a", "b", "c"]) {
      inbox.tryAdd(row(id));
      inbox.drop(id);
    }
    expect(["a", "b", "c"].map((id) => inbox.departed(id))).toEqual([false, true, true]);
  });
});
