import { describe, expect, it } from "vitest";
import type { StorageOp } from "../../src/broker/types.ts";
import { CursorWrites, type StorageOutcome } from "../../src/daemon/cursor-writes.ts";

/** A coalescer whose "later" queue the test runs by hand, recording writes and answers. */
function world(outcome: StorageOutcome = { ok: true }) {
  const writes: number[] = [];
  const answers: Array<[number, StorageOutcome]> = [];
  const later: Array<() => void> = [];
  const cw = new CursorWrites(
    (op: StorageOp) => {
      if (op.op === "write_cursor") writes.push(op.lastKnownSeq);
      return outcome;
    },
    (id, r) => answers.push([id, r]),
    (fn) => later.push(fn),
  );
  const runLater = () => {
    for (const fn of later.splice(0)) fn();
  };
  return { cw, writes, answers, runLater };
}

describe("coalesced cursor writes", () => {
  it("writes only the newest of the requests waiting for the same turn and answers all of them", () => {
    const { cw, writes, answers, runLater } = world();
    cw.request(1, 10);
    cw.request(2, 11);
    cw.request(3, 12);
    expect(writes).toEqual([]);
    runLater();
    expect(writes).toEqual([12]);
    expect(answers.map(([id]) => id)).toEqual([1, 2, 3]);
  });

  it("writes again for requests that arrive after a write", () => {
    const { cw, writes, runLater } = world();
    cw.request(1, 1);
    runLater();
    cw.request(2, 2);
    runLater();
    expect(writes).toEqual([1, 2]);
  });

  it("answers every folded request with the failure of the one write", () => {
    const { cw, answers, runLater } = world({ ok: false, error: "EIO" });
    cw.request(1, 5);
    cw.request(2, 6);
    runLater();
    expect(answers).toEqual([
      [1, { ok: false, error: "EIO" }],
      [2, { ok: false, error: "EIO" }],
    ]);
  });

  it("writes nothing and answers nothing once dropped", () => {
    const { cw, writes, answers, runLater } = world();
    cw.request(1, 5);
    cw.drop();
    runLater();
    cw.request(2, 6);
    runLater();
    expect(writes).toEqual([]);
    expect(answers).toEqual([]);
  });

  it("can be flushed at once, leaving nothing for the scheduled turn", () => {
    const { cw, writes, runLater } = world();
    cw.request(1, 7);
    cw.flush();
    expect(writes).toEqual([7]);
    runLater();
    expect(writes).toEqual([7]);
    expect(cw.pending).toBe(0);
  });
});
