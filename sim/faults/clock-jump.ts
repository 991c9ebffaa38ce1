/**
 * Clock jumps forward (suspend and resume, an NTP step): virtual time leaps ahead at once, so every
 * deadline that fell inside the gap is due at the next step — grace, acceptance, ack and receipt
 * timeouts all fire together.
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { Switch, between, periodic } from "./util.ts";

export type ClockJumpOptions = {
  meanIntervalMs: number;
  jumpMinMs: number;
  jumpMaxMs: number;
};

export const clockJump: FaultModule<ClockJumpOptions> & { name: "clock-jump" } = {
  name: "clock-jump",
  description: "Jumps the clock forward from time to time.",
  defaults: { meanIntervalMs: 60_000, jumpMinMs: 1_000, jumpMaxMs: 60_000 },
  swarm(s: Stream): ClockJumpOptions {
    const jumpMinMs = s.range(100, 10_000);
    return {
      meanIntervalMs: s.range(10_000, 200_000),
      jumpMinMs,
      jumpMaxMs: jumpMinMs + s.range(0, 120_000),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    periodic(world, stream, o.meanIntervalMs, sw, () => {
      const ms = between(stream, o.jumpMinMs, o.jumpMaxMs);
      world.faultHub.record("clock-jump", "jump", `${ms}ms`);
      world.jumpClock(ms);
    });
    return sw;
  },
};
