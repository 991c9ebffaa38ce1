/**
 * crash-after-ack: the broker crashes right after writing a DELIVERY_ACK, before (or while) the
 * cursor file is written, and restarts from what the disk kept. The server must redeliver what the
 * file does not cover, and the broker must handle it again without a second hand-off (S2, S3, R1).
 */

import { standardSetup } from "./base.ts";
import type { Scenario } from "./scenario.ts";

export const crashAfterAck: Scenario = {
  name: "crash-after-ack",
  description: "Crashes between a DELIVERY_ACK and its cursor write (or tearing it), then restart.",
  exercises: ["broker restarted", "crash between ack and cursor write", "redelivery after restart"],
  swarmFaults: ["delay", "api", "push-receipt"],
  build(ctx) {
    const rng = ctx.streams.get("scenario");
    return standardSetup(ctx, {
      faults: {
        "broker-crash": {
          meanIntervalMs: 0,
          downMinMs: 0,
          downMaxMs: 3_000,
          crashAfterAckProbability: 0.01 + rng.float() * 0.03,
          crashDuringCursorWriteProbability: 0.01 + rng.float() * 0.02,
          tornWriteCorruptProbability: 0.5,
          writeErrorProbability: 0,
        },
      },
    });
  },
};
