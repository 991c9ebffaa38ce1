/**
 * Memory soak (a project performance target): N targeted messages through the core's delivery path (CoreLoop), RSS
 * and heap measured after a forced GC before and after. Growth must stay bounded by the configured
 * limits (route cache 4 096, seen ids 4 096, correlation rings, emitter queues…), target < 50 MB
 * for 1 000 000 messages. The sizes of the bounded structures at the end are reported too.
 */

import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { CoreLoop, targetedFrame } from "./core-loop.ts";

export interface SoakResult {
  messages: number;
  ms: number;
  msgsPerSec: number;
  rssBeforeMb: number;
  rssAfterMb: number;
  rssGrowthMb: number;
  heapBeforeMb: number;
  heapAfterMb: number;
  heapGrowthMb: number;
  bounded: Record<string, number>;
}

/** A callable `gc()` even without `--expose-gc` on the command line. */
function gcFunction(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) return g;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

const mb = (n: number) => n / 1_048_576;

export function memorySoak(messages: number, warmup = 50_000): SoakResult {
  const gc = gcFunction();
  const loop = new CoreLoop().setUp();
  const ep = loop.endpointId;
  let seq = 0;
  const content = "soak message with a realistic little body of text";
  while (seq < warmup) {
    seq++;
    loop.feed({ kind: "connector_frame", text: targetedFrame(seq, ep, content) });
  }
  gc();
  gc();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const end = seq + messages;
  while (seq < end) {
    seq++;
    loop.feed({ kind: "connector_frame", text: targetedFrame(seq, ep, content) });
  }
  const ms = performance.now() - t0;
  gc();
  gc();
  const after = process.memoryUsage();
  if (loop.ackedUpTo !== end) throw new Error(`soak: acked ${loop.ackedUpTo} of ${end}`);
  const snap = loop.core.snapshot();
  return {
    messages,
    ms,
    msgsPerSec: (messages / ms) * 1000,
    rssBeforeMb: mb(before.rss),
    rssAfterMb: mb(after.rss),
    rssGrowthMb: mb(after.rss - before.rss),
    heapBeforeMb: mb(before.heapUsed),
    heapAfterMb: mb(after.heapUsed),
    heapGrowthMb: mb(after.heapUsed - before.heapUsed),
    bounded: {
      seenPayloadIds: snap.connector.seenPayloadIds,
      pendingPayloadIds: snap.connector.pendingPayloadIds,
      inflightTasks: snap.inflightInboundTasks,
      armedDeadlines: snap.deadlines.length,
      pendingApiCalls: snap.pendingApiCalls,
      inbox: snap.inbox.size,
      routedQueue: snap.queues.routed ?? 0,
    },
  };
}

/**
 * Run the soak in a fresh `node --expose-gc` process, so the RSS it reports is not the leftover
 * of whatever ran before it in the bench.
 */
export function memorySoakInChild(messages: number): SoakResult {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, ["--expose-gc", "--import", "tsx", self, String(messages)], {
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.toString()) as SoakResult;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(memorySoak(Number(process.argv[2] ?? 1_000_000)))}\n`);
}
