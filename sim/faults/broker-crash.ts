/**
 * Broker crash and restart. The process dies (everything in memory is gone, in-flight answers to it
 * are lost) and a new one starts after a while from what the disk kept: the cursor file and the
 * reconnecting buffers.
 *
 * Theory of operation:
 * 1. Crashes come at random times (`meanIntervalMs`), and at two chosen weak spots: right after a
 *    DELIVERY_ACK went out but before the cursor write that follows it landed
 *    (`crashAfterAckProbability`), and in the middle of a cursor write
 *    (`crashDuringCursorWriteProbability`).
 * 2. A write interrupted by the crash either never happened (the daemon's atomic rename: the old
 *    cursor stays) or, with `tornWriteCorruptProbability`, left a corrupt file, which the daemon's
 *    storage reads as absent: the next process starts from cursor 0 and the platform replays.
 * 3. `writeErrorProbability` fails storage operations without a crash (EIO): nothing is written and
 *    the core is told.
 * 4. Heal restarts a broker that is down and stops further crashes.
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { linkClass } from "./hub.ts";
import { Switch, between, periodic } from "./util.ts";

export type BrokerCrashOptions = {
  /** Mean time between two random crashes (0 = none at random times). */
  meanIntervalMs: number;
  /** How long the broker stays down. */
  downMinMs: number;
  downMaxMs: number;
  crashAfterAckProbability: number;
  crashDuringCursorWriteProbability: number;
  /** A write interrupted by a crash leaves a corrupt cursor file (read as absent). */
  tornWriteCorruptProbability: number;
  writeErrorProbability: number;
};

export const brokerCrash: FaultModule<BrokerCrashOptions> & { name: "broker-crash" } = {
  name: "broker-crash",
  description: "Crashes the broker (at random, after an ack, mid cursor write) and restarts it from disk.",
  defaults: {
    meanIntervalMs: 60_000,
    downMinMs: 0,
    downMaxMs: 5_000,
    crashAfterAckProbability: 0.01,
    crashDuringCursorWriteProbability: 0.01,
    tornWriteCorruptProbability: 0.3,
    writeErrorProbability: 0.005,
  },
  swarm(s: Stream): BrokerCrashOptions {
    const downMinMs = s.range(0, 3_000);
    return {
      meanIntervalMs: s.chance(0.2) ? 0 : s.range(5_000, 120_000),
      downMinMs,
      downMaxMs: downMinMs + s.range(0, 20_000),
      crashAfterAckProbability: round3(s.float() * 0.05),
      crashDuringCursorWriteProbability: round3(s.float() * 0.05),
      tornWriteCorruptProbability: round3(s.float()),
      writeErrorProbability: round3(s.chance(0.5) ? s.float() * 0.05 : 0),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    let restartAt: number | undefined;

    const crash = (why: string) => {
      if (!world.brokerAlive) return;
      world.faultHub.record("broker-crash", why);
      world.crashBroker();
      const downMs = between(stream, o.downMinMs, o.downMaxMs);
      const id = world.incarnation;
      restartAt = id;
      world.after(downMs, () => restart(id));
    };
    const restart = (id: number) => {
      if (restartAt !== id || world.brokerAlive) return;
      restartAt = undefined;
      world.faultHub.record("broker-crash", "restart");
      world.restartBroker();
    };
    sw.onHeal(() => {
      if (restartAt !== undefined) restart(restartAt);
    });

    periodic(world, stream, o.meanIntervalMs, sw, () => crash("random"));

    if (o.crashAfterAckProbability > 0) {
      world.faultHub.addNet((link, label) => {
        if (sw.healed || label !== "DELIVERY_ACK" || linkClass(link) !== "conn-up") return undefined;
        // Scheduled now, it runs before the cursor write of the same step reaches the disk.
        if (stream.chance(o.crashAfterAckProbability)) world.after(0, () => crash("after_ack"));
        return undefined;
      });
    }
    world.faultHub.addStorage((op) => {
      if (sw.healed) return undefined;
      if (op.op === "write_cursor" && stream.chance(o.crashDuringCursorWriteProbability)) {
        const corrupt = stream.chance(o.tornWriteCorruptProbability);
        if (corrupt) world.storage.corruptCursor();
        crash(corrupt ? "mid_write_corrupt" : "mid_write");
        return "crashed during the write";
      }
      if (stream.chance(o.writeErrorProbability)) {
        world.faultHub.record("broker-crash", "write_error", op.op);
        return "EIO: injected write error";
      }
      return undefined;
    });
    return sw;
  },
};
