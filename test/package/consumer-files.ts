/** The files the consumer test writes into its scratch project (test/package/consumer.package-test.ts). */

/** Plain Node: every entry point loads and has the documented names. */
export const EXPORTS_MJS = `
const expected = {
  "broker-sim": { createBroker: "function", BrokerAlreadyRunningError: "function", DEFAULT_OPTIONS: "object" },
  "broker-sim/core": { BrokerCore: "function", DEFAULT_OPTIONS: "object", resolveOptions: "function" },
  "broker-sim/sim": {
    runScenario: "function",
    SCENARIOS: "object",
    shrinkRun: "function",
    replayReproFile: "function",
    standardSetup: "function",
    defineChecker: "function",
    ALL_CHECKERS: "object",
    FAULTS: "object",
  },
  "broker-sim/vitest": { simTest: "function", runSimSeeds: "function", SimFailure: "function" },
  "broker-sim/stubs": {
    ConnectorStub: "function",
    PlatformStub: "function",
    startSeededPlatform: "function",
    StubFaultSchedule: "function",
  },
};
for (const [spec, names] of Object.entries(expected)) {
  const mod = await import(spec);
  for (const [name, type] of Object.entries(names)) {
    if (typeof mod[name] !== type) throw new Error(\`\${spec}: \${name} is \${typeof mod[name]}, expected \${type}\`);
  }
}
const { runScenario, SCENARIOS } = await import("broker-sim/sim");
const report = runScenario(SCENARIOS[0], 3);
if (!report.ok) throw new Error("happy-path seed 3 failed in plain Node");
console.log("all exports loaded");
`;

/** vitest: the same entry points, plus a passing simTest. */
export const CONSUMER_VITEST = `
import { expect, it } from "vitest";
import * as main from "broker-sim";
import * as core from "broker-sim/core";
import * as sim from "broker-sim/sim";
import * as stubs from "broker-sim/stubs";
import { simTest } from "broker-sim/vitest";

it("loads every entry point", () => {
  expect(typeof main.createBroker).toBe("function");
  expect(typeof core.BrokerCore).toBe("function");
  expect(sim.SCENARIOS.length).toBeGreaterThan(0);
  expect(typeof stubs.startSeededPlatform).toBe("function");
});

it("serves the platform stub over loopback", async () => {
  const p = await stubs.startSeededPlatform({ seed: 1, faults: false, log: () => {} });
  const res = await fetch(\`\${p.apiUrl}/v1/whoami\`);
  expect(res.status).toBe(200);
  await p.close();
});

simTest("a fault-free day passes", { scenario: "happy-path", seeds: "1..2" });
`;

/** A TypeScript consumer of every entry point's types. */
export const CONSUMER_TS = `
import { type BrokerOptions, type CreateBrokerOptions, createBroker, type RunningBroker } from "broker-sim";
import { BrokerCore, DEFAULT_OPTIONS, type Input, type Output, type Random } from "broker-sim/core";
import {
  type CheckerDef,
  defineChecker,
  type FaultPlan,
  type RunReport,
  runScenario,
  SCENARIOS,
  type Scenario,
  standardSetup,
} from "broker-sim/sim";
import { type SeededPlatformOptions, type StubFaultRates, startSeededPlatform } from "broker-sim/stubs";
import { type SimTestSpec, simTest } from "broker-sim/vitest";

const options: CreateBrokerOptions = {
  connectorUrl: "ws://127.0.0.1:1",
  connectorToken: "t",
  apiBaseUrl: "http://127.0.0.1:2",
  dataDir: "data",
  logLevel: "warn",
  brokerOptions: { graceMs: 1_000 },
};
export const start: () => Promise<RunningBroker> = () => createBroker(options);
export const grace: BrokerOptions["graceMs"] = DEFAULT_OPTIONS.graceMs;

const random: Random = { uuid: () => "u", int: () => 0, float: () => 0, hex: () => "00" };
const core = new BrokerCore({ random });
const input: Input = { kind: "start" };
core.handle(input, 0);
export const outputs: Output[] = core.takeOutputs();

const faults: FaultPlan = { drop: true, delay: true };
const myScenario: Scenario = {
  name: "mine",
  description: "mine",
  exercises: [],
  build: (ctx) => standardSetup(ctx, { messages: 10, faults }),
};
const noThrow: CheckerDef = defineChecker({
  id: "MINE",
  statement: "Nothing.",
  kind: "safety",
  create: () => ({ onEvent: () => undefined }),
});
export const report: RunReport = runScenario(SCENARIOS[0] ?? myScenario, 1, { swarm: true });
export const spec: SimTestSpec = { scenario: myScenario, seeds: "1..3", options: { checkers: [noThrow] } };
export const register: typeof simTest = simTest;

const rates: Partial<StubFaultRates> = { apiErrorProbability: 0.1 };
const stubOptions: SeededPlatformOptions = { seed: 1, faults: rates };
export const platform = () => startSeededPlatform(stubOptions);
`;

/** A user's own scenario with a planted broker bug, so its simTest fails; plus a passing test. */
export const FAILING_SIM_TEST = `
import { type Scenario, SCENARIOS } from "broker-sim/sim";
import { simTest } from "broker-sim/vitest";

const base = SCENARIOS.find((s) => s.name === "happy-path")!;
const adapterDay: Scenario = { ...base, name: "adapter-day" };

simTest("an adapter's day survives", {
  scenario: adapterDay,
  seeds: "1..3",
  plantedFaults: { ackBeforeHandoff: true },
});

simTest("a quiet day passes", { scenario: adapterDay, seeds: 2 });
`;
