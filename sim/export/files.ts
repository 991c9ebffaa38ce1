/**
 * Writing a run's trace, Perfetto JSON and HTML timeline to disk, shared by the export CLI and the
 * vitest helper. Everything goes under `out/` (gitignored) unless the caller names other paths.
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { Trace } from "../kernel/trace.ts";
import { type HtmlOptions, toHtml } from "./html.ts";
import { toPerfetto } from "./perfetto.ts";
import { parseTraceLines, type RunMeta, type ViolationInfo } from "./records.ts";
import { buildTimeline } from "./timeline.ts";

export const DEFAULT_OUT_DIR = "out";

export interface ExportPaths {
  trace?: string;
  perfetto?: string;
  html?: string;
}

export interface ExportRequest {
  /** The run's JSONL trace lines. */
  lines: readonly string[];
  meta: RunMeta;
  /** Which files to write (absent = not written). */
  paths: ExportPaths;
  html?: HtmlOptions;
}

/** Write the requested files; returns the paths written. */
export function writeExports(req: ExportRequest): ExportPaths {
  const written: ExportPaths = {};
  const meta = { ...req.meta };
  if (meta.traceHash === undefined) meta.traceHash = hashOf(req.lines);
  if (req.paths.trace) {
    write(req.paths.trace, `${req.lines.join("\n")}\n`);
    written.trace = req.paths.trace;
  }
  if (!req.paths.perfetto && !req.paths.html) return written;
  const timeline = buildTimeline(parseTraceLines(req.lines), meta);
  if (req.paths.perfetto) {
    write(req.paths.perfetto, JSON.stringify(toPerfetto(timeline)));
    written.perfetto = req.paths.perfetto;
  }
  if (req.paths.html) {
    write(req.paths.html, toHtml(timeline, req.html));
    written.html = req.paths.html;
  }
  return written;
}

/** `out/<scenario>-seed<seed>.{jsonl,perfetto.json,html}` (or under `dir`). */
export function defaultPaths(scenario: string, seed: number, dir = DEFAULT_OUT_DIR): Required<ExportPaths> {
  const base = join(dir, `${scenario.replace(/[^A-Za-z0-9._-]/g, "_")}-seed${seed}`);
  return { trace: `${base}.jsonl`, perfetto: `${base}.perfetto.json`, html: `${base}.html` };
}

/** The run's trace hash, recomputed from its lines exactly as the world computes it. */
export function hashOf(lines: readonly string[]): string {
  const t = new Trace(false);
  for (const l of lines) t.add(l);
  return t.hash;
}

/** Run metadata from a runner `--json` report line (or a `RunReport`), tolerating missing fields. */
export function metaFromReport(report: Record<string, unknown>): RunMeta {
  const meta: RunMeta = {};
  if (typeof report.scenario === "string") meta.scenario = report.scenario;
  if (typeof report.seed === "number") meta.seed = report.seed;
  if (typeof report.traceHash === "string") meta.traceHash = report.traceHash;
  if (typeof report.traceLines === "number") meta.traceLines = report.traceLines;
  if (typeof report.ok === "boolean") meta.ok = report.ok;
  if (typeof report.rerun === "string") meta.rerun = report.rerun;
  const v = report.violation as Record<string, unknown> | undefined;
  if (v && typeof v.invariant === "string") {
    const info: ViolationInfo = {
      invariant: v.invariant,
      kind: String(v.kind ?? "safety"),
      atMs: typeof v.atMs === "number" ? v.atMs : 0,
      message: String(v.message ?? ""),
    };
    if (typeof v.statement === "string") info.statement = v.statement;
    if (Array.isArray(v.involved)) info.involved = v.involved.map(String);
    meta.violation = info;
  }
  return meta;
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
