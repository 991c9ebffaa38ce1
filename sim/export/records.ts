/**
 * One shape for everything the exporters read. A run reaches them either as in-memory `SimEvent`s
 * (the checkers' view) or as the compact JSONL lines of `Trace` (`{"t","k","v"}`, plus `net` lines
 * that only the trace has). Both are folded into `TraceRecord` here so the timeline builder never
 * has to care where a run came from.
 *
 * Unknown or malformed lines are kept as `other` records rather than dropped: a trace from a newer
 * simulator should still render, with the unknown events visible instead of silently missing.
 */

import type { Fact, SimEvent } from "../kernel/events.ts";
import type { Input, Output } from "../../src/broker/types.ts";

export type TraceRecord =
  | { k: "in"; t: number; input: Input }
  | { k: "out"; t: number; output: Output }
  | { k: "truth"; t: number; fact: Fact }
  | { k: "start"; t: number; incarnation: number; initialCursor: number }
  | { k: "crash"; t: number; incarnation: number }
  | { k: "advance"; t: number }
  | { k: "quiescent"; t: number }
  /** A send on a simulated link: `what` is send | drop | hold; `at` is the scheduled arrival (ms). */
  | { k: "net"; t: number; link: string; what: string; label: string; at: number }
  | { k: "other"; t: number; raw: unknown };

/** The run-level facts the exporters print (all optional: a bare trace file has none of them). */
export interface RunMeta {
  scenario?: string;
  seed?: number;
  traceHash?: string;
  /** Total trace lines of the run (the file may hold fewer if it was cut). */
  traceLines?: number;
  ok?: boolean;
  violation?: ViolationInfo;
  rerun?: string;
  drawn?: Record<string, unknown>;
}

/** The subset of a checker `Violation` the exporters show. */
export interface ViolationInfo {
  invariant: string;
  kind: string;
  statement?: string;
  atMs: number;
  message: string;
  involved?: string[];
}

/** Parse JSONL trace text (blank lines ignored). */
export function parseTraceText(text: string): TraceRecord[] {
  return parseTraceLines(text.split("\n"));
}

/** Parse trace lines (blank lines ignored); a line with no time shows at the previous line's. */
export function parseTraceLines(lines: readonly string[]): TraceRecord[] {
  const out: TraceRecord[] = [];
  let t = 0;
  for (const line of lines) {
    if (line.trim() === "") continue;
    const r = parseTraceLine(line, t);
    t = r.t;
    out.push(r);
  }
  return out;
}

/** `fallbackT`: the time to show a line that has none (the previous line's, when reading a file). */
export function parseTraceLine(line: string, fallbackT = 0): TraceRecord {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return { k: "other", t: fallbackT, raw: line };
  }
  return normalise(obj);
}

/** Accepts a `SimEvent` or a parsed trace line; anything else becomes an `other` record. */
export function normalise(obj: unknown): TraceRecord {
  if (typeof obj !== "object" || obj === null) return { k: "other", t: 0, raw: obj };
  const o = obj as Record<string, unknown>;
  const t = typeof o.t === "number" ? o.t : 0;
  switch (o.k) {
    case "in": {
      const input = (o.input ?? o.v) as Input | undefined;
      return isKinded(input) ? { k: "in", t, input } : { k: "other", t, raw: obj };
    }
    case "out": {
      const output = (o.output ?? o.v) as Output | undefined;
      return isKinded(output) ? { k: "out", t, output } : { k: "other", t, raw: obj };
    }
    case "truth": {
      const fact = (o.fact ?? o.v) as Fact | undefined;
      return typeof fact === "object" && fact !== null && typeof fact.f === "string"
        ? { k: "truth", t, fact }
        : { k: "other", t, raw: obj };
    }
    case "start":
      return {
        k: "start",
        t,
        incarnation: num(o.incarnation ?? o.inc),
        initialCursor: num(o.initialCursor ?? o.cursor),
      };
    case "crash":
      return { k: "crash", t, incarnation: num(o.incarnation ?? o.inc) };
    case "advance":
      return { k: "advance", t };
    case "quiescent":
      return { k: "quiescent", t };
    case "net":
      return {
        k: "net",
        t,
        link: String(o.l ?? o.link ?? ""),
        what: String(o.w ?? o.what ?? "send"),
        label: String(o.m ?? o.label ?? ""),
        at: typeof o.at === "number" ? o.at : t,
      };
    default:
      return { k: "other", t, raw: obj };
  }
}

/** `step_end` carries nothing a person needs to see; every other event is kept. */
export function fromSimEvents(events: readonly SimEvent[]): TraceRecord[] {
  const out: TraceRecord[] = [];
  for (const ev of events) {
    if (ev.k === "step_end") continue;
    out.push(normalise(ev));
  }
  return out;
}

function isKinded<T>(x: T | undefined): x is T {
  return typeof x === "object" && x !== null && typeof (x as { kind?: unknown }).kind === "string";
}

function num(x: unknown): number {
  return typeof x === "number" ? x : 0;
}
