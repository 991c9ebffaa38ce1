import { readFileSync, readdirSync, statSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import type { RunningBroker } from "../../src/daemon/index.ts";
import { DaemonWorld } from "../support/daemon-world.ts";

/** Raw upgrade attempt: resolves with the HTTP status the server refused with, or 101. */
function upgradeStatus(url: string, headers: Record<string, string>, path = "/v1/stream"): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace("http", "ws")}${path}`, { headers });
    ws.on("unexpected-response", (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on("open", () => {
      resolve(101);
      ws.terminate();
    });
    ws.on("error", (err) => {
      if (!/Unexpected server response|closed before/.test(err.message)) reject(err);
    });
  });
}

/** Send `bytes` of body in chunks without a content-length (chunked), so the limit is enforced while streaming. */
function postChunked(url: string, token: string, bytes: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/initialize`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "content-type": "application/json",
        "transfer-encoding": "chunked",
      },
    });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c: Buffer) => {
        body += c.toString();
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const write = () => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once("drain", write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

describe("the daemon's IPC security", () => {
  let world: DaemonWorld;
  let broker: RunningBroker;
  beforeAll(async () => {
    world = await new DaemonWorld().listen();
    broker = await world.startBroker();
  });
  afterAll(async () => world.close());

  it("listens on loopback only", () => {
    expect(new URL(broker.ipcUrl).hostname).toBe("127.0.0.1");
  });

  it("refuses a request without a token with 401 unauthorized", async () => {
    const res = await fetch(`${broker.ipcUrl}/v1/initialize`, { method: "POST", body: "{}" });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: "unauthorized" });
  });

  it("refuses a wrong token, even one that shares a prefix with the right one, with 401", async () => {
    for (const token of ["nope", broker.bearerToken.slice(0, -1), `${broker.bearerToken}x`, ""]) {
      const res = await fetch(`${broker.ipcUrl}/v1/endpoint/x/heartbeat`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.status).toBe(401);
    }
  });

  it("accepts the raw token without the Bearer prefix", async () => {
    const res = await fetch(`${broker.ipcUrl}/v1/initialize`, {
      method: "POST",
      headers: { authorization: broker.bearerToken, "content-type": "application/json" },
      body: "not json",
    });
    // Past authentication: the body is what is wrong now.
    expect(res.status).toBe(400);
  });

  it("refuses any request carrying an Origin header with 403 origin_forbidden, token or not", async () => {
    const res = await fetch(`${broker.ipcUrl}/health`, { headers: { origin: "https://evil.example" } });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: "origin_forbidden" });
    const res2 = await fetch(`${broker.ipcUrl}/v1/initialize`, {
      method: "POST",
      headers: { origin: "http://localhost", authorization: `Bearer ${broker.bearerToken}` },
      body: "{}",
    });
    expect(res2.status).toBe(403);
  });

  it("answers malformed JSON with 400 invalid_json, never 500", async () => {
    for (const body of ["{", "[1,", "nul", '{"a":1}}', "\u0000"]) {
      const res = await fetch(`${broker.ipcUrl}/v1/initialize`, {
        method: "POST",
        headers: { authorization: `Bearer ${broker.bearerToken}`, "content-type": "application/json" },
        body,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid_json" });
    }
  });

  it("answers a declared oversize body with 413 body_too_large", async () => {
    const res = await fetch(`${broker.ipcUrl}/v1/initialize`, {
      method: "POST",
      headers: { authorization: `Bearer ${broker.bearerToken}`, "content-type": "application/json" },
      body: `"${"x".repeat(1024 * 1024 + 10)}"`,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: "body_too_large" });
  });

  it("answers a streamed oversize body with 413 as soon as it passes the limit", async () => {
    const r = await postChunked(broker.ipcUrl, broker.bearerToken, 3 * 1024 * 1024);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toMatchObject({ error: "body_too_large" });
  });

  it("refuses stream upgrades on the wrong path, without a token, with an Origin or without a valid pid", async () => {
    const auth = { authorization: `Bearer ${broker.bearerToken}` };
    expect(await upgradeStatus(broker.ipcUrl, { ...auth, "x-plugin-pid": "1" }, "/v1/stream?x=1")).toBe(404);
    expect(await upgradeStatus(broker.ipcUrl, { ...auth, "x-plugin-pid": "1" }, "/v1/streams")).toBe(404);
    expect(await upgradeStatus(broker.ipcUrl, { "x-plugin-pid": "1" })).toBe(401);
    expect(await upgradeStatus(broker.ipcUrl, { authorization: "Bearer wrong", "x-plugin-pid": "1" })).toBe(
      401,
    );
    expect(await upgradeStatus(broker.ipcUrl, { ...auth, "x-plugin-pid": "1", origin: "http://x" })).toBe(
      403,
    );
    for (const pid of ["0", "-1", "1.5", "abc", "", "99999999999999999999"]) {
      expect(await upgradeStatus(broker.ipcUrl, { ...auth, "x-plugin-pid": pid })).toBe(400);
    }
    expect(await upgradeStatus(broker.ipcUrl, auth)).toBe(400);
    expect(await upgradeStatus(broker.ipcUrl, { ...auth, "x-plugin-pid": String(process.pid) })).toBe(101);
  });

  it("closes a stream that sends an oversize frame with 1009", async () => {
    const p = world.plugin(broker);
    await p.openStream();
    p.ws!.send("x".repeat(1024 * 1024 + 1));
    const code = await new Promise<number>((resolve) => p.ws!.once("close", (c) => resolve(c)));
    expect(code).toBe(1009);
  });

  it("writes the discovery file with mode 0600, and the token appears in no other file or log line", () => {
    const st = statSync(broker.discoveryPath);
    expect(st.mode & 0o777).toBe(0o600);
    const rec = JSON.parse(readFileSync(broker.discoveryPath, "utf8"));
    expect(rec).toMatchObject({
      version: 1,
      pid: process.pid,
      ipcUrl: broker.ipcUrl,
      bearerToken: broker.bearerToken,
    });
    const others = readdirSync(world.dataDir, { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile() && join(d.parentPath, d.name) !== broker.discoveryPath)
      .map((d) => readFileSync(join(d.parentPath, d.name), "utf8"));
    for (const text of others) expect(text).not.toContain(broker.bearerToken);
    expect(world.logs.lines.join("\n")).not.toContain(broker.bearerToken);
  });
});
