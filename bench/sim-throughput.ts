/**
 * Simulator throughput: events per second of happy-path runs, with and without checkers.
 *
 *   npx tsx bench/sim-throughput.ts [runs]
 *
 * An "event" is what the checkers see: a core input, a core output, a step boundary, a fact.
 * The figures are wall-clock and depend on the machine and its load; they are reported, never asserted.
 */

import { runScenario } from "../sim/run.ts";
import { happyPath } from "../sim/scenarios/happy-path.ts";

const runs = Number(process.argv[2] ?? 30);

function measure(label: string, checkers: boolean): void {
  const opts = checkers ? {} : { checkers: [] };
  for (let s = 1; s <= 3; s++) runScenario(happyPath, 10_000 + s, opts);
  let events = 0;
  let virtualMs = 0;
  const t0 = performance.now();
  for (let s = 1; s <= runs; s++) {
    const r = runScenario(happyPath, s, opts);
    events += r.events;
    virtualMs += r.virtualMs;
  }
  const ms = performance.now() - t0;
  console.log(
    `${label}: ${runs} runs, ${events} events in ${ms.toFixed(0)} ms = ${Math.round((events / ms) * 1000)} events/s; ` +
      `${(ms / runs).toFixed(1)} ms per run; ${Math.round(virtualMs / ms)}x virtual-time compression`,
  );
}

measure("happy-path, all checkers", true);
measure("happy-path, no checkers ", false);
