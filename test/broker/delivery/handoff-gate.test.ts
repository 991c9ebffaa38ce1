import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HandoffGate } from "../../../src/broker/inbound/handoff-gate.ts";

describe("the hand-off gate", () => {
  it("releases hand-offs to one endpoint in seq order whatever order they become ready in", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 12 }),
        fc.func(fc.boolean()),
        fc.infiniteStream(fc.nat()),
        (seqs, dropsOut, picks) => {
          const gate = new HandoffGate();
          const tickets = seqs.map((s) => gate.join("e", s));
          const handed: number[] = [];
          const left: number[] = [];
          const order = [...tickets];
          const it = picks[Symbol.iterator]();
          while (order.length > 0) {
            const t = order.splice(it.next().value % order.length, 1)[0]!;
            if (dropsOut(t.seq)) {
              left.push(t.seq);
              gate.leave(t);
            } else gate.whenTurn(t, () => handed.push(t.seq));
          }
          expect(handed).toEqual([...handed].sort((a, b) => a - b));
          expect(handed.length + left.length).toBe(seqs.length);
          expect(gate.waiting("e")).toEqual([]);
        },
      ),
    );
  });

  it("keeps endpoints independent", () => {
    const gate = new HandoffGate();
    const a1 = gate.join("a", 1);
    const b2 = gate.join("b", 2);
    const handed: string[] = [];
    gate.whenTurn(b2, () => handed.push("b2"));
    expect(handed).toEqual(["b2"]);
    gate.whenTurn(a1, () => handed.push("a1"));
    expect(handed).toEqual(["b2", "a1"]);
  });
});
