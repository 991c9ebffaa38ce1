/**
 * SEND_ACK faults: the connector server records an outbound SEND_MESSAGE but withholds its
 * SEND_ACK, either for good (the broker's `sendAckTimeoutMs` fires: outcome unknown) or for a while
 * (a late SEND_ACK, which may arrive after the timeout and must then be ignored).
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { Switch, between } from "./util.ts";

export type SendAckOptions = {
  /** SEND_ACK never sent. */
  withholdProbability: number;
  /** SEND_ACK sent late, after a delay in [lateMinMs, lateMaxMs]. */
  lateProbability: number;
  lateMinMs: number;
  lateMaxMs: number;
};

export const sendAck: FaultModule<SendAckOptions> & { name: "send-ack" } = {
  name: "send-ack",
  description: "Withholds SEND_ACKs for good or sends them late (around the ack timeout).",
  defaults: { withholdProbability: 0.1, lateProbability: 0.1, lateMinMs: 1_000, lateMaxMs: 25_000 },
  swarm(s: Stream): SendAckOptions {
    const lateMinMs = s.range(100, 10_000);
    return {
      withholdProbability: round3(s.float() * 0.4),
      lateProbability: round3(s.float() * 0.4),
      lateMinMs,
      lateMaxMs: lateMinMs + s.range(0, 30_000),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    world.faultHub.addSendAck((messageId, socket) => {
      if (sw.healed) return false;
      const r = stream.float();
      if (r < o.withholdProbability) {
        world.faultHub.record("send-ack", "withheld", messageId);
        return true;
      }
      if (r < o.withholdProbability + o.lateProbability) {
        const lateMs = between(stream, o.lateMinMs, o.lateMaxMs);
        world.faultHub.record("send-ack", "late", `${messageId} +${lateMs}ms`);
        world.after(lateMs, () => {
          world.server.sendAckFor(socket, messageId);
          world.wiring.flushServer();
        });
        return true;
      }
      return false;
    });
    return sw;
  },
};
