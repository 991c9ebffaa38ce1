/**
 * happy-path: no faults. Three plugins with four endpoints (a foreground session, a resident
 * background endpoint, an adapter-managed turn endpoint, a headless CLI that may drop its stream
 * and reattach within grace), a few hundred inbound messages of every routing kind, assignments
 * dispatched to the background endpoints and answered with replies.
 */

import { DEFAULT_PLUGIN_BEHAVIOUR, type PluginSpec } from "../actors/plugin.ts";
import type { Scenario } from "./scenario.ts";
import { DEFAULT_WORKLOAD, scheduleWorkload } from "./workload.ts";

/** Quiet time after the last arrival, so replies, acks and heartbeats settle. */
const SETTLE_MS = 45_000;

export const happyPath: Scenario = {
  name: "happy-path",
  description: "A fault-free day: routed, buffered, inboxed and dispatched messages, with replies.",
  exercises: ["push acked", "inbox add", "assignment dispatched", "reply emitted", "delivery skip"],
  // The fault-free baseline stays fault-free in swarm mode too.
  swarmFaults: [],
  build({ streams }) {
    const rng = streams.get("scenario");
    const scoped = rng.chance(0.5);
    const reconnect = rng.chance(0.5);
    const messages = rng.range(200, 400);
    const behaviour = {
      ...DEFAULT_PLUGIN_BEHAVIOUR,
      conflictingReplyProbability: 0.05,
      repeatReplyProbability: 0.05,
    };
    const plugins: PluginSpec[] = [
      {
        pid: 101,
        startAtMs: 0,
        behaviour,
        endpoints: [
          { kind: "claude", capabilities: ["foreground_channel_v1"], headless: false },
          {
            kind: "claude-bg",
            capabilities: ["background_exchange_v1"],
            backgroundExchangeMode: "resident_endpoint",
            headless: true,
          },
        ],
      },
      {
        pid: 102,
        startAtMs: rng.range(0, 1_000),
        behaviour,
        endpoints: [
          {
            kind: "codex",
            capabilities: ["background_exchange_v1"],
            backgroundExchangeMode: "adapter_managed_turn",
            runtimeSessionId: "rs-102",
            headless: true,
          },
        ],
      },
      {
        pid: 103,
        startAtMs: rng.range(0, 1_000),
        behaviour: reconnect
          ? {
              ...behaviour,
              reconnect: { atMs: rng.range(10_000, 30_000), downMs: rng.range(200, 5_000), mode: "reattach" },
            }
          : behaviour,
        endpoints: [{ kind: "cli", capabilities: [], headless: true }],
      },
    ];
    const workload = { ...DEFAULT_WORKLOAD, messages };
    let lastArrivalMs = 0;
    return {
      world: {
        brokerOptions: scoped ? { runtimeSessionId: "rs-main" } : {},
        dispatcher: { duplicateProbability: 0.05 },
        plugins,
      },
      get durationMs() {
        return lastArrivalMs + SETTLE_MS;
      },
      drive(world) {
        lastArrivalMs = scheduleWorkload(world, world.streams.get("workload"), workload);
        world.start();
      },
      drawn: { scoped, reconnect, messages },
    };
  },
};
