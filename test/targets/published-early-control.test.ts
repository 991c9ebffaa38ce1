import { describe, expect, it } from "vitest";
import { resolveOptions } from "../../src/broker/options.ts";
import type { Output } from "../../src/broker/types.ts";
import { SIM_EPOCH_MS } from "../../sim/kernel/clock.ts";
import { SeededRandom, Streams } from "../../sim/kernel/prng.ts";
import { PUBLISHED_TARGET } from "../../sim/targets/published.ts";

describe("the published target's control events", () => {
  it("answers a control event that arrived while the daemon was still starting", () => {
    const run = PUBLISHED_TARGET.open();
    try {
      const p = run.start({
        scenario: "early-control",
        seed: 1,
        incarnation: 1,
        nowMs: SIM_EPOCH_MS,
        options: resolveOptions(),
        random: new SeededRandom(new Streams(1).get("broker.random")),
        initialCursor: 0,
        initialBuffers: [],
        initialInbox: { rows: [], departed: [] },
        log: undefined,
        plantedFaults: undefined,
      });
      const outputs: Output[] = [...p.takeOutputs()];
      let t = SIM_EPOCH_MS;
      const step = (input: Parameters<typeof p.handle>[0]) => {
        p.handle(input, ++t);
        outputs.push(...p.takeOutputs());
      };
      step({ kind: "start" });
      expect(outputs.map((o) => o.kind)).toContain("connector_connect");
      step({
        kind: "control_event",
        event: { type: "dispatch_nudge", version: 1, idempotency_key: "early-1", emitted_at: t },
      });
      expect(outputs.filter((o) => o.kind === "control_ack")).toEqual([]);
      step({ kind: "connector_open" });
      step({
        kind: "connector_frame",
        text: JSON.stringify({
          event: "REGISTER_ACK",
          status: "ok",
          protocolVersion: 4,
          agent: { id: "a" },
          deliverySeq: 0,
        }),
      });
      for (let i = 0; i < 20; i++) {
        for (const o of outputs.splice(0)) {
          if (o.kind === "control_ack") outputs.unshift(o);
          if (o.kind === "api_call") step({ kind: "api_result", id: o.id, result: { ok: true } } as never);
        }
        if (outputs.some((o) => o.kind === "control_ack")) break;
      }
      const acks = outputs.filter((o) => o.kind === "control_ack");
      expect(acks.map((a) => a.kind === "control_ack" && a.idempotency_key)).toEqual(["early-1"]);
      p.dispose();
    } finally {
      run.close();
    }
  });
});
