/**
 * The export writes its JSONL trace and Perfetto JSON piece by piece: a long run's files are
 * longer than the longest string V8 can hold, so no piece may be the whole file. Building such a
 * trace here would be too slow; the tests check that every piece is one line or one trace event,
 * and that what lands on disk is exactly the text one big string would have been.
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type ChunkSink,
  hashOf,
  metaFromReport,
  readTraceFile,
  withFile,
  writeExports,
  writePerfetto,
  writeTraceLines,
} from "../../sim/export/files.ts";
import { type PerfettoTrace, type TraceEvent, toPerfetto } from "../../sim/export/perfetto.ts";
import { parseTraceLines } from "../../sim/export/records.ts";
import { buildTimeline } from "../../sim/export/timeline.ts";
import { runScenario } from "../../sim/run.ts";
import { happyPath } from "../../sim/scenarios/happy-path.ts";

const dir = mkdtempSync(join(tmpdir(), "export-streaming-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A sink that keeps every piece it is handed. */
function recordingSink(): ChunkSink & { pieces: string[] } {
  const pieces: string[] = [];
  return { pieces, write: (p) => void pieces.push(p) };
}

const report = runScenario(happyPath, 1, { recordTrace: true });
const lines = report.trace!;
const meta = metaFromReport(report as unknown as Record<string, unknown>);

/** A synthetic Perfetto trace of `n` slices, big enough to span many buffered writes. */
function syntheticPerfetto(n: number): PerfettoTrace {
  const traceEvents: TraceEvent[] = [];
  for (let k = 0; k < n; k++)
    traceEvents.push({
      name: `event ${k}`,
      ph: "X",
      ts: k,
      dur: 1,
      pid: 1,
      tid: 1,
      args: { k, pad: "x".repeat(40) },
    });
  return { traceEvents, displayTimeUnit: "ms", metadata: { generator: "test", seed: 1 } };
}

describe("streaming the export files", () => {
  it("writes the JSONL trace one line per piece, and the pieces make the joined trace", () => {
    const sink = recordingSink();
    writeTraceLines(lines, sink);
    expect(sink.pieces.length).toBe(lines.length);
    expect(sink.pieces.every((p, k) => p === `${lines[k]}\n`)).toBe(true);
    expect(sink.pieces.join("")).toBe(`${lines.join("\n")}\n`);
  });

  it("writes the Perfetto JSON one trace event per piece, and the pieces parse to the same trace", () => {
    const trace = toPerfetto(buildTimeline(parseTraceLines(lines), meta));
    const sink = recordingSink();
    writePerfetto(trace, sink);
    const longestEvent = Math.max(...trace.traceEvents.map((e) => JSON.stringify(e).length));
    const longestPiece = Math.max(...sink.pieces.map((p) => p.length));
    expect(sink.pieces.length).toBeGreaterThan(trace.traceEvents.length);
    expect(longestPiece).toBeLessThanOrEqual(
      Math.max(longestEvent + 1, JSON.stringify(trace.metadata).length + 40),
    );
    expect(sink.pieces.join("")).toBe(JSON.stringify(trace));
    expect(JSON.parse(sink.pieces.join(""))).toEqual(trace);
  });

  it("writes an empty Perfetto trace as valid JSON", () => {
    const sink = recordingSink();
    writePerfetto({ traceEvents: [], displayTimeUnit: "ms", metadata: {} }, sink);
    expect(JSON.parse(sink.pieces.join(""))).toEqual({
      traceEvents: [],
      displayTimeUnit: "ms",
      metadata: {},
    });
  });

  it("writes a multi-megabyte Perfetto file through the buffered file sink, and it parses back", () => {
    const trace = syntheticPerfetto(40_000);
    const path = join(dir, "synthetic.perfetto.json");
    withFile(path, (sink) => writePerfetto(trace, sink));
    const text = readFileSync(path, "utf8");
    expect(text.length).toBeGreaterThan(2 * (1 << 20));
    expect(JSON.parse(text)).toEqual(trace);
  });

  it("reads a multi-megabyte trace file back line by line, multi-byte characters across blocks included", () => {
    const many = Array.from({ length: 30_000 }, (_, k) =>
      JSON.stringify({ t: k, k: "note", v: "µs ".repeat(k % 50) }),
    );
    const path = join(dir, "many.jsonl");
    withFile(path, (sink) => writeTraceLines(many, sink));
    expect(readTraceFile(path)).toEqual(many);
    withFile(path, (sink) => sink.write(`${many[0]}\n\n${many[1]}`));
    expect(readTraceFile(path)).toEqual([many[0], many[1]]);
  });

  it("exports a run's trace and Perfetto file that parse back and keep the trace hash", () => {
    const paths = { trace: join(dir, "run.jsonl"), perfetto: join(dir, "run.perfetto.json") };
    const written = writeExports({ lines, meta, paths });
    expect(written).toEqual(paths);
    const back = readFileSync(paths.trace, "utf8").split("\n");
    expect(back.pop()).toBe("");
    expect(back).toEqual(lines);
    expect(hashOf(back)).toBe(report.traceHash);
    const perfetto = JSON.parse(readFileSync(paths.perfetto, "utf8")) as PerfettoTrace;
    expect(perfetto.traceEvents.length).toBeGreaterThan(lines.length / 2);
    expect(perfetto.metadata.traceHash).toBe(report.traceHash);
  });
});
