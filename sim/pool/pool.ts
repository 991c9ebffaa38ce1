/**
 * A pool of long-lived worker threads that runs a sweep's seeds in parallel and hands the results
 * back in task order, so whatever is built from them is the same as from a serial run.
 *
 * - `jobs` workers start once and take one task at a time; a finished worker takes the next task.
 * - Watchdog: a task that runs longer than `seedBudgetMs` of wall-clock time (counted from the
 *   worker's `started`, so start-up is not charged) is a runaway: its worker is terminated, the
 *   task's result is `{ kind: "runaway" }`, and a fresh worker takes over the remaining tasks.
 * - A task that throws, or a worker that dies, fails the whole sweep (the promise rejects) after
 *   every worker is stopped.
 * - In a source checkout workers run TypeScript: each one registers tsx's loader before importing
 *   its entry, which works under `tsx` and under vitest alike (a worker does not inherit the
 *   parent's `--import` hooks). From the installed package the entry is compiled JavaScript.
 */

import { Worker } from "node:worker_threads";
import type { PoolResult, PoolTask, TaskMessage, WorkerMessage } from "./protocol.ts";

/** Wall-clock budget per seed when none is given: generous for the slowest scenario on a busy CI runner. */
export const DEFAULT_SEED_BUDGET_MS = 300_000;

export interface PoolProgress {
  done: number;
  total: number;
  failures: number;
  events: number;
  elapsedMs: number;
}

export interface PoolOptions {
  jobs: number;
  seedBudgetMs?: number;
  /** Called after each finished task (wall-clock figures are for display only). */
  onProgress?: (p: PoolProgress) => void;
  /** The worker entry (tests substitute one). */
  workerUrl?: URL;
}

const WORKER_URL = new URL(import.meta.url.endsWith(".js") ? "./worker.js" : "./worker.ts", import.meta.url);

/** A worker thread running the module at `entry` (TypeScript through tsx's loader). */
export function startTsWorker(entry: URL): Worker {
  if (entry.pathname.endsWith(".js")) return new Worker(entry);
  const api = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true });
}

export function runPool(tasks: readonly PoolTask[], opts: PoolOptions): Promise<PoolResult[]> {
  const budgetMs = opts.seedBudgetMs ?? DEFAULT_SEED_BUDGET_MS;
  const entry = opts.workerUrl ?? WORKER_URL;
  const results: PoolResult[] = new Array(tasks.length);
  const started = Date.now();
  let next = 0;
  let done = 0;
  let failures = 0;
  let events = 0;
  let settled = false;
  const live = new Set<Worker>();

  return new Promise<PoolResult[]>((resolve, reject) => {
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      for (const w of live) void w.terminate();
      live.clear();
      reject(err);
    };
    const finish = (id: number, result: PoolResult) => {
      results[id] = result;
      done++;
      if (result.kind === "runaway" || result.report.violation) failures++;
      else if (result.again && result.again.traceHash !== result.report.traceHash) failures++;
      if (result.kind === "report") events += result.report.events;
      opts.onProgress?.({ done, total: tasks.length, failures, events, elapsedMs: Date.now() - started });
      if (done === tasks.length && !settled) {
        settled = true;
        for (const w of live) void w.terminate();
        live.clear();
        resolve(results);
      }
    };

    const spawn = () => {
      const worker = startTsWorker(entry);
      live.add(worker);
      let current: number | undefined;
      let timer: NodeJS.Timeout | undefined;
      const give = () => {
        if (settled) return;
        if (next >= tasks.length) {
          live.delete(worker);
          void worker.terminate();
          return;
        }
        current = next++;
        const msg: TaskMessage = { id: current, task: tasks[current]! };
        worker.postMessage(msg);
      };
      worker.on("message", (m: WorkerMessage) => {
        if (settled || m.id !== current) return;
        if (m.type === "started") {
          const id = m.id;
          timer = setTimeout(() => {
            if (settled || current !== id) return;
            current = undefined;
            live.delete(worker);
            void worker.terminate();
            const t = tasks[id]!;
            finish(id, { kind: "runaway", scenario: t.scenario, seed: t.seed, budgetMs });
            if (!settled && next < tasks.length) spawn();
          }, budgetMs);
          return;
        }
        clearTimeout(timer);
        current = undefined;
        if (m.type === "error") {
          const t = tasks[m.id]!;
          fail(new Error(`${t.scenario} seed ${t.seed} threw in a pool worker:\n${m.error}`));
          return;
        }
        finish(
          m.id,
          m.again
            ? { kind: "report", report: m.report, again: m.again }
            : { kind: "report", report: m.report },
        );
        give();
      });
      worker.on("error", (err) => {
        clearTimeout(timer);
        fail(err);
      });
      worker.on("exit", (code) => {
        clearTimeout(timer);
        if (live.has(worker) && !settled) fail(new Error(`a pool worker exited early (code ${code})`));
      });
      give();
    };

    if (tasks.length === 0) {
      settled = true;
      resolve(results);
      return;
    }
    const n = Math.max(1, Math.min(opts.jobs, tasks.length));
    for (let i = 0; i < n; i++) spawn();
  });
}
