/**
 * Run one seed with tracing on and write its trace, Perfetto JSON and HTML timeline. Used by the
 * export CLI's run mode and by the vitest helper when a seed fails. The run goes through
 * `runScenario`, the runner's own code path, so the trace hash matches the runner's.
 */

import type { PlantedFaults } from "../../src/broker/options.ts";
import { rerunLine } from "../runner.ts";
import { type RunOptions, type RunReport, runScenario } from "../run.ts";
import type { Scenario } from "../scenarios/scenario.ts";
import { defaultPaths, type ExportPaths, metaFromReport, writeExports } from "./files.ts";
import type { HtmlOptions } from "./html.ts";

export interface RunExportOptions {
  swarm?: boolean;
  plantedFaults?: Partial<PlantedFaults>;
  /** Directory for the default file names (default `out`). */
  outDir?: string;
  /** Explicit paths; by default all three files are written under `outDir`. */
  paths?: ExportPaths;
  html?: HtmlOptions;
  runOptions?: Omit<RunOptions, "recordTrace" | "swarm">;
}

export interface RunExportResult {
  report: RunReport;
  rerun: string;
  paths: ExportPaths;
}

export function runAndExport(scenario: Scenario, seed: number, opts: RunExportOptions = {}): RunExportResult {
  const planted = plantedNames(opts.plantedFaults);
  const report = runScenario(scenario, seed, {
    ...opts.runOptions,
    plantedFaults: opts.plantedFaults,
    swarm: opts.swarm === true,
    recordTrace: true,
  });
  const rerun = rerunFor(report, opts.swarm === true, planted);
  const lines = report.trace ?? [];
  const meta = {
    ...metaFromReport(report as unknown as Record<string, unknown>),
    rerun,
    drawn: report.drawn,
  };
  const paths =
    opts.paths ??
    defaultPaths(
      planted.length > 0 ? `${scenario.name}+${planted.join("+")}` : scenario.name,
      seed,
      opts.outDir,
    );
  const written = writeExports({ lines, meta, paths, ...(opts.html ? { html: opts.html } : {}) });
  delete report.trace;
  return { report, rerun, paths: written };
}

/** The runner's `rerun:` line, planted faults included (the runner's `--plant` flag). */
export function rerunFor(
  r: { scenario: string; seed: number; target?: string },
  swarm: boolean,
  planted: readonly string[],
): string {
  return rerunLine(r, swarm, planted as Parameters<typeof rerunLine>[2]);
}

/** The names of the planted faults that are switched on, in a stable order. */
export function plantedNames(faults: Partial<PlantedFaults> | undefined): string[] {
  if (!faults) return [];
  return Object.entries(faults)
    .filter(([, on]) => on === true)
    .map(([k]) => k)
    .sort();
}
