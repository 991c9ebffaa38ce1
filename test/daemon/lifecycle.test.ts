import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BrokerAlreadyRunningError } from "../../src/daemon/index.ts";
import { CONNECTOR_TOKEN, DaemonWorld, PluginClient, until } from "../support/daemon-world.ts";

describe("the daemon's lifecycle", () => {
  let world: DaemonWorld;
  afterEach(async () => world?.close());

  it("closes gracefully with a plugin stream still open", async () => {
    world = await new DaemonWorld().listen();
    const broker = await world.startBroker();
    await until(() => world.connector.model.registeredSocket !== undefined, "the broker to register");
    const p = world.plugin(broker);
    await p.openStream();
    await broker.close();
    await until(() => p.closeCode !== undefined, "the plugin stream to close");
    expect(p.closeCode).toBe(1001);
    expect(world.logEvents("shutdown_watchdog_fired")).toEqual([]);
    expect(world.logEvents("shutdown_complete")).toHaveLength(1);
    expect(existsSync(broker.discoveryPath)).toBe(false);
    await until(() => world.connector.model.registeredSocket === undefined, "the connector socket to close");
    // Idempotent: a second close resolves at once.
    await broker.close();
  });

  it("refuses to start a second broker on a data directory a healthy broker owns", async () => {
    world = await new DaemonWorld().listen();
    await world.startBroker();
    await expect(world.startBroker()).rejects.toBeInstanceOf(BrokerAlreadyRunningError);
  });

  it("takes over a data directory whose discovery file names a dead broker", async () => {
    world = await new DaemonWorld().listen();
    const first = await world.startBroker();
    first.abort();
    const second = await world.startBroker();
    const rec = JSON.parse(readFileSync(second.discoveryPath, "utf8"));
    expect(rec.ipcUrl).toBe(second.ipcUrl);
  });

  it("starts from cursor 0 when the cursor file is corrupt, and logs it", async () => {
    world = await new DaemonWorld().listen();
    mkdirSync(world.dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(world.dataDir, "delivery-cursor.json"), '{"version":1,"lastKnownSeq":"many"');
    await world.startBroker();
    await until(() => world.connector.registers.length === 1, "REGISTER");
    expect(world.connector.registers[0]).toBe(0);
    expect(world.logEvents("cursor_file_invalid")).toHaveLength(1);
  });

  it("runs from the package bin and exits 0 on SIGTERM even with a plugin stream open", async () => {
    world = await new DaemonWorld().listen();
    mkdirSync(world.root, { recursive: true });
    const tokenFile = join(world.root, "token");
    writeFileSync(tokenFile, `${CONNECTOR_TOKEN}\n`, { mode: 0o600 });
    const child = spawn(
      process.execPath,
      [
        "bin/runtime-broker.mjs",
        "--connector-url",
        world.connector.url,
        "--token-file",
        tokenFile,
        "--api-url",
        world.api.url,
        "--data-dir",
        world.dataDir,
        "--agent-id",
        "agent-cli",
        "--log-level",
        "info",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const discovery = join(world.dataDir, "discovery.json");
    try {
      await until(() => existsSync(discovery), "the discovery file", 3_000);
      const rec = JSON.parse(readFileSync(discovery, "utf8"));
      const p = new PluginClient(rec.ipcUrl, rec.bearerToken, process.pid);
      world.plugins.push(p);
      await p.openStream();
      await until(
        () => world.connector.model.registeredSocket !== undefined,
        "the CLI broker to register",
        3_000,
      );
      child.kill("SIGTERM");
      const code = await exited;
      if (code !== 0) console.log("CLI STDERR", stderr);
      expect({ code, stderr }).toMatchObject({ code: 0 });
      await until(() => p.closeCode !== undefined, "the plugin stream to close");
      expect(existsSync(discovery)).toBe(false);
      expect(stderr).not.toContain(rec.bearerToken);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });

  it("exits with a usage error when a required option is missing", async () => {
    const child = spawn(process.execPath, ["bin/runtime-broker.mjs", "--connector-url", "ws://127.0.0.1:1"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
    expect(code).toBe(2);
    expect(stderr).toContain("usage:");
  });
});
