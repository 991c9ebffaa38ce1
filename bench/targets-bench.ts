/**
 * The same simulated workload through each target, side by side (`npm run bench -- --only targets`):
 * the happy-path scenario (no faults, no checkers) for a few seeds, once per target.
 *
 * - msgs/s: messages the connector server delivered (its head) per wall-clock second of the runs;
 * - p99 step ms: the 99th percentile of the wall time one world step (`handle` or `advance`) spends
 *   inside the target — for the published target that includes the synchronous worker round trip
 *   and the daemon running to quiescence.
 */

import type { Input, Output } from "../src/broker/types.ts";
import { runScenario } from "../sim/run.ts";
import { scenarioByName } from "../sim/scenarios/index.ts";
import { TARGETS } from "../sim/targets/index.ts";
import type { Target, TargetKind } from "../sim/targets/target.ts";

export interface TargetBenchRow {
  target: string;
  runs: number;
  messages: number;
  wallMs: number;
  msgsPerSec: number;
  steps: number;
  p50StepMs: number;
  p99StepMs: number;
}

/** Wraps a target kind so every step's wall time is recorded in `samples`. */
function timed(kind: TargetKind, samples: number[]): TargetKind {
  return {
    ...kind,
    open() {
      const run = kind.open();
      return {
        close: () => run.close(),
        start(s) {
          const t = run.start(s);
          const wrapped: Target = {
            handle(input: Input, nowMs: number) {
              const t0 = performance.now();
              t.handle(input, nowMs);
              samples.push(performance.now() - t0);
            },
            advance(nowMs: number) {
              const t0 = performance.now();
              t.advance(nowMs);
              samples.push(performance.now() - t0);
            },
            nextDeadline: () => t.nextDeadline(),
            takeOutputs: (): Output[] => t.takeOutputs(),
            get stopped() {
              return t.stopped;
            },
            get internalErrors() {
              return t.internalErrors;
            },
            get initialCursor() {
              return t.initialCursor;
            },
            get logCounts() {
              return t.logCounts;
            },
            snapshot: () => t.snapshot(),
            dispose: () => t.dispose(),
          };
          return wrapped;
        },
      };
    },
  };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function targetsBench(seeds: readonly number[]): TargetBenchRow[] {
  const scenario = scenarioByName("happy-path")!;
  const rows: TargetBenchRow[] = [];
  for (const kind of TARGETS) {
    // Warm-up (JIT; for the published target, its worker thread and the package load).
    runScenario(scenario, 90_001, { target: kind, checkers: [] });
    const samples: number[] = [];
    const target = timed(kind, samples);
    let messages = 0;
    const t0 = performance.now();
    for (const seed of seeds)
      messages += runScenario(scenario, seed, { target, checkers: [] }).stats.inbound ?? 0;
    const wallMs = performance.now() - t0;
    samples.sort((a, b) => a - b);
    rows.push({
      target: kind.name,
      runs: seeds.length,
      messages,
      wallMs,
      msgsPerSec: (messages / wallMs) * 1000,
      steps: samples.length,
      p50StepMs: quantile(samples, 0.5),
      p99StepMs: quantile(samples, 0.99),
    });
  }
  return rows;
}
