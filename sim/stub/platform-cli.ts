/**
 * `npm run platform`: the simulator's platform model on real loopback sockets — a connector
 * WebSocket server and the platform HTTP API (with the SSE control-event stream) — so the real
 * daemon can run end to end on one machine. Type a line on stdin to send it as an inbound message.
 *
 *   npm run platform -- [--connector-port 0] [--api-port 0] [--token-file path]
 */

import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { ConnectorStub } from "./connector-ws-server.ts";
import { PlatformStub } from "./platform-http-server.ts";

const { values } = parseArgs({
  options: {
    "connector-port": { type: "string" },
    "api-port": { type: "string" },
    "token-file": { type: "string" },
    "agent-id": { type: "string" },
  },
});

const token = values["token-file"] ? readFileSync(values["token-file"], "utf8").trim() : undefined;
const say = (event: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ ts: new Date().toISOString(), event, ...fields })}\n`);

const connector = new ConnectorStub({
  port: Number(values["connector-port"] ?? 0),
  ...(token ? { token } : {}),
  onFact: (fact) => say("connector_fact", fact),
  onOutbound: (m) => say("outbound_message", { to: m.to, content: m.content, messageId: m.messageId }),
});
const api = new PlatformStub({
  port: Number(values["api-port"] ?? 0),
  ...(token ? { token } : {}),
  agentId: values["agent-id"] ?? "agent-stub",
});

const connectorUrl = await connector.listen();
const apiUrl = await api.listen();
say("platform_ready", { connectorUrl, apiUrl, agentId: values["agent-id"] ?? "agent-stub" });
say("hint", { message: "type a line and press enter to send it to the broker as an inbound message" });

const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  if (line.trim().length === 0) return;
  const m = connector.append({ content: line });
  say("inbound_appended", { seq: m.seq, messageId: m.messageId });
});

let stopping = false;
const stop = async () => {
  if (stopping) process.exit(1);
  stopping = true;
  rl.close();
  await Promise.all([connector.close(), api.close()]);
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
