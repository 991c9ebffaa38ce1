import { describe, expect, it } from "vitest";
import type { CheckerDef } from "../../sim/checkers/checker.ts";
import { CheckerIndex } from "../../sim/checkers/checker-index.ts";
import type { SimEvent } from "../../sim/kernel/events.ts";

function def(id: string, kinds?: CheckerDef["kinds"]): CheckerDef {
  return { id, statement: "", kind: "safety", kinds, create: () => ({ onEvent: () => undefined }) };
}

function ids(index: CheckerIndex, ev: SimEvent): string[] {
  return index.for(ev).map((e) => e.def.id);
}

const apiCall: SimEvent = {
  k: "out",
  t: 0,
  output: { kind: "api_call", id: 1, op: "heartbeat", args: { endpoint_id: "e" } } as never,
};
const push: SimEvent = { k: "out", t: 0, output: { kind: "ipc_response", id: 1, status: 200, body: {} } };
const frame: SimEvent = { k: "in", t: 0, input: { kind: "connector_frame", text: "{}" } as never };
const fact: SimEvent = { k: "truth", t: 0, fact: { f: "liveness_begin", budgetMs: 1 } };
const stepEnd: SimEvent = { k: "step_end", t: 0, internalErrors: 0 };

describe("the checker index", () => {
  const defs = [
    def("all"),
    def("outs", ["out"]),
    def("calls", ["out:api_call", "in:connector_frame"]),
    def("phase", ["truth:liveness_begin", "step_end"]),
  ];
  const index = new CheckerIndex(defs.map((d) => ({ def: d, inst: d.create() })));

  it("calls a checker for the events its kinds name, in registration order", () => {
    expect(ids(index, apiCall)).toEqual(["all", "outs", "calls"]);
    expect(ids(index, push)).toEqual(["all", "outs"]);
    expect(ids(index, frame)).toEqual(["all", "calls"]);
    expect(ids(index, fact)).toEqual(["all", "phase"]);
    expect(ids(index, stepEnd)).toEqual(["all", "phase"]);
  });

  it("shows every event to a checker that declares no kinds", () => {
    for (const ev of [apiCall, push, frame, fact, stepEnd]) expect(ids(index, ev)).toContain("all");
  });

  it("rejects a kinds entry that names no event", () => {
    const bad = [
      def("typo", ["out:api_cal" as never]),
      def("kind", ["outs" as never]),
      def("empty", ["in:" as never]),
    ];
    for (const d of bad) {
      expect(() => new CheckerIndex([{ def: d, inst: d.create() }])).toThrow(/names no event/);
    }
  });
});
