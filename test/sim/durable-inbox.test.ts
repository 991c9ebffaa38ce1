/**
 * The durable inbox end to end, in the simulator: the standard crash-restart swarm seed with the
 * published broker's in-memory inbox (planted `inMemoryInbox`) loses acked rows and L9 reports
 * them (a pinned expected failure); the reference, whose inbox is journaled, loses none, and no
 * dispatch of a row it accepted is answered `unknown undispatched_id`.
 */

import { describe, expect, it } from "vitest";
import { defineChecker } from "../../sim/checkers/checker.ts";
import { runScenario } from "../../sim/run.ts";
import { scenarioByName } from "../../sim/scenarios/index.ts";
import { ALL_CHECKERS } from "../../sim/checkers/index.ts";

const crashRestart = scenarioByName("crash-restart")!;

/** Counts failed dispatch acks naming a row whose add the platform accepted earlier. */
function unknownRowProbe() {
  const accepted = new Set<string>();
  const pending = new Map<number, string>();
  const failures: string[] = [];
  const def = defineChecker({
    id: "probe",
    kind: "safety",
    kinds: ["in", "out"],
    statement: "Counts dispatches of accepted rows answered unknown undispatched_id.",
    create: () => ({
      onEvent(ev) {
        if (ev.k === "out") {
          const o = ev.output;
          if (o.kind === "api_call" && o.op === "undispatched_changed" && o.args.action === "add") {
            pending.set(o.id, o.args.undispatched_id);
          }
          if (
            o.kind === "control_ack" &&
            o.status === "failed" &&
            o.detail?.startsWith("unknown undispatched_id")
          ) {
            const id = o.detail.slice("unknown undispatched_id: ".length);
            if (accepted.has(id)) failures.push(id);
          }
        } else if (ev.k === "in" && ev.input.kind === "api_result") {
          const id = pending.get(ev.input.id);
          if (id !== undefined && ev.input.result.ok) accepted.add(id);
        }
        return undefined;
      },
    }),
  });
  return { def, failures, accepted };
}

describe("durable inbox across broker crashes", () => {
  it("the planted in-memory inbox loses acked rows of crash-restart swarm seed 1, and L9 reports them", () => {
    const r = runScenario(crashRestart, 1, { swarm: true, plantedFaults: { inMemoryInbox: true } });
    expect(r.violation?.invariant).toBe("L9");
    expect(r.violation?.message).toMatch(/acked messages never handed to a plugin/);
    expect(r.violation?.involved.length).toBeGreaterThan(1);
    // The platform gave up on each lost row after a bounded number of dispatches, and L9 still
    // names the loss: a bounded retry does not turn it into silence.
    for (const line of r.violation?.involved ?? []) {
      const n = /; (\d+) dispatches failed "unknown undispatched_id"/.exec(line);
      if (n) expect(Number(n[1])).toBeLessThanOrEqual(12);
    }
  }, 60_000);

  it("the journaled inbox loses none, and no accepted row's dispatch is answered unknown", () => {
    const probe = unknownRowProbe();
    const r = runScenario(crashRestart, 1, { swarm: true, checkers: [...ALL_CHECKERS, probe.def] });
    expect(r.violation).toBeUndefined();
    expect(r.stats.brokerRestarts).toBeGreaterThan(3);
    expect(probe.accepted.size).toBeGreaterThan(100);
    expect(probe.failures).toEqual([]);
  }, 60_000);
});

describe("a dispatch storm is a reported failure", () => {
  it("the published platform-model behaviour (re-dispatch every second for ever) on the in-memory inbox fails L10", () => {
    const storm = {
      ...crashRestart,
      build: (ctx: Parameters<typeof crashRestart.build>[0]) => {
        const setup = crashRestart.build(ctx);
        setup.world.dispatcher = {
          ...setup.world.dispatcher,
          retryMaxMs: 1_000,
          unknownRowAttemptsMax: Number.POSITIVE_INFINITY,
        };
        return setup;
      },
    };
    const r = runScenario(storm, 1, { swarm: true, plantedFaults: { inMemoryInbox: true } });
    expect(r.violation?.invariant).toBe("L10");
    expect(r.violation?.message).toMatch(/undispatched row msg-\d+ drew \d+ dispatch events/);
    // Reported while the safety phase still runs, long before the storm's 250,000 events.
    expect(r.events).toBeLessThan(40_000);
  }, 60_000);
});
