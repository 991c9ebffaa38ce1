/**
 * A scenario as a repro runs it: the registered scenario plus planted broker faults and the
 * shrinker's setup edits (plugins, endpoints or workload items left out, planned reconnects removed, an earlier
 * stop, a shorter liveness phase, smaller broker timeouts and inbox capacity). Same name, same
 * stream labels: only what the edits name changes.
 *
 * Setup edits shrink what a scenario does not draw from its streams (happy-path's three plugins are
 * fixed, not drawn), so the shrinker can still remove them; everything drawn is shrunk through the
 * decision log instead.
 */

import type { BrokerOptions, PlantedFaults } from "../../src/broker/options.ts";
import type { PluginSpec } from "../actors/plugin.ts";
import { FAULT_NAMES, type FaultPlan } from "../faults/index.ts";
import { DEFAULT_LIVENESS_BUDGET_MS, type Scenario, type ScenarioSetup } from "../scenarios/scenario.ts";

export interface SetupEdits {
  /** Plugins (by pid) left out of the world. */
  dropPlugins?: number[];
  /** Endpoints left out, by plugin pid and endpoint kind. */
  dropEndpoints?: Array<{ pid: number; kind: string }>;
  /** Plugins (by pid) whose planned reconnect is removed. */
  noReconnect?: number[];
  /** Workload items (1-based arrival order) drawn as usual but never sent to the broker. */
  omitMessages?: number[];
  /**
   * Workload items (1-based arrival order) left out together with their draws: never drawn, never
   * sent; the shrinker deletes the draws the item served from the decision log at the same time.
   */
  dropItems?: number[];
  /**
   * Fault modules left out of the run (by name): the scenario's own plan entry and the swarm draw
   * alike. A swarm module left out is not drawn, and every module draws from streams of its own, so
   * no other draw moves.
   */
  dropFaults?: string[];
  /** Stop the run at this virtual time (ms since start) instead of the scenario's end. */
  durationMs?: number;
  /**
   * A shorter liveness phase (ms). The runner still gives it at least graceMs + 2 s, so this pays
   * off together with a smaller `brokerOptions.graceMs`.
   */
  livenessBudgetMs?: number;
  /** Broker options set over the scenario's (smaller timeouts and capacities make shorter runs). */
  brokerOptions?: Partial<Pick<BrokerOptions, ShrinkableOption>>;
}

/**
 * Broker options the shrinker may lower: timeouts that decide how long a run has to last, and the
 * inbox capacity that decides how much work it takes to fill the inbox.
 */
export type ShrinkableOption = "graceMs" | "acceptanceTimeoutMs" | "inboxCapacity";
export const SHRINKABLE_OPTIONS: readonly ShrinkableOption[] = [
  "graceMs",
  "acceptanceTimeoutMs",
  "inboxCapacity",
];

export type PlantedFaultName = keyof PlantedFaults;

export const PLANTED_FAULT_NAMES: readonly PlantedFaultName[] = [
  "ackBeforeHandoff",
  "forgetReplyRecords",
  "noDuplicateSuppression",
  "silentInboxLoss",
  "noSequenceGuard",
  "persistBeforeAck",
  "inMemoryInbox",
];

export function isPlantedFaultName(s: string): s is PlantedFaultName {
  return (PLANTED_FAULT_NAMES as readonly string[]).includes(s);
}

/** What the last build of an edited scenario looked like (the shrinker reads the plugin list). */
export interface BuiltSetup {
  plugins: PluginSpec[];
  /** The scenario's own broker options (before the edits). */
  brokerOptions: Partial<BrokerOptions>;
}

export function editedScenario(
  scenario: Scenario,
  planted: readonly PlantedFaultName[],
  edits: SetupEdits,
  built?: BuiltSetup,
): Scenario {
  const live = edits.livenessBudgetMs;
  const ownLive = scenario.livenessBudgetMs;
  const gone = edits.dropFaults ?? [];
  return {
    ...scenario,
    ...(gone.length > 0
      ? { swarmFaults: (scenario.swarmFaults ?? FAULT_NAMES).filter((f) => !gone.includes(f)) }
      : {}),
    // An edit only ever shortens the liveness phase.
    livenessBudgetMs: live === undefined ? ownLive : Math.min(live, ownLive ?? DEFAULT_LIVENESS_BUDGET_MS),
    build(ctx) {
      const setup = scenario.build(ctx);
      const plugins = editPlugins(setup.world.plugins, edits);
      if (built) {
        built.plugins = setup.world.plugins;
        built.brokerOptions = { ...setup.world.brokerOptions };
      }
      const faults: Partial<PlantedFaults> = { ...setup.world.plantedFaults };
      for (const p of planted) faults[p] = true;
      // `durationMs` may be a getter that is only valid after `drive`: forward it, do not copy it.
      const wrapped: ScenarioSetup = {
        world: {
          ...setup.world,
          plugins,
          plantedFaults: faults,
          ...(gone.length > 0 && setup.world.faults !== undefined
            ? { faults: withoutFaults(setup.world.faults, gone) }
            : {}),
          ...(edits.omitMessages?.length ? { workloadOmit: edits.omitMessages } : {}),
          ...(edits.dropItems?.length ? { workloadDrop: edits.dropItems } : {}),
          brokerOptions: { ...setup.world.brokerOptions, ...edits.brokerOptions },
        },
        drive: (w) => setup.drive(w),
        drawn: setup.drawn,
        get durationMs() {
          const d = setup.durationMs;
          return edits.durationMs === undefined ? d : Math.min(d, edits.durationMs);
        },
      };
      return wrapped;
    },
  };
}

function withoutFaults(plan: FaultPlan, gone: readonly string[]): FaultPlan {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(plan)) if (!gone.includes(k)) out[k] = v;
  return out as FaultPlan;
}

function editPlugins(plugins: PluginSpec[], edits: SetupEdits): PluginSpec[] {
  const out: PluginSpec[] = [];
  for (const p of plugins) {
    if (edits.dropPlugins?.includes(p.pid)) continue;
    const endpoints = p.endpoints.filter(
      (e) => !edits.dropEndpoints?.some((d) => d.pid === p.pid && d.kind === e.kind),
    );
    if (endpoints.length === 0) continue;
    let behaviour = p.behaviour;
    if (edits.noReconnect?.includes(p.pid) && behaviour.reconnect !== undefined) {
      const { reconnect: _gone, ...rest } = behaviour;
      behaviour = rest;
    }
    out.push({ ...p, endpoints, behaviour });
  }
  return out;
}

/** True when the edits change nothing. */
export function noEdits(e: SetupEdits): boolean {
  return (
    (e.dropPlugins?.length ?? 0) === 0 &&
    (e.dropEndpoints?.length ?? 0) === 0 &&
    (e.noReconnect?.length ?? 0) === 0 &&
    (e.omitMessages?.length ?? 0) === 0 &&
    (e.dropItems?.length ?? 0) === 0 &&
    (e.dropFaults?.length ?? 0) === 0 &&
    e.durationMs === undefined &&
    e.livenessBudgetMs === undefined &&
    Object.keys(e.brokerOptions ?? {}).length === 0
  );
}
