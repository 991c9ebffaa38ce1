import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import type { Input } from "../../src/broker/types.ts";
import { ConnectorWs } from "../../src/daemon/connector-ws.ts";
import { until } from "../support/daemon-world.ts";

describe("the connector socket", () => {
  const servers: WebSocketServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) {
      for (const c of s.clients) c.terminate();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  async function server(onConnection?: (ws: import("ws").WebSocket) => void): Promise<string> {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    servers.push(wss);
    if (onConnection) wss.on("connection", onConnection);
    await new Promise<void>((r) => wss.once("listening", () => r()));
    return `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  }

  it("reports open, each frame as text, and the peer's close code and reason exactly once", async () => {
    const url = await server((ws) => {
      ws.on("message", (d) => {
        ws.send(`echo:${d.toString()}`);
        ws.send(Buffer.from("binary"), { binary: true });
        ws.close(4001, "Replaced by new Runtime");
      });
    });
    const inputs: Input[] = [];
    const c = new ConnectorWs({ url, onInput: (i) => inputs.push(i) });
    c.connect();
    await until(() => inputs.length === 1, "open");
    c.send({ event: "DELIVERY_ACK", upToSeq: 3 });
    await until(() => inputs.some((i) => i.kind === "connector_closed"), "close");
    expect(inputs).toEqual([
      { kind: "connector_open" },
      { kind: "connector_frame", text: 'echo:{"event":"DELIVERY_ACK","upToSeq":3}' },
      { kind: "connector_frame", text: "binary" },
      { kind: "connector_closed", code: 4001, reason: "Replaced by new Runtime" },
    ]);
  });

  it("answers a refused connect with connector_closed 1006 and nothing else", async () => {
    const url = await server();
    await new Promise<void>((r) => servers.pop()!.close(() => r()));
    const inputs: Input[] = [];
    const c = new ConnectorWs({ url, onInput: (i) => inputs.push(i) });
    c.connect();
    await until(() => inputs.length > 0, "an answer");
    await new Promise((r) => setTimeout(r, 20));
    expect(inputs).toHaveLength(1);
    expect(inputs[0]).toMatchObject({ kind: "connector_closed", code: 1006 });
  });

  it("answers an invalid URL with connector_closed 1006 instead of throwing", async () => {
    const inputs: Input[] = [];
    const c = new ConnectorWs({ url: "not a url", onInput: (i) => inputs.push(i) });
    expect(() => c.connect()).not.toThrow();
    await until(() => inputs.length > 0, "an answer");
    expect(inputs[0]).toMatchObject({ kind: "connector_closed", code: 1006 });
  });

  it("closes with 1009 when the connector sends a frame above maxPayload", async () => {
    const url = await server((ws) => ws.send("x".repeat(2_000)));
    const inputs: Input[] = [];
    const c = new ConnectorWs({ url, maxPayloadBytes: 1_000, onInput: (i) => inputs.push(i) });
    c.connect();
    await until(() => inputs.some((i) => i.kind === "connector_closed"), "close");
    expect(inputs.find((i) => i.kind === "connector_closed")).toMatchObject({ code: 1009 });
    expect(inputs.some((i) => i.kind === "connector_frame")).toBe(false);
  });

  it("answers a close the core asked for with connector_closed carrying the core's code", async () => {
    const url = await server();
    const inputs: Input[] = [];
    const c = new ConnectorWs({ url, onInput: (i) => inputs.push(i) });
    c.connect();
    await until(() => inputs.length === 1, "open");
    c.close(4000, "Register timeout");
    await until(() => inputs.length === 2, "close");
    expect(inputs[1]).toEqual({ kind: "connector_closed", code: 4000, reason: "Register timeout" });
  });

  it("answers a close requested while still connecting with exactly one connector_closed", async () => {
    // A server that accepts TCP but never finishes the handshake would need raw sockets; closing
    // right after connect() races the handshake just as well.
    const url = await server();
    const inputs: Input[] = [];
    const c = new ConnectorWs({ url, onInput: (i) => inputs.push(i) });
    c.connect();
    c.close(1000, "never mind");
    await until(() => inputs.some((i) => i.kind === "connector_closed"), "close");
    await new Promise((r) => setTimeout(r, 20));
    expect(inputs.filter((i) => i.kind === "connector_closed")).toHaveLength(1);
    expect(inputs.some((i) => i.kind === "connector_open")).toBe(false);
  });
});
