/**
 * Client calls: plugins make legal calls the plain model leaves out (docs/world-model.md): an
 * assignment push answered `processing_failed` (retryable or not) instead of accepted, accepted
 * work that ends in `processing_failed` instead of a reply, `/v1/send` bodies with a client
 * `traceparent` (some upper-case) or a `require_live` flag, local dispatches (`GET /v1/undispatched`
 * then `POST /v1/dispatch` to one of the plugin's own endpoints), and plugins whose stream does not
 * advertise `push_receipt_ack_v1` (older clients: their pushes carry no receipt). Like
 * `client-answers` it widens the clients rather than breaking the world; heal puts every plugin
 * back on the plain calls (a receipt-less plugin stays receipt-less: that is what it is).
 */

import { localDispatch } from "../actors/plugin-extras.ts";
import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { periodic, Switch } from "./util.ts";

export type ClientCallsOptions = {
  failBeforeAcceptProbability: number;
  failAfterAcceptProbability: number;
  retryableProbability: number;
  traceparentProbability: number;
  requireLiveProbability: number;
  /** Mean time between two local dispatches (across all plugins); 0 = none. */
  dispatchMeanIntervalMs: number;
  /** Each plugin's stream leaves out `push_receipt_ack_v1` with this probability (drawn at start). */
  receiptlessProbability: number;
};

export const clientCalls: FaultModule<ClientCallsOptions> & { name: "client-calls" } = {
  name: "client-calls",
  description:
    "Plugins report processing_failed, dispatch rows locally, send client traceparents and require_live, or go without push receipts.",
  defaults: {
    failBeforeAcceptProbability: 0.05,
    failAfterAcceptProbability: 0.05,
    retryableProbability: 0.5,
    traceparentProbability: 0.3,
    requireLiveProbability: 0.3,
    dispatchMeanIntervalMs: 10_000,
    receiptlessProbability: 0.25,
  },
  swarm(s: Stream): ClientCallsOptions {
    return {
      failBeforeAcceptProbability: round3(s.float() * 0.2),
      failAfterAcceptProbability: round3(s.float() * 0.2),
      retryableProbability: round3(s.float()),
      traceparentProbability: round3(s.float() * 0.5),
      requireLiveProbability: round3(s.float() * 0.5),
      dispatchMeanIntervalMs: s.chance(0.25) ? 0 : s.range(500, 10_000),
      receiptlessProbability: round3(s.float() * 0.5),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    const extras = {
      failBeforeAcceptProbability: o.failBeforeAcceptProbability,
      failAfterAcceptProbability: o.failAfterAcceptProbability,
      retryableProbability: o.retryableProbability,
      traceparentProbability: o.traceparentProbability,
      requireLiveProbability: o.requireLiveProbability,
    };
    for (const p of world.plugins.values()) {
      p.extras = extras;
      if (stream.chance(o.receiptlessProbability)) {
        p.spec.behaviour = { ...p.spec.behaviour, receiptCapable: false };
        world.faultHub.record("client-calls", "receiptless", String(p.pid));
      }
    }
    world.faultHub.record("client-calls", "on");
    periodic(world, stream, o.dispatchMeanIntervalMs, sw, () => {
      const live = [...world.plugins.values()].filter((p) => p.alive);
      if (live.length === 0) return;
      const p = stream.pick(live);
      if (localDispatch(p, stream)) world.faultHub.record("client-calls", "local_dispatch", String(p.pid));
    });
    sw.onHeal(() => {
      for (const p of world.plugins.values()) p.extras = undefined;
    });
    return sw;
  },
};
