/**
 * The standard cast most scenarios share: a foreground session and a resident background endpoint
 * in one plugin, an adapter-managed turn endpoint in a second, a headless CLI in a third, driven by
 * the standard workload. A scenario states only how it differs (options, faults, plugin
 * behaviour, workload mix) and what it must exercise.
 */

import type { BrokerOptions } from "../../src/broker/options.ts";
import { DEFAULT_PLUGIN_BEHAVIOUR, type PluginBehaviour, type PluginSpec } from "../actors/plugin.ts";
import type { DispatcherOptions } from "../actors/dispatcher.ts";
import type { PlatformApiOptions } from "../actors/platform-api.ts";
import type { FaultPlan } from "../faults/index.ts";
import type { Stream } from "../kernel/prng.ts";
import type { BuildContext, ScenarioSetup } from "./scenario.ts";
import { DEFAULT_WORKLOAD, scheduleWorkload, type WorkloadOptions } from "./workload.ts";

export interface CastOptions {
  /** Messages in the workload (default: drawn in 150..300). */
  messages?: number;
  workload?: Partial<WorkloadOptions>;
  behaviour?: Partial<PluginBehaviour>;
  /** Per-plugin behaviour overrides, by pid (101 foreground+resident, 102 turn, 103 CLI). */
  perPlugin?: Record<number, Partial<PluginBehaviour>>;
  brokerOptions?: Partial<BrokerOptions>;
  dispatcher?: Partial<DispatcherOptions>;
  platform?: Partial<PlatformApiOptions>;
  faults?: FaultPlan;
  /** Quiet time after the last arrival before the safety phase ends. */
  settleMs?: number;
  /** Anything else worth printing with the run. */
  drawn?: Record<string, unknown>;
}

export const DEFAULT_SETTLE_MS = 30_000;

/** The standard three plugins, with `behaviour` (and per-pid overrides) applied. */
export function standardPlugins(
  rng: Stream,
  behaviour: PluginBehaviour,
  perPlugin: Record<number, Partial<PluginBehaviour>> = {},
): PluginSpec[] {
  const b = (pid: number): PluginBehaviour => ({ ...behaviour, ...perPlugin[pid] });
  return [
    {
      pid: 101,
      startAtMs: 0,
      behaviour: b(101),
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
      behaviour: b(102),
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
      behaviour: b(103),
      endpoints: [{ kind: "cli", capabilities: [], headless: true }],
    },
  ];
}

/** A scenario setup over the standard cast. */
export function standardSetup(ctx: BuildContext, o: CastOptions): ScenarioSetup {
  const rng = ctx.streams.get("scenario");
  const scoped = rng.chance(0.5);
  const messages = o.messages ?? rng.range(150, 300);
  const behaviour: PluginBehaviour = { ...DEFAULT_PLUGIN_BEHAVIOUR, ...o.behaviour };
  const plugins = standardPlugins(rng, behaviour, o.perPlugin);
  const workload: WorkloadOptions = { ...DEFAULT_WORKLOAD, ...o.workload, messages };
  const settleMs = o.settleMs ?? DEFAULT_SETTLE_MS;
  let lastArrivalMs = 0;
  const world: ScenarioSetup["world"] = {
    brokerOptions: { ...(scoped ? { runtimeSessionId: "rs-main" } : {}), ...o.brokerOptions },
    plugins,
  };
  if (o.dispatcher) world.dispatcher = o.dispatcher;
  if (o.platform) world.platform = o.platform;
  if (o.faults) world.faults = o.faults;
  return {
    world,
    get durationMs() {
      return lastArrivalMs + settleMs;
    },
    drive(w) {
      lastArrivalMs = scheduleWorkload(w, w.streams.get("workload"), workload);
      w.start();
    },
    drawn: { scoped, messages, ...o.drawn },
  };
}
