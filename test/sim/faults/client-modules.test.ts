import { describe, expect, it } from "vitest";
import { BAD_REQUEST_KINDS } from "../../../sim/faults/malformed-request.ts";
import { runHappy } from "./support.ts";

describe("the wider clients: malformed-request and client-calls", () => {
  it("malformed-request sends every kind of bad request and the broker refuses each cleanly (X2, I2)", () => {
    const w = runHappy({ "malformed-request": { meanIntervalMs: 200 } }, 5);
    const total = w.faultHub.count("malformed-request");
    expect(total).toBeGreaterThan(100);
    for (const kind of BAD_REQUEST_KINDS)
      expect(w.faultHub.count("malformed-request", kind)).toBeGreaterThan(0);
    expect(w.violation).toBeUndefined();
  });

  it("client-calls fails assignments, dispatches rows locally and drops receipts, and the broker stays correct", () => {
    const w = runHappy(
      {
        "client-calls": {
          failBeforeAcceptProbability: 0.2,
          failAfterAcceptProbability: 0.2,
          dispatchMeanIntervalMs: 500,
          receiptlessProbability: 1,
        },
      },
      5,
    );
    const plugins = [...w.plugins.values()];
    expect(plugins.every((p) => !p.spec.behaviour.receiptCapable)).toBe(true);
    expect(plugins.reduce((n, p) => n + p.stats.failures, 0)).toBeGreaterThan(5);
    expect(w.faultHub.count("client-calls", "local_dispatch")).toBeGreaterThan(20);
    expect(w.api.calls.get("processing_state")).toBeGreaterThan(0);
    const local = [...w.api.assignments.keys()].filter((k) => k.startsWith("local-"));
    expect(local.length).toBeGreaterThan(0);
    expect(w.violation).toBeUndefined();
  });
});
