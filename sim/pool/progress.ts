/**
 * The live progress line of a pooled sweep: runs done of total, failures so far, events/s and the
 * time left. It is shown only on a terminal outside CI and never with `--json` (`showProgress`).
 * Wall-clock figures here are for display only; nothing in a run depends on them.
 */

import type { PoolProgress } from "./pool.ts";

/** Whether a sweep should draw a progress line. */
export function showProgress(env: NodeJS.ProcessEnv, stdoutIsTty: boolean, json: boolean): boolean {
  const ci = env.CI !== undefined && env.CI !== "" && env.CI !== "false" && env.CI !== "0";
  return stdoutIsTty && !ci && !json;
}

/** One progress line (no carriage return, no newline). */
export function progressLine(p: PoolProgress): string {
  const perS = p.elapsedMs > 0 ? Math.round((p.events / p.elapsedMs) * 1000) : 0;
  let left = "";
  if (p.done > 0 && p.done < p.total) {
    const leftS = Math.ceil(((p.elapsedMs / p.done) * (p.total - p.done)) / 1000);
    left = `, about ${formatSeconds(leftS)} left`;
  }
  return `${p.done}/${p.total} runs, ${p.failures} failing, ${perS.toLocaleString("en-US")} events/s${left}`;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${s % 60} s`;
}

/** Draws `progressLine` in place on `write`, at most every `everyMs` of wall time and always at the end. */
export function progressPrinter(write: (s: string) => void, everyMs = 200): (p: PoolProgress) => void {
  let lastMs = -Infinity;
  let width = 0;
  return (p) => {
    if (p.done < p.total && p.elapsedMs - lastMs < everyMs) return;
    lastMs = p.elapsedMs;
    const line = progressLine(p);
    write(`\r${line.padEnd(width)}${p.done === p.total ? "\n" : ""}`);
    width = line.length;
  };
}
