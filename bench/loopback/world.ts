/**
 * The world side of the loopback daemon bench, run in its own process (`child.ts`) so that the
 * daemon under test has its process to itself: the platform stub (sim/stub: the simulator's
 * connector and platform-API models over real ws + http) and one bench plugin (real IPC socket,
 * acks every push receipt) with one foreground endpoint that every message targets.
 *
 * Workloads:
 * - throughput: a window of messages in flight (appended to the stub, not yet acked), msgs/s from
 *   the first append to the last DELIVERY_ACK;
 * - latency: a paced offered load (the same for every daemon); hand-off latency = stub writes the
 *   frame → plugin receives the push, p50/p99;
 * - burst: N messages appended at once, time to the final ack; "stall" = no ack progress for
 *   `stallMs`;
 * - soak: N messages (up to a million) with a window in flight, msgs/s and the hand-off latency
 *   (stub append → plugin push) of every message, p50/p99, and the world process's peak RSS.
 */

import { ConnectorStub } from "../../sim/stub/connector-ws-server.ts";
import { PlatformStub } from "../../sim/stub/platform-http-server.ts";
import type { BenchPlugin } from "../plugin-client.ts";

const CONTENT = "hello from the bench";

export interface LoopbackWorld {
  name: string;
  connector: ConnectorStub;
  api: PlatformStub;
  acked: { upTo: number; listeners: Array<(upTo: number) => void> };
  plugin: BenchPlugin;
  endpointId: string;
}

export async function startStubs(): Promise<Omit<LoopbackWorld, "plugin" | "endpointId" | "name">> {
  const acked: LoopbackWorld["acked"] = { upTo: 0, listeners: [] };
  const connector = new ConnectorStub({
    onFact: (f) => {
      if (f.f !== "server_acked" || f.upToSeq <= acked.upTo) return;
      acked.upTo = f.upToSeq;
      for (const l of acked.listeners) l(f.upToSeq);
    },
  });
  const api = new PlatformStub({ autoDispatch: false });
  await Promise.all([connector.listen(), api.listen()]);
  return { connector, api, acked };
}

export interface LoopbackThroughput {
  messages: number;
  ms: number;
  msgsPerSec: number;
  /** CPU ms the world process (stubs + plugin) spent during the run, to see which side is busy. */
  worldCpuMs: number;
}

/** `count` messages with at most `window` unacked; resolves at the final ack. */
export async function throughput(
  d: LoopbackWorld,
  count: number,
  window: number,
  stallMs = 15_000,
): Promise<LoopbackThroughput> {
  const { connector, acked } = d;
  const first = connector.model.head + 1;
  const last = first + count - 1;
  const metadata = { target_endpoint_id: d.endpointId };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = await keepWindow(d, first, last, window, stallMs, () => {
    connector.append({ content: CONTENT, metadata });
  });
  if (end === "stalled") throw new Error(`${d.name} stalled at ack ${acked.upTo} of ${last}`);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { messages: count, ms, msgsPerSec: (count / ms) * 1000, worldCpuMs: (cpu.user + cpu.system) / 1000 };
}

/**
 * Keep at most `window` messages unacked until the ack reaches `last`, calling `send` to append the
 * next one. Ends `done` at the final ack, `stalled` after `stallMs` without an ack, or `cut` once
 * `performance.now()` passes `deadline`.
 */
function keepWindow(
  d: LoopbackWorld,
  first: number,
  last: number,
  window: number,
  stallMs: number,
  send: () => void,
  deadline?: number,
): Promise<"done" | "stalled" | "cut"> {
  const { acked } = d;
  return new Promise((resolve) => {
    let appended = first - 1;
    let lastProgress = performance.now();
    let scheduled = false;
    const top = () => {
      scheduled = false;
      const limit = Math.min(last, acked.upTo + window);
      while (appended < limit) {
        send();
        appended++;
      }
    };
    const finish = (end: "done" | "stalled" | "cut") => {
      clearInterval(timer);
      acked.listeners = acked.listeners.filter((l) => l !== listener);
      resolve(end);
    };
    const timer = setInterval(() => {
      const now = performance.now();
      if (now - lastProgress > stallMs) finish("stalled");
      else if (deadline !== undefined && now > deadline) finish("cut");
    }, 500);
    const listener = (upTo: number) => {
      lastProgress = performance.now();
      if (upTo >= last) finish("done");
      else if (!scheduled) {
        scheduled = true;
        setImmediate(top);
      }
    };
    acked.listeners.push(listener);
    top();
  });
}

export interface LatencyResult {
  messages: number;
  offeredPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Paced offered load: `batch` messages every `intervalMs`, `count` in all; hand-off latency. */
export async function latency(
  d: LoopbackWorld,
  count: number,
  batch: number,
  intervalMs: number,
): Promise<LatencyResult> {
  const { connector, acked } = d;
  const plugin = d.plugin;
  const metadata = { target_endpoint_id: d.endpointId };
  const sentAt = new Map<string, number>();
  plugin.arrivals.clear();
  plugin.track = true;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      for (let i = 0; i < batch && sent < count; i++, sent++) {
        const t = performance.now();
        const m = connector.append({ content: CONTENT, metadata });
        sentAt.set(m.messageId, t);
      }
      if (sent >= count) {
        clearInterval(timer);
        resolve();
      }
    }, intervalMs);
  });
  const last = connector.model.head;
  await waitFor(() => acked.upTo >= last, `${d.name} to ack the latency run`, 20_000);
  plugin.track = false;
  const lat: number[] = [];
  for (const [id, t] of sentAt) {
    const a = plugin.arrivals.get(id);
    if (a !== undefined) lat.push(a - t);
  }
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? Number.NaN;
  return {
    messages: lat.length,
    offeredPerSec: (batch / intervalMs) * 1000,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    maxMs: lat.at(-1) ?? Number.NaN,
  };
}

/** Seconds between progress lines of a long run (burst, soak) on stderr. */
const PROGRESS_EVERY_MS = 10_000;

/**
 * Print a progress line every `PROGRESS_EVERY_MS` (acked so far, overall and recent rate, this
 * process's RSS), so a run cut short still shows how far it got and whether memory stayed flat.
 * Returns the function that stops it.
 */
function progress(what: string, d: LoopbackWorld, first: number, count: number): () => void {
  const t0 = performance.now();
  let lastAcked = 0;
  let lastT = t0;
  const timer = setInterval(() => {
    const now = performance.now();
    const acked = Math.max(0, d.acked.upTo - first + 1);
    const rate = (acked / (now - t0)) * 1000;
    const recent = ((acked - lastAcked) / (now - lastT)) * 1000;
    lastAcked = acked;
    lastT = now;
    const rss = process.memoryUsage.rss() / 1_048_576;
    process.stderr.write(
      `[${what} ${d.name}] ${((now - t0) / 1000).toFixed(0)} s: acked ${acked} of ${count}, ` +
        `${rate.toFixed(0)} msgs/s (last ${PROGRESS_EVERY_MS / 1000} s: ${recent.toFixed(0)}/s), stub RSS ${rss.toFixed(0)} MB\n`,
    );
  }, PROGRESS_EVERY_MS);
  return () => clearInterval(timer);
}

export interface BurstResult {
  messages: number;
  ms: number;
  msgsPerSec: number;
  stalled: boolean;
  ackedUpTo: number;
}

/** Append `count` messages at once (in slices, so the stub's socket writes interleave). */
export async function burst(d: LoopbackWorld, count: number, stallMs = 15_000): Promise<BurstResult> {
  const { connector, acked } = d;
  const metadata = { target_endpoint_id: d.endpointId };
  const first = connector.model.head + 1;
  const last = first + count - 1;
  const t0 = performance.now();
  const stopProgress = progress("burst", d, first, count);
  for (let i = 0; i < count; i += 1_000) {
    for (let j = i; j < Math.min(count, i + 1_000); j++) connector.append({ content: CONTENT, metadata });
    await new Promise((r) => setImmediate(r));
  }
  let lastUpTo = acked.upTo;
  let lastProgress = performance.now();
  let stalled = false;
  while (acked.upTo < last) {
    await new Promise((r) => setTimeout(r, 50));
    if (acked.upTo !== lastUpTo) {
      lastUpTo = acked.upTo;
      lastProgress = performance.now();
    } else if (performance.now() - lastProgress > stallMs) {
      stalled = true;
      break;
    }
  }
  stopProgress();
  const ms = performance.now() - t0;
  return {
    messages: count,
    ms,
    msgsPerSec: ((acked.upTo - first + 1) / ms) * 1000,
    stalled,
    ackedUpTo: acked.upTo - first + 1,
  };
}

export interface SoakResult {
  messages: number;
  ms: number;
  msgsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  stalled: boolean;
  /** The run reached its time budget (`maxMs`) before its last message was acked. */
  cutShort: boolean;
  ackedUpTo: number;
  /** Peak RSS of the world process (stubs + plugin) during the soak. */
  worldRssPeakMb: number;
}

/**
 * `count` messages with at most `window` unacked, like `throughput`, timing every message from
 * its append to its push at the plugin. Only the messages in flight are remembered. With `maxMs`
 * the run ends at that time budget and reports what it reached (`cutShort`).
 */
export async function soak(
  d: LoopbackWorld,
  count: number,
  window: number,
  maxMs?: number,
  stallMs = 30_000,
): Promise<SoakResult> {
  const { connector, acked, plugin } = d;
  const first = connector.model.head + 1;
  const last = first + count - 1;
  const metadata = { target_endpoint_id: d.endpointId };
  const sentAt = new Map<string, number>();
  const lat = new Float64Array(count);
  let measured = 0;
  plugin.onArrival = (id, t) => {
    const s = sentAt.get(id);
    if (s === undefined) return;
    sentAt.delete(id);
    if (measured < count) lat[measured++] = t - s;
  };
  let rssPeak = process.memoryUsage.rss();
  const rssTimer = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
  }, 250);
  const t0 = performance.now();
  const stopProgress = progress("soak", d, first, count);
  let stalled = false;
  let cutShort = false;
  try {
    const end = await keepWindow(
      d,
      first,
      last,
      window,
      stallMs,
      () => {
        const t = performance.now();
        const m = connector.append({ content: CONTENT, metadata });
        sentAt.set(m.messageId, t);
      },
      maxMs === undefined ? undefined : t0 + maxMs,
    );
    stalled = end === "stalled";
    cutShort = end === "cut";
  } finally {
    stopProgress();
    clearInterval(rssTimer);
    plugin.onArrival = undefined;
  }
  const ms = performance.now() - t0;
  const sorted = lat.subarray(0, measured).sort();
  const q = (p: number) =>
    measured === 0 ? Number.NaN : sorted[Math.min(measured - 1, Math.floor(p * measured))]!;
  const ackedUpTo = Math.max(0, acked.upTo - first + 1);
  return {
    messages: count,
    ms,
    msgsPerSec: (ackedUpTo / ms) * 1000,
    p50Ms: q(0.5),
    p99Ms: q(0.99),
    maxMs: measured === 0 ? Number.NaN : sorted[measured - 1]!,
    stalled,
    cutShort,
    ackedUpTo,
    worldRssPeakMb: rssPeak / 1_048_576,
  };
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`bench: gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
