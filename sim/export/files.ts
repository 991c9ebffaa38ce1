/**
 * Writing a run's trace, Perfetto JSON and HTML timeline to disk, shared by the export CLI and the
 * vitest helper. Everything goes under `out/` (gitignored) unless the caller names other paths.
 *
 * The JSONL trace and the Perfetto JSON are written piece by piece through a `ChunkSink` (a trace
 * line, a trace event), never built as one string: a long run's files exceed the longest string
 * V8 can hold. The HTML timeline embeds a bounded window of events (`HtmlOptions.maxEvents`) and
 * says so in the page, so it is built in memory.
 */

import { closeSync, mkdirSync, openSync, readSync, writeFileSync, writeSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { dirname, join } from "node:path";
import { Trace } from "../kernel/trace.ts";
import { type HtmlOptions, toHtml } from "./html.ts";
import { type PerfettoTrace, toPerfetto } from "./perfetto.ts";
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
    writeTraceFile(req.paths.trace, req.lines);
    written.trace = req.paths.trace;
  }
  if (!req.paths.perfetto && !req.paths.html) return written;
  const timeline = buildTimeline(parseTraceLines(req.lines), meta);
  if (req.paths.perfetto) {
    withFile(req.paths.perfetto, (sink) => writePerfetto(toPerfetto(timeline), sink));
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

/** Where an export writes its text, one piece at a time. */
export interface ChunkSink {
  write(piece: string): void;
}

/** The JSONL trace: each line followed by a newline, one line per write. */
export function writeTraceLines(lines: readonly string[], sink: ChunkSink): void {
  for (const l of lines) sink.write(`${l}\n`);
}

/** A Perfetto trace as JSON, the same text `JSON.stringify` gives, one trace event per write. */
export function writePerfetto(trace: PerfettoTrace, sink: ChunkSink): void {
  const { traceEvents, ...rest } = trace;
  sink.write('{"traceEvents":[');
  for (let k = 0; k < traceEvents.length; k++) {
    const e = JSON.stringify(traceEvents[k]);
    sink.write(k === 0 ? e : `,${e}`);
  }
  const tail = JSON.stringify(rest);
  sink.write(tail === "{}" ? "]}" : `],${tail.slice(1)}`);
}

/** Write a JSONL trace file line by line. */
export function writeTraceFile(path: string, lines: readonly string[]): void {
  withFile(path, (sink) => writeTraceLines(lines, sink));
}

/** A JSONL trace file's non-blank lines, read in blocks (the file may exceed one string). */
export function readTraceFile(path: string): string[] {
  const fd = openSync(path, "r");
  try {
    const lines: string[] = [];
    const block = Buffer.alloc(1 << 20);
    const decoder = new StringDecoder("utf8");
    let partial = "";
    const take = (text: string) => {
      const parts = text.split("\n");
      parts[0] = partial + parts[0]!;
      partial = parts.pop()!;
      for (const l of parts) if (l.trim() !== "") lines.push(l);
    };
    for (;;) {
      const n = readSync(fd, block, 0, block.length, null);
      if (n === 0) break;
      take(decoder.write(block.subarray(0, n)));
    }
    take(`${decoder.end()}\n`);
    return lines;
  } finally {
    closeSync(fd);
  }
}

/** Bytes buffered before a write to the file (pieces are joined only up to this size). */
const FLUSH_CHARS = 1 << 20;

/** Open `path` (creating its directory), hand `fill` a buffered sink onto it, and close it. */
export function withFile(path: string, fill: (sink: ChunkSink) => void): void {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, "w");
  try {
    let buf: string[] = [];
    let size = 0;
    const flush = () => {
      if (size === 0) return;
      writeSync(fd, buf.join(""));
      buf = [];
      size = 0;
    };
    fill({
      write(piece) {
        buf.push(piece);
        size += piece.length;
        if (size >= FLUSH_CHARS) flush();
      },
    });
    flush();
  } finally {
    closeSync(fd);
  }
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}
