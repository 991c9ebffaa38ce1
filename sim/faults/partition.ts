/**
 * Partitions between the broker and the platform, one way or both ways, for a while.
 *
 * Theory of operation:
 * 1. A partition cuts one path — the connector socket, the platform API, or the control-event
 *   stream — in one direction (`up` = broker → platform, `down` = platform → broker) or both.
 * 2. TCP streams (connector, control events) do not lose data in a short partition: they stall and
 *    catch up (the partitioned links are held, then released). If the connector partition outlasts
 *    `connectionTimeoutMs`, the connection dies instead (abrupt close, in-flight data lost), as
 *    keepalive or retransmission timeouts kill it in reality.
 * 3. HTTP requests across a partition fail: `up` loses the request (never applied), `down` loses
 *    the response (applied, answer lost); both surface to the broker as a transient timeout after
 *    the platform request timeout.
 * 4. At most one partition at a time; heal ends the current one at once.
 */

import type { Stream } from "../kernel/prng.ts";
import type { Link } from "../network/network.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { linkClass } from "./hub.ts";
import { Switch, between, weighted } from "./util.ts";

export type PartitionOptions = {
  /** Mean time between the end of one partition and the start of the next. */
  meanIntervalMs: number;
  durationMinMs: number;
  durationMaxMs: number;
  /** Chance that a partition cuts one direction only. */
  oneWayProbability: number;
  connectorWeight: number;
  apiWeight: number;
  controlWeight: number;
  /** A connector partition longer than this kills the connection. */
  connectionTimeoutMs: number;
};

type Path = "connector" | "api" | "control";
type Dir = "up" | "down" | "both";

const PATH_CLASSES: Record<Path, { up: string; down: string }> = {
  connector: { up: "conn-up", down: "conn-down" },
  api: { up: "api-req", down: "api-res" },
  control: { up: "control-ack", down: "control-events" },
};

export const partition: FaultModule<PartitionOptions> & { name: "partition" } = {
  name: "partition",
  description: "Cuts the connector, API or control path one way or both ways for a while.",
  defaults: {
    meanIntervalMs: 40_000,
    durationMinMs: 500,
    durationMaxMs: 20_000,
    oneWayProbability: 0.5,
    connectorWeight: 2,
    apiWeight: 2,
    controlWeight: 1,
    connectionTimeoutMs: 10_000,
  },
  swarm(s: Stream): PartitionOptions {
    const durationMinMs = s.range(100, 5_000);
    return {
      meanIntervalMs: s.range(5_000, 120_000),
      durationMinMs,
      durationMaxMs: durationMinMs + s.range(0, 40_000),
      oneWayProbability: round3(s.float()),
      connectorWeight: s.range(0, 3),
      apiWeight: s.range(0, 3),
      controlWeight: s.range(0, 3),
      connectionTimeoutMs: s.range(2_000, 30_000),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    let cut: { path: Path; dir: Dir; classes: Set<string>; held: Set<Link>; id: number } | undefined;
    let ids = 0;

    const end = () => {
      const c = cut;
      if (!c) return;
      cut = undefined;
      for (const l of c.held) l.release();
      world.faultHub.record("partition", "heal", `${c.path}/${c.dir}`);
    };
    sw.onHeal(end);

    const begin = () => {
      if (sw.healed) return;
      const path = weighted(stream, {
        connector: o.connectorWeight,
        api: o.apiWeight,
        control: o.controlWeight,
      });
      if (path === undefined) return;
      const dir: Dir = stream.chance(o.oneWayProbability) ? (stream.chance(0.5) ? "up" : "down") : "both";
      const forMs = between(stream, o.durationMinMs, o.durationMaxMs);
      const cls = PATH_CLASSES[path];
      const classes = new Set<string>();
      if (dir !== "down") classes.add(cls.up);
      if (dir !== "up") classes.add(cls.down);
      const id = ++ids;
      cut = { path, dir, classes, held: new Set(), id };
      world.faultHub.record("partition", `${path}/${dir}`, `${forMs}ms`);
      if (path !== "api") {
        for (const l of world.network.all()) if (classes.has(linkClass(l))) holdLink(l);
      }
      if (path === "connector" && forMs > o.connectionTimeoutMs) {
        world.after(o.connectionTimeoutMs, () => {
          if (cut?.id !== id) return;
          if (world.wiring.abruptConnectorClose()) world.faultHub.record("partition", "connection_timeout");
        });
      }
      world.after(forMs, () => {
        if (cut?.id === id) end();
        schedule();
      });
    };

    const holdLink = (l: Link) => {
      if (!cut || l.holding) return;
      l.hold();
      cut.held.add(l);
    };

    const schedule = () => {
      if (sw.healed) return;
      world.after(Math.max(1, Math.round(stream.exponential(o.meanIntervalMs))), begin);
    };

    // Streams opened during a partition (a reconnect's new socket) are cut too.
    world.faultHub.addNet((link) => {
      if (sw.healed || !cut || cut.path === "api" || !cut.classes.has(linkClass(link))) return undefined;
      holdLink(link);
      return undefined;
    });
    world.faultHub.addApi(() => {
      if (sw.healed || !cut || cut.path !== "api") return undefined;
      if (cut.dir !== "down") {
        world.faultHub.record("partition", "lost_request");
        return "lost_request";
      }
      world.faultHub.record("partition", "lost_response");
      return "lost_response";
    });
    schedule();
    return sw;
  },
};
