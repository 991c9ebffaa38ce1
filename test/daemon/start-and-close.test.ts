import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BrokerStartError } from "../../src/daemon/index.ts";
import { DaemonWorld, until } from "../support/daemon-world.ts";

describe("the daemon's start and graceful close toward the platform", () => {
  let world: DaemonWorld;
  afterEach(async () => world?.close());

  it("fails start-up with BrokerStartError and writes no discovery when the connector refuses REGISTER", async () => {
    world = await new DaemonWorld().listen();
    world.connector.model.faults = { onRegister: () => ({ reply: "error", reason: "Invalid token" }) };
    await expect(world.startBroker()).rejects.toBeInstanceOf(BrokerStartError);
    expect(existsSync(join(world.dataDir, "discovery.json"))).toBe(false);
    expect(world.logEvents("daemon_start_failed")).toHaveLength(1);
  });

  it("writes discovery only once the connector has registered", async () => {
    world = await new DaemonWorld().listen();
    let discoveryAtAck: boolean | undefined;
    world.connector.model.faults = {
      onRegister: () => {
        discoveryAtAck = existsSync(join(world.dataDir, "discovery.json"));
        return { reply: "ok" };
      },
    };
    const broker = await world.startBroker();
    expect(discoveryAtAck).toBe(false);
    expect(existsSync(broker.discoveryPath)).toBe(true);
  });

  it("lets the shutdown's endpoint unregisters reach the platform before closing", async () => {
    world = await new DaemonWorld().listen();
    const broker = await world.startBroker();
    const p = world.plugin(broker);
    await p.openStream();
    const reg = await p.request("POST", "/v1/endpoint/register", { plugin_pid: p.pid, kind: "claude" });
    expect(reg.status).toBe(200);
    const id = reg.body.endpoint_id as string;
    expect(world.api.model.endpoints.get(id)?.retired).not.toBe(true);
    await broker.close();
    await until(
      () => world.api.model.endpoints.get(id)?.retired === true,
      "the platform to see the unregister",
    );
    expect(world.logEvents("shutdown_platform_calls_cut_off")).toEqual([]);
  });
});
