/**
 * Chrome Trace Event Format export (opens in https://ui.perfetto.dev and chrome://tracing, both of
 * which read the file locally).
 *
 * Layout: one process per actor lane (named with `process_name` metadata, ordered with
 * `process_sort_index`), one thread per sub-track. Every timeline node is a complete (`X`) slice;
 * every timeline link is a flow (`s` on the source slice, `f` with `bp:"e"` on the target slice,
 * same id and category). A failed run adds a marked instant on the "checkers" process.
 *
 * Time: `ts` is virtual microseconds since the run start. The simulator's clock has millisecond
 * resolution and many events share a millisecond, so the events of one millisecond are spread
 * evenly across it in trace order. That keeps cause before effect, gives every slice a visible
 * width, and means no two slices overlap on any track (flows bind to the right slice).
 */

import { fromSimEvents, parseTraceLines, type RunMeta } from "./records.ts";
import type { SimEvent } from "../kernel/events.ts";
import { buildTimeline, type Timeline } from "./timeline.ts";

export interface TraceEvent {
  name: string;
  ph: "X" | "i" | "s" | "f" | "M";
  ts: number;
  pid: number;
  tid: number;
  cat?: string;
  dur?: number;
  id?: number;
  bp?: "e";
  s?: "t" | "p" | "g";
  args?: Record<string, unknown>;
}

export interface PerfettoTrace {
  traceEvents: TraceEvent[];
  displayTimeUnit: "ms";
  metadata: Record<string, unknown>;
}

/** µs per virtual ms. */
const US_PER_MS = 1000;

export function toPerfetto(timeline: Timeline): PerfettoTrace {
  const meta: TraceEvent[] = [];
  const track = new Map<string, { pid: number; tid: number }>();
  timeline.lanes.forEach((lane, li) => {
    const pid = li + 1;
    meta.push({ name: "process_name", ph: "M", ts: 0, pid, tid: 0, args: { name: lane.title } });
    meta.push({ name: "process_sort_index", ph: "M", ts: 0, pid, tid: 0, args: { sort_index: li } });
    lane.threads.forEach((thread, ti) => {
      const tid = ti + 1;
      track.set(`${lane.id}\u0000${thread}`, { pid, tid });
      meta.push({ name: "thread_name", ph: "M", ts: 0, pid, tid, args: { name: thread } });
      meta.push({ name: "thread_sort_index", ph: "M", ts: 0, pid, tid, args: { sort_index: ti } });
    });
  });

  const { ts, dur } = layout(timeline);
  const body: TraceEvent[] = [];
  for (const n of timeline.nodes) {
    const where = track.get(`${n.lane}\u0000${n.thread}`)!;
    const args: Record<string, unknown> = { label: n.label, t_ms: n.t, event: n.data };
    if (n.lost) args.lost_in_flight = true;
    if (n.inFlight) args.in_flight_at_end = true;
    if (n.trigger) args.tripped_checker = true;
    body.push({ name: n.name, cat: n.kind, ph: "X", ts: ts[n.i]!, dur: dur[n.i]!, ...where, args });
    if (n.kind === "violation") {
      body.push({
        name: `VIOLATION ${n.name.replace(/^violation /, "")}`,
        cat: "violation",
        ph: "i",
        s: "t",
        ts: ts[n.i]!,
        ...where,
        args: { label: n.label },
      });
    }
  }
  const flows: TraceEvent[] = [];
  timeline.links.forEach((l, k) => {
    const from = timeline.nodes[l.from]!;
    const to = timeline.nodes[l.to]!;
    const id = k + 1;
    const cat = `flow.${l.cat}`;
    flows.push({
      name: l.cat,
      cat,
      ph: "s",
      id,
      ts: ts[from.i]!,
      ...track.get(`${from.lane}\u0000${from.thread}`)!,
    });
    flows.push({
      name: l.cat,
      cat,
      ph: "f",
      bp: "e",
      id,
      ts: ts[to.i]!,
      ...track.get(`${to.lane}\u0000${to.thread}`)!,
    });
  });
  // Slices before flows at equal ts, so each flow's slice already exists when a reader binds it.
  const events = [...body, ...flows].map((e, order) => ({ e, order }));
  events.sort((a, b) => a.e.ts - b.e.ts || a.order - b.order);

  const m = timeline.meta;
  return {
    traceEvents: [...meta, ...events.map((x) => x.e)],
    displayTimeUnit: "ms",
    metadata: {
      generator: "sim/export/perfetto.ts",
      scenario: m.scenario,
      seed: m.seed,
      traceHash: m.traceHash,
      verdict: verdictOf(m),
      violation: m.violation,
      rerun: m.rerun,
      clock:
        "ts = virtual µs since the run start; events within one virtual ms are spread across it in trace order",
    },
  };
}

/** Convenience: SimEvents or JSONL lines straight to a Perfetto trace. */
export function perfettoFrom(
  events: readonly SimEvent[] | readonly string[],
  meta: RunMeta = {},
): PerfettoTrace {
  const records =
    events.length > 0 && typeof events[0] === "string"
      ? parseTraceLines(events as readonly string[])
      : fromSimEvents(events as readonly SimEvent[]);
  return toPerfetto(buildTimeline(records, meta));
}

export function verdictOf(m: RunMeta): string {
  if (m.violation) return `FAIL ${m.violation.invariant} (${m.violation.kind})`;
  if (m.ok === true) return "PASS";
  if (m.ok === false) return "FAIL";
  return "unknown";
}

/**
 * Strictly increasing start times (nodes are already in time order) and durations that end at or
 * before the next start, so no two slices overlap on any track.
 */
function layout(timeline: Timeline): { ts: number[]; dur: number[] } {
  const nodes = timeline.nodes;
  const ts: number[] = new Array(nodes.length);
  let prev = -1;
  for (let i = 0; i < nodes.length; ) {
    const t = nodes[i]!.t;
    let j = i;
    while (j < nodes.length && nodes[j]!.t === t) j++;
    const slot = Math.max(1, Math.floor(US_PER_MS / (j - i)));
    for (let k = i; k < j; k++) {
      const want = Math.round(t * US_PER_MS) + (k - i) * slot;
      ts[k] = want > prev ? want : prev + 1;
      prev = ts[k]!;
    }
    i = j;
  }
  const dur: number[] = new Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    const next = i + 1 < nodes.length ? ts[i + 1]! : ts[i]! + US_PER_MS;
    const gap = next - ts[i]!;
    dur[i] = Math.max(1, Math.min(Math.floor(gap * 0.8), US_PER_MS / 2));
  }
  return { ts, dur };
}
