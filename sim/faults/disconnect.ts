/**
 * Connector disconnect: from time to time the connector socket goes away, either cleanly (the
 * platform closes it with a close frame) or abruptly (reset: everything in flight is lost, both
 * ends see 1006). The broker must reconnect, re-register from its persisted cursor and resettle
 * every pending send as "outcome unknown". Close during REGISTER and "Already connected" are in
 * `register`.
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { Switch, periodic, weighted } from "./util.ts";

export type DisconnectOptions = {
  /** Mean time between two disconnects. */
  meanIntervalMs: number;
  /** Relative weight of a clean server close (1001 "Going away"). */
  cleanWeight: number;
  /** Relative weight of an abrupt close (1006). */
  abruptWeight: number;
};

export const disconnect: FaultModule<DisconnectOptions> & { name: "disconnect" } = {
  name: "disconnect",
  description: "Closes the connector socket from time to time, cleanly or abruptly.",
  defaults: { meanIntervalMs: 30_000, cleanWeight: 1, abruptWeight: 1 },
  swarm(s: Stream): DisconnectOptions {
    return {
      meanIntervalMs: s.range(3_000, 90_000),
      cleanWeight: s.range(0, 3),
      abruptWeight: s.range(0, 3),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    periodic(world, stream, o.meanIntervalMs, sw, () => {
      const how = weighted(stream, { clean: o.cleanWeight, abrupt: o.abruptWeight });
      const sock = world.wiring.socket;
      if (how === undefined || sock === undefined || !world.brokerAlive) return;
      if (how === "clean") {
        if (world.server.registeredSocket !== sock) return;
        world.faultHub.record("disconnect", "clean");
        world.server.close(sock, 1001, "Going away");
        world.wiring.flushServer();
        return;
      }
      if (world.wiring.abruptConnectorClose()) world.faultHub.record("disconnect", "abrupt");
    });
    return sw;
  },
};
