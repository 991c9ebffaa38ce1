/**
 * The mutation test's kill command: a seed-major swarm sweep in one process that stops at the
 * first failing run.
 *
 *   npx tsx scripts/mutation/kill-sweep.ts [--max-runs N] [--max-events N] [--cpu-budget-ms MS]
 *                                          [--skip NAME[,NAME]]
 *
 * Order: every scenario's seed 1 (registry order), then every scenario's seed 2, and so on, in
 * swarm mode, until `--max-runs` runs are done or the runs so far have shown `--max-events` events
 * to the checkers (the run that crosses the event budget is finished, no new one starts). A
 * surviving mutant therefore costs a known, bounded sweep.
 *
 * Exit codes: 0 every run passed (the mutant survived), 1 a run failed or the CPU budget ran out
 * (killed), 2 usage error. A core that throws fails its run (X1), so it kills like any other
 * invariant. A mutant that hangs or slows the broker down several-fold runs out of
 * `--cpu-budget-ms` of CPU time (the sweep runs on a worker thread the main thread can stop) and
 * counts as a timeout, which kills; CPU time, unlike wall time, hardly depends on what else the
 * machine is running, so a survivor is not turned into a timeout by a busy machine.
 *
 * Every invocation appends one JSON line to the file named by MUTATION_KILLS_FILE (when set):
 * the active mutant (`__STRYKER_ACTIVE_MUTANT__`, absent for Stryker's dry run), whether it was
 * killed, whether by the CPU budget, the 1-based index of the killing run ("runs to first kill"), its scenario, seed and
 * invariant, and the runs and events spent. Stryker's sandbox is deleted after the run, so the
 * file must live outside it (the npm script points it at the project's `out/mutation/`).
 */

import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

/** Runs per mutant when no `--max-runs` is given: seed 1 of every scenario (14 of them). */
export const DEFAULT_MAX_RUNS = 14;
/** Checker-visible events per mutant when no `--max-events` is given. */
export const DEFAULT_MAX_EVENTS = 1_000_000;
/**
 * CPU time per mutant when no `--cpu-budget-ms` is given: about three times what the correct
 * broker's default sweep costs with Stryker's instrumentation, so only a mutant that loops or
 * slows the broker down several-fold runs out of it.
 */
export const DEFAULT_CPU_BUDGET_MS = 25_000;
const CPU_POLL_MS = 250;

interface KillRecord {
  mutant: string | null;
  killed: boolean;
  /** Killed by running out of the CPU budget (a hang or a crippling slowdown), not by a checker. */
  timeout: boolean;
  /** 1-based index of the failing run in the seed-major order; null when every run passed. */
  runsToKill: number | null;
  scenario?: string;
  seed?: number;
  invariant?: string;
  runs: number;
  events: number;
  /**
   * Digest of the runs' trace hashes, in order. A survivor whose digest equals the unmutated
   * broker's (Stryker's dry run, `mutant: null`) did not change a single traced event: its code
   * was not reached, or changed nothing the world can see. A different digest means the broker
   * behaved differently and no invariant noticed: a gap in the checkers or the scenarios.
   */
  traceDigest: string;
  cpuMs: number;
  stoppedBy: "kill" | "cpu-budget" | "max-runs" | "max-events";
}

interface SweepConfig {
  maxRuns: number;
  maxEvents: number;
  skip: string[];
}

/** What the sweeping thread reports first: the scenarios it will sweep, or why it cannot. */
type StartMessage = { start: string[] } | { usage: string };

/** What the sweeping thread reports after each run. */
interface RunMessage {
  scenario: string;
  seed: number;
  ok: boolean;
  events: number;
  traceHash: string;
  invariant?: string;
}

function positiveInt(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(raw)) throw new Error(`${flag} must be a positive integer, got "${raw}"`);
  return Number(raw);
}

/**
 * The sweep itself (in the worker thread): seed-major, stop at the first failure or budget. The
 * simulator is loaded here only, so the watching thread stays light.
 */
async function sweep(config: SweepConfig, report: (m: StartMessage | RunMessage) => void): Promise<void> {
  const { runScenario } = await import("../../sim/run.ts");
  const { SCENARIOS } = await import("../../sim/scenarios/index.ts");
  const unknown = config.skip.filter((name) => !SCENARIOS.some((s) => s.name === name));
  if (unknown.length > 0) return report({ usage: `--skip: unknown scenario "${unknown[0]}"` });
  const scenarios = SCENARIOS.filter((s) => !config.skip.includes(s.name));
  if (scenarios.length === 0) return report({ usage: "--skip: every scenario is skipped" });
  report({ start: scenarios.map((s) => s.name) });
  let runs = 0;
  let events = 0;
  for (let seed = 1; ; seed++) {
    for (const scenario of scenarios) {
      if (runs >= config.maxRuns || events >= config.maxEvents) return;
      const r = runScenario(scenario, seed, { swarm: true });
      runs++;
      events += r.events;
      report({
        scenario: scenario.name,
        seed,
        ok: r.ok,
        events: r.events,
        traceHash: r.traceHash,
        invariant: r.violation?.invariant,
      });
      if (!r.ok) return;
    }
  }
}

/** FNV-1a, 32 bits, as 8 hex digits. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1000;
}

function finish(record: KillRecord): number {
  const file = process.env.MUTATION_KILLS_FILE;
  if (file !== undefined && file !== "") {
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, `${JSON.stringify(record)}\n`);
  }
  const what = record.timeout
    ? `killed: out of CPU budget in run ${record.runsToKill}`
    : record.killed
      ? `killed by run ${record.runsToKill} (${record.scenario} seed ${record.seed}: ${record.invariant})`
      : `survived ${record.runs} runs, ${record.events} events`;
  process.stdout.write(`kill-sweep: ${what} (${Math.round(record.cpuMs)} ms CPU)\n`);
  return record.killed ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  let config: SweepConfig;
  let cpuBudgetMs: number;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        "max-runs": { type: "string" },
        "max-events": { type: "string" },
        "cpu-budget-ms": { type: "string" },
        skip: { type: "string" },
      },
      strict: true,
      allowPositionals: false,
    });
    const skip = (values.skip ?? "").split(",").filter((s) => s !== "");
    config = {
      maxRuns: positiveInt("--max-runs", values["max-runs"], DEFAULT_MAX_RUNS),
      maxEvents: positiveInt("--max-events", values["max-events"], DEFAULT_MAX_EVENTS),
      skip,
    };
    cpuBudgetMs = positiveInt("--cpu-budget-ms", values["cpu-budget-ms"], DEFAULT_CPU_BUDGET_MS);
  } catch (err) {
    process.stderr.write(`kill-sweep: ${(err as Error).message}\n`);
    return 2;
  }

  const cpuStart = process.cpuUsage();
  let usage: string | undefined;
  const hashes: string[] = [];
  const record: KillRecord = {
    mutant: process.env.__STRYKER_ACTIVE_MUTANT__ ?? null,
    killed: false,
    timeout: false,
    runsToKill: null,
    runs: 0,
    events: 0,
    traceDigest: "",
    cpuMs: 0,
    stoppedBy: "max-runs",
  };
  // The sweep runs on a worker thread so that a mutant that hangs inside one core call can be
  // stopped: the main thread watches the process's CPU time, which other load on the machine
  // barely changes (unlike wall time).
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(import.meta.url)}); });`;
  const worker = new Worker(boot, { eval: true, workerData: config });
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (cpuMsSince(cpuStart) <= cpuBudgetMs) return;
      clearInterval(poll);
      Object.assign(record, {
        killed: true,
        timeout: true,
        runsToKill: record.runs + 1,
        stoppedBy: "cpu-budget",
      });
      void worker.terminate().then(() => resolve());
    }, CPU_POLL_MS);
    worker.on("message", (m: StartMessage | RunMessage) => {
      if ("usage" in m) usage = m.usage;
      if ("usage" in m || "start" in m) return;
      record.runs++;
      record.events += m.events;
      hashes.push(m.traceHash);
      if (!m.ok) {
        Object.assign(record, {
          killed: true,
          runsToKill: record.runs,
          scenario: m.scenario,
          seed: m.seed,
          invariant: m.invariant,
          stoppedBy: "kill",
        });
      }
    });
    // An exception escaping the simulation (not the core's, which is X1) also fails the run.
    worker.on("error", (err) => {
      clearInterval(poll);
      Object.assign(record, {
        killed: true,
        runsToKill: record.runs + 1,
        invariant: `exception: ${err.message.split("\n")[0]}`,
        stoppedBy: "kill",
      });
      resolve();
    });
    worker.on("exit", () => {
      clearInterval(poll);
      resolve();
    });
  });
  if (usage !== undefined) {
    process.stderr.write(`kill-sweep: ${usage}\n`);
    return 2;
  }
  if (!record.killed && record.runs < config.maxRuns) record.stoppedBy = "max-events";
  record.cpuMs = Math.round(cpuMsSince(cpuStart));
  record.traceDigest = fnv1a(hashes.join(","));
  return finish(record);
}

if (isMainThread) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`kill-sweep: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
} else {
  void sweep(workerData as SweepConfig, (m) => parentPort?.postMessage(m));
}
