/**
 * A quick fault sweep: the happy path with one fault module on at a time (its defaults), over a
 * seed range, reporting every invariant violation with its seed.
 *
 *   npx tsx sim/faults/sweep.ts [--faults a,b] [--seeds A..B] [--swarm] [--json]
 */

import { parseArgs } from "node:util";
import { runScenario } from "../run.ts";
import { happyPath } from "../scenarios/happy-path.ts";
import { FAULT_NAMES, type FaultName, type FaultPlan } from "./index.ts";
import { withFaults } from "./with-faults.ts";

const { values } = parseArgs({
  options: {
    faults: { type: "string" },
    seeds: { type: "string", default: "1..50" },
    swarm: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});
const [a, b] = values.seeds!.split("..").map(Number) as [number, number];
const names = (values.faults?.split(",") ?? FAULT_NAMES) as FaultName[];
const runs: Array<{ label: string; plan: FaultPlan | { swarm: true } }> = values.swarm
  ? [{ label: "swarm", plan: { swarm: true } }]
  : names.map((n) => ({ label: n, plan: { [n]: true } as FaultPlan }));

let failures = 0;
for (const { label, plan } of runs) {
  const scenario = withFaults(happyPath, plan);
  const byInvariant = new Map<string, number[]>();
  for (let seed = a; seed <= (b ?? a); seed++) {
    const r = runScenario(scenario, seed);
    if (r.ok) continue;
    failures++;
    const v = r.violation!;
    const seeds = byInvariant.get(v.invariant) ?? [];
    seeds.push(seed);
    byInvariant.set(v.invariant, seeds);
    if (values.json) console.log(JSON.stringify({ fault: label, seed, violation: v, drawn: r.drawn }));
    else console.log(`${label} seed ${seed}: ${v.invariant} at ${v.atMs}ms: ${v.message}`);
  }
  const summary = [...byInvariant].map(([inv, s]) => `${inv}×${s.length} (e.g. ${s[0]})`).join(", ");
  console.log(`== ${label}: ${summary || "no violations"}`);
}
process.exitCode = failures > 0 ? 1 : 0;
