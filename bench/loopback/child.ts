/**
 * The loopback world process: starts the stubs, reports their URLs, then runs the parent's commands
 * one at a time (attach the plugin, run a workload, close) and answers each with its result.
 */

import { BenchPlugin } from "../plugin-client.ts";
import type { FromWorld, ToWorld } from "./protocol.ts";
import { burst, type LoopbackWorld, latency, soak, startStubs, throughput } from "./world.ts";

const send = (m: FromWorld) => process.send?.(m);
const stubs = await startStubs();
let world: LoopbackWorld | undefined;

async function handle(m: ToWorld): Promise<unknown> {
  switch (m.cmd) {
    case "plugin": {
      const plugin = new BenchPlugin(m.ipcUrl, m.token);
      await plugin.openStream();
      const endpointId = await plugin.register();
      world = { ...stubs, name: m.name, plugin, endpointId };
      return { endpointId };
    }
    case "throughput":
      return throughput(need(), m.count, m.window);
    case "latency":
      return latency(need(), m.count, m.batch, m.intervalMs);
    case "burst":
      return burst(need(), m.count);
    case "soak":
      return soak(need(), m.count, m.window, m.maxMs);
    case "close":
      world?.plugin.close();
      await Promise.all([stubs.connector.close(), stubs.api.close()]);
      setImmediate(() => process.exit(0));
      return {};
  }
}

function need(): LoopbackWorld {
  if (!world) throw new Error("no plugin attached");
  return world;
}

let chain = Promise.resolve();
process.on("message", (m: ToWorld) => {
  chain = chain.then(async () => {
    try {
      send({ ok: true, result: await handle(m) });
    } catch (err) {
      send({ ok: false, error: (err as Error).message });
    }
  });
});
process.on("disconnect", () => process.exit(0));
send({ ready: true, connectorUrl: stubs.connector.url, apiUrl: stubs.api.url });
