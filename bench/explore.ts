/**
 * Runs to first kill, uniform seeds against guided exploration, for the broker in this tree.
 *
 *   npx tsx bench/explore.ts [--plant NAME] [--seeds N] [--skip NAME[,NAME]] [--label L]
 *
 * Both modes get the same budget (N runs per scenario, swarm mode, scenarios in the runner's
 * seed-major order) and stop at the first failing run; the line printed (JSON) gives, per mode,
 * the runs and simulated events spent until that failure, or the whole budget and `killed: false`.
 * Runs both modes ask for (a guided sweep's first round is the uniform sweep's first seed) are run
 * once. bench/explore-all.ts runs this for every planted fault and every mutant of bench/mutants/.
 */

import { parseArgs } from "node:util";
import type { PlantedFaults } from "../src/broker/options.ts";
import { type ExploreTask, GuidedExplorer } from "../sim/explore/guided.ts";
import { type RunReport, runScenario } from "../sim/run.ts";
import { SCENARIOS, scenarioByName } from "../sim/scenarios/index.ts";

const { values } = parseArgs({
  options: {
    plant: { type: "string" },
    seeds: { type: "string", default: "3" },
    skip: { type: "string", default: "soak" },
    label: { type: "string" },
  },
});
const budget = Number(values.seeds);
if (!Number.isSafeInteger(budget) || budget < 1) throw new Error(`--seeds needs a positive integer`);
const skip = (values.skip ?? "").split(",").filter((s) => s !== "");
for (const s of skip) if (!scenarioByName(s)) throw new Error(`--skip: unknown scenario "${s}"`);
const scenarios = SCENARIOS.filter((s) => !skip.includes(s.name)).map((s) => s.name);
const planted: Partial<PlantedFaults> = {};
if (values.plant !== undefined) (planted as Record<string, boolean>)[values.plant] = true;
const seeds = Array.from({ length: budget }, (_, i) => i + 1);

const cache = new Map<string, RunReport>();
function run(t: ExploreTask): RunReport {
  const key = JSON.stringify(t);
  let r = cache.get(key);
  if (!r) {
    const opts = { swarm: true, plantedFaults: planted, coverageFirstAt: true } as const;
    r = runScenario(scenarioByName(t.scenario)!, t.seed, {
      ...opts,
      ...(t.fork ? { fork: t.fork } : {}),
      ...(t.swarmFrom !== undefined ? { swarmFrom: t.swarmFrom } : {}),
    });
    cache.set(key, r);
  }
  return r;
}

interface Outcome {
  killed: boolean;
  runs: number;
  events: number;
  by?: string;
}

function measure(next: () => ExploreTask[], record: (t: ExploreTask, r: RunReport) => void): Outcome {
  let runs = 0;
  let events = 0;
  for (let round = next(); round.length > 0; round = next()) {
    for (const t of round) {
      const r = run(t);
      runs++;
      events += r.events;
      if (r.violation) {
        const how = t.fork
          ? ` fork@${t.fork.atEvent}/${t.fork.stream}`
          : t.swarmFrom
            ? ` swarm-from ${t.swarmFrom}`
            : "";
        return {
          killed: true,
          runs,
          events,
          by: `${t.scenario} seed ${t.seed}${how}: ${r.violation.invariant}`,
        };
      }
      record(t, r);
    }
  }
  return { killed: false, runs, events };
}

let uniformDone = false;
const uniform = measure(
  () => {
    if (uniformDone) return [];
    uniformDone = true;
    return seeds.flatMap((seed) => scenarios.map((scenario) => ({ scenario, seed })));
  },
  () => {},
);
const explorer = new GuidedExplorer(scenarios, seeds, true);
const guided = measure(
  () => explorer.nextRound(),
  (t, r) => explorer.record(t, r),
);
process.stdout.write(
  `${JSON.stringify({ label: values.label ?? values.plant ?? "tree", budgetRuns: budget * scenarios.length, uniform, guided })}\n`,
);
