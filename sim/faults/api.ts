/**
 * Platform API faults, per op: extra latency, transient failures (a 5xx, a request lost on the way
 * in, a response lost on the way back after the platform applied the call — both surface as a
 * timeout after the platform request timeout) and terminal failures (a 4xx). A terminal failure is
 * the platform refusing the call: nothing is applied.
 */

import type { ApiOp, Failure } from "../../src/broker/api.ts";
import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { linkClass } from "./hub.ts";
import { Switch } from "./util.ts";

export type ApiFaultOptions = {
  /** 503 with `terminal: false`. */
  transient5xxProbability: number;
  /** The request never reaches the platform. */
  lostRequestProbability: number;
  /** The platform applies the call; the response is lost. */
  lostResponseProbability: number;
  /** Ops the transient failures above apply to. */
  transientOps: readonly string[];
  /** 4xx, `terminal: true`. */
  terminal4xxProbability: number;
  /** Ops terminal failures apply to. */
  terminalOps: readonly string[];
  /** Chance that a request or response is slow, and the mean of its exponential extra latency. */
  latencyProbability: number;
  latencyMeanMs: number;
};

export const API_OPS: readonly ApiOp[] = [
  "register",
  "heartbeat",
  "unregister",
  "transition_state",
  "undispatched_changed",
  "inbound_route_claim",
  "inbound_routed",
  "processing_state",
  "presence_changed",
  "closed_endpoint_lookup",
  "list_claim_candidates",
];

const TRANSIENT: Failure = {
  ok: false,
  terminal: false,
  status: 503,
  code: "service_unavailable",
  detail: "injected 503",
};
const TERMINAL: Failure = {
  ok: false,
  terminal: true,
  status: 400,
  code: "bad_request",
  detail: "injected 400",
};

export const apiFaults: FaultModule<ApiFaultOptions> & { name: "api" } = {
  name: "api",
  description: "Slows, fails transiently (5xx, lost request or response) or rejects (4xx) API calls.",
  defaults: {
    transient5xxProbability: 0.05,
    lostRequestProbability: 0.01,
    lostResponseProbability: 0.01,
    transientOps: API_OPS,
    terminal4xxProbability: 0.01,
    terminalOps: API_OPS,
    latencyProbability: 0.1,
    latencyMeanMs: 500,
  },
  swarm(s: Stream): ApiFaultOptions {
    return {
      transient5xxProbability: round3(s.float() * 0.2),
      lostRequestProbability: round3(s.float() * 0.05),
      lostResponseProbability: round3(s.float() * 0.05),
      transientOps: API_OPS.filter(() => s.chance(0.7)),
      terminal4xxProbability: round3(s.chance(0.5) ? s.float() * 0.05 : 0),
      terminalOps: API_OPS.filter(() => s.chance(0.3)),
      latencyProbability: round3(s.float() * 0.3),
      latencyMeanMs: s.range(10, 5_000),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    const transientOps = new Set(o.transientOps);
    const terminalOps = new Set(o.terminalOps);
    if (o.latencyProbability > 0) {
      world.faultHub.addNet((link, label) => {
        const cls = linkClass(link);
        if (sw.healed || (cls !== "api-req" && cls !== "api-res") || !stream.chance(o.latencyProbability)) {
          return undefined;
        }
        const extraDelayMs = Math.round(stream.exponential(o.latencyMeanMs));
        world.faultHub.record("api", "latency", `${label} +${extraDelayMs}ms`);
        return { extraDelayMs };
      });
    }
    world.faultHub.addApi((op) => {
      if (sw.healed) return undefined;
      const r = stream.float();
      const p5 = o.transient5xxProbability;
      const pReq = p5 + o.lostRequestProbability;
      const pRes = pReq + o.lostResponseProbability;
      if (transientOps.has(op)) {
        if (r < p5) {
          world.faultHub.record("api", "5xx", op);
          return TRANSIENT;
        }
        if (r < pReq) {
          world.faultHub.record("api", "lost_request", op);
          return "lost_request";
        }
        if (r < pRes) {
          world.faultHub.record("api", "lost_response", op);
          return "lost_response";
        }
      }
      const edge = transientOps.has(op) ? pRes : 0;
      if (terminalOps.has(op) && r >= edge && r < edge + o.terminal4xxProbability) {
        world.faultHub.record("api", "4xx", op);
        return TERMINAL;
      }
      return undefined;
    });
    return sw;
  },
};
