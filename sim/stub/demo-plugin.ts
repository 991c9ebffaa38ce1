/**
 * A demo plugin for trying the real daemon by hand: finds the broker through its discovery file,
 * opens `/v1/stream`, registers one background-capable endpoint, prints every push, and answers
 * each runtime assignment (accept, then an idempotent reply echoing the message).
 *
 *   npx tsx sim/stub/demo-plugin.ts --data-dir <the broker's --data-dir>
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import WebSocket from "ws";

const { values } = parseArgs({ options: { "data-dir": { type: "string" } } });
if (!values["data-dir"]) {
  process.stderr.write("usage: demo-plugin --data-dir <dir>\n");
  process.exit(2);
}
const discovery = JSON.parse(readFileSync(join(values["data-dir"], "discovery.json"), "utf8")) as {
  ipcUrl: string;
  bearerToken: string;
};
const pid = process.pid;
const headers = { authorization: `Bearer ${discovery.bearerToken}`, "x-plugin-pid": String(pid) };
const say = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);

async function call(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${discovery.ipcUrl}${path}`, {
    method: "POST",
    headers: { ...headers, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const out = (await res.json()) as Record<string, unknown>;
  if (!res.ok) say("ipc_error", { path, status: res.status, ...out });
  return out;
}

const ws = new WebSocket(`${discovery.ipcUrl.replace("http", "ws")}/v1/stream`, {
  headers: { ...headers, "x-masons-ipc-capabilities": "push_receipt_ack_v1" },
});
await new Promise<void>((resolve, reject) => {
  ws.once("open", () => resolve());
  ws.once("error", reject);
});
const owner = await call("/v1/endpoint/register", {
  plugin_pid: pid,
  kind: "demo-plugin",
  capabilities: ["background_exchange_v1"],
  background_exchange_mode: "resident_endpoint",
});
const ownerFields = {
  endpoint_id: owner.endpoint_id,
  endpoint_owner_token: owner.endpoint_owner_token,
  plugin_pid: pid,
};
say("registered", { endpoint_id: owner.endpoint_id });

ws.on("message", (data) => {
  const f = JSON.parse(data.toString()) as Record<string, unknown>;
  if (typeof f.push_id === "string") ws.send(JSON.stringify({ event: "push_ack", push_id: f.push_id }));
  say("push", { from: f.from, content: f.content, assignment: f.runtimeAssignment });
  const ra = f.runtimeAssignment as { assignmentId: string; sourceMessageId: string } | undefined;
  if (!ra) return;
  void (async () => {
    const ids = { ...ownerFields, assignment_id: ra.assignmentId, source_message_id: ra.sourceMessageId };
    await call("/v1/runtime/processing-state", { ...ids, state: "adapter_accepted" });
    const r = await call("/v1/runtime/assignment-reply", {
      ...ids,
      reply_request_id: `reply-${ra.assignmentId}`,
      content: `echo: ${String(f.content)}`,
    });
    say("replied", { assignment: ra.assignmentId, ...r });
  })();
});
ws.on("close", (code) => {
  say("stream_closed", { code });
  process.exit(0);
});
process.on("SIGINT", () => ws.close(1000, "demo plugin exiting"));
