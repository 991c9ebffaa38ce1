/**
 * The standard seed, in this process, for a CPU profile of the simulator (no worker threads, so
 * the profile of the main thread is the whole run):
 *
 *   node --import tsx --cpu-prof --cpu-prof-dir out/prof bench/profile-sim.ts [runs] [--no-checkers]
 *   npx tsx bench/profile-summary.ts out/prof/CPU.….cpuprofile
 *
 * Runs seeds 1..runs of the standard scenario in swarm mode (default 20 runs, after 2 warm-up
 * runs on other seeds) and prints events, virtual and wall time.
 */

import { runScenario } from "../sim/run.ts";
import { standardScenario } from "./sim-bench.ts";

const args = process.argv.slice(2);
const checkers = !args.includes("--no-checkers");
const runs = Number(args.find((a) => !a.startsWith("--")) ?? 20);
if (!Number.isInteger(runs) || runs < 1) throw new Error("usage: profile-sim [runs] [--no-checkers]");
const s = standardScenario();
const opts = checkers ? { swarm: true } : { swarm: true, checkers: [] };
for (const seed of [90_001, 90_002]) runScenario(s, seed, opts);
let events = 0;
let virtualMs = 0;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let seed = 1; seed <= runs; seed++) {
  const r = runScenario(s, seed, opts);
  events += r.events;
  virtualMs += r.virtualMs;
}
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuMs = (cpu.user + cpu.system) / 1000;
console.log(
  `${s.name} swarm, ${runs} runs${checkers ? "" : " (no checkers)"}: ${events} events, ${(virtualMs / 1000).toFixed(0)} s virtual, ${ms.toFixed(0)} ms wall, ${(ms / runs).toFixed(1)} ms/run, ${((events / ms) * 1000).toFixed(0)} events/s; CPU ${cpuMs.toFixed(0)} ms, ${((cpuMs * 1000) / events).toFixed(2)} µs CPU per event`,
);
