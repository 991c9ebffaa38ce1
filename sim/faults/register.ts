/**
 * REGISTER faults: the connector server answers a REGISTER with `REGISTER_ACK error "Already
 * connected"` (another runtime still holds the stream; the broker retries on a fixed short delay),
 * with nothing at all (the broker's REGISTER_ACK timeout closes with 4000 and reconnects), or by
 * closing the socket instead of answering (cleanly or abruptly).
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { Switch, between } from "./util.ts";

export type RegisterOptions = {
  alreadyConnectedProbability: number;
  /** No REGISTER_ACK at all: the broker's `registerAckTimeoutMs` must fire. */
  noAckProbability: number;
  /** The socket closes while the REGISTER is unanswered. */
  closeDuringRegisterProbability: number;
  /** How long after the REGISTER the close comes. */
  closeAfterMaxMs: number;
};

export const registerFaults: FaultModule<RegisterOptions> & { name: "register" } = {
  name: "register",
  description: "Answers REGISTER with 'Already connected', with silence, or with a close.",
  defaults: {
    alreadyConnectedProbability: 0.2,
    noAckProbability: 0.1,
    closeDuringRegisterProbability: 0.1,
    closeAfterMaxMs: 500,
  },
  swarm(s: Stream): RegisterOptions {
    return {
      alreadyConnectedProbability: round3(s.float() * 0.5),
      noAckProbability: round3(s.float() * 0.3),
      closeDuringRegisterProbability: round3(s.float() * 0.3),
      closeAfterMaxMs: s.range(0, 5_000),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    world.faultHub.addRegister((socket) => {
      if (sw.healed) return undefined;
      const r = stream.float();
      const a = o.alreadyConnectedProbability;
      const b = a + o.noAckProbability;
      const c = b + o.closeDuringRegisterProbability;
      if (r < a) {
        world.faultHub.record("register", "already_connected");
        return { reply: "error", reason: "Already connected" };
      }
      if (r < b) {
        world.faultHub.record("register", "no_ack");
        return { reply: "none" };
      }
      if (r < c) {
        const abrupt = stream.chance(0.5);
        world.faultHub.record("register", abrupt ? "close_abrupt" : "close_clean");
        world.after(between(stream, 0, o.closeAfterMaxMs), () => {
          if (abrupt) {
            if (world.wiring.socket === socket) world.wiring.abruptConnectorClose();
            return;
          }
          world.server.close(socket, 1011, "Internal error");
          world.wiring.flushServer();
        });
        return { reply: "none" };
      }
      return undefined;
    });
    return sw;
  },
};
