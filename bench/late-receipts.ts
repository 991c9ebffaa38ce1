/**
 * How our daemon recovers seqs released by push-receipt timeouts: a burst through the real daemon
 * (in this process) on the platform stub, with a plugin that answers push receipts later than
 * `pushReceiptTimeoutMs` for a while and at once afterwards. Every second it prints the acked
 * cursor, the accepted seqs waiting above it, the gap fills sent and the inbound tasks in flight;
 * at the end, the counts of the log events of the release → gap fill → replay path.
 *
 *   npx tsx bench/late-receipts.ts [--messages 5000] [--late-ms 2500] [--late-for-ms 3000]
 *
 * A released seq is delivered again only when its replay arrives, and the replay is queued behind
 * every frame the server had already sent on the socket: the cursor stands still until the backlog
 * has been worked through. Figures go to stdout only (wall-clock, load-dependent, never asserted).
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { createBroker } from "../src/daemon/index.ts";
import { startStubs } from "./loopback/world.ts";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "5000" },
    "late-ms": { type: "string", default: "2500" },
    "late-for-ms": { type: "string", default: "3000" },
    "stall-ms": { type: "string", default: "120000" },
  },
});
const whole = (name: string, text: string | undefined): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`late-receipts: --${name} wants a whole number, got ${text}`);
    process.exit(2);
  }
  return n;
};
const messages = whole("messages", values.messages);
const lateMs = whole("late-ms", values["late-ms"]);
const lateForMs = whole("late-for-ms", values["late-for-ms"]);
const stallMs = whole("stall-ms", values["stall-ms"]);

const COUNTED = [
  "ipc_push_ack_timeout",
  "delivery_seq_released",
  "gap_fill_requested",
  "gap_fill_suppressed",
  "connector_message_dropped",
  "ipc_push_ack_unknown",
] as const;
const counts = new Map<string, number>(COUNTED.map((k) => [k, 0]));
const logStream = {
  write: (line: string) => {
    for (const k of COUNTED) if (line.includes(`"event":"${k}"`)) counts.set(k, counts.get(k)! + 1);
    return true;
  },
};

const stubs = await startStubs();
const dataDir = mkdtempSync(join(tmpdir(), "late-receipts-"));
const broker = await createBroker({
  connectorUrl: stubs.connector.url,
  connectorToken: "bench",
  apiBaseUrl: stubs.api.url,
  dataDir,
  logLevel: "debug",
  logStream,
  livenessProbe: () => true,
});
while (!broker.core.connector.ready) await new Promise((r) => setTimeout(r, 5));

const headers = {
  authorization: `Bearer ${broker.bearerToken}`,
  "x-plugin-pid": String(process.pid),
};
const ws = new WebSocket(`${broker.ipcUrl.replace(/^http/, "ws")}/v1/stream`, {
  perMessageDeflate: false,
  headers: { ...headers, "x-masons-ipc-capabilities": "push_receipt_ack_v1" },
});
await new Promise((r) => ws.once("open", r));
let lateUntil = Number.POSITIVE_INFINITY;
ws.on("message", (data) => {
  const f = JSON.parse(data.toString()) as { push_id?: unknown };
  if (typeof f.push_id !== "string") return;
  const ack = () => ws.send(JSON.stringify({ event: "push_ack", push_id: f.push_id }));
  if (performance.now() < lateUntil) setTimeout(ack, lateMs);
  else ack();
});
const res = await fetch(`${broker.ipcUrl}/v1/endpoint/register`, {
  method: "POST",
  headers: { ...headers, "content-type": "application/json" },
  body: JSON.stringify({ plugin_pid: process.pid, kind: "claude" }),
});
const endpointId = ((await res.json()) as { endpoint_id: string }).endpoint_id;

const t0 = performance.now();
lateUntil = t0 + lateForMs;
for (let i = 0; i < messages; i++) {
  stubs.connector.append({ content: "late receipts", metadata: { target_endpoint_id: endpointId } });
  if (i % 1_000 === 999) await new Promise((r) => setImmediate(r));
}
let lastAcked = -1;
let lastProgress = performance.now();
let stalled = false;
while (stubs.acked.upTo < messages) {
  await new Promise((r) => setTimeout(r, 1_000));
  const c = broker.core.connector;
  console.log(
    `${((performance.now() - t0) / 1000).toFixed(1)} s: acked ${stubs.acked.upTo} of ${messages}, ` +
      `accepted above the cursor ${c.acceptedGaps().length}, gap fills ${c.gapFillsSent}, ` +
      `tasks in flight ${broker.core.inflightTasks.size}`,
  );
  if (stubs.acked.upTo !== lastAcked) {
    lastAcked = stubs.acked.upTo;
    lastProgress = performance.now();
  } else if (performance.now() - lastProgress > stallMs) {
    stalled = true;
    break;
  }
}
console.log(
  `${stalled ? "STALLED" : "done"} after ${((performance.now() - t0) / 1000).toFixed(1)} s; ` +
    [...counts].map(([k, n]) => `${k} ${n}`).join(", "),
);
ws.terminate();
await broker.close();
await Promise.all([stubs.connector.close(), stubs.api.close()]);
rmSync(dataDir, { recursive: true, force: true });
process.exit(stalled ? 1 : 0);
