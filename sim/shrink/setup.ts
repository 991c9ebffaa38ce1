/**
 * A scenario as a repro runs it: the registered scenario plus planted broker faults and the
 * shrinker's setup edits (plugins or endpoints left out, planned reconnects removed, an earlier
 * stop). Same name, same stream labels: only what the edits name changes.
 *
 * Setup edits shrink what a scenario does not draw from its streams (happy-path's three plugins are
 * fixed, not drawn), so the shrinker can still remove them; everything drawn is shrunk through the
 * decision log instead.
 */

import type { PlantedFaults } from "../../src/broker/options.ts";
import type { PluginSpec } from "../actors/plugin.ts";
import type { Scenario, ScenarioSetup } from "../scenarios/scenario.ts";

export interface SetupEdits {
  /** Plugins (by pid) left out of the world. */
  dropPlugins?: number[];
  /** Endpoints left out, by plugin pid and endpoint kind. */
  dropEndpoints?: Array<{ pid: number; kind: string }>;
  /** Plugins (by pid) whose planned reconnect is removed. */
  noReconnect?: number[];
  /** Stop the run at this virtual time (ms since start) instead of the scenario's end. */
  durationMs?: number;
}

export type PlantedFaultName = keyof PlantedFaults;

export const PLANTED_FAULT_NAMES: readonly PlantedFaultName[] = [
  "ackBeforeHandoff",
  "forgetReplyRecords",
  "noDuplicateSuppression",
  "silentInboxLoss",
  "noSequenceGuard",
  "persistBeforeAck",
];

export function isPlantedFaultName(s: string): s is PlantedFaultName {
  return (PLANTED_FAULT_NAMES as readonly string[]).includes(s);
}

/** What the last build of an edited scenario looked like (the shrinker reads the plugin list). */
export interface BuiltSetup {
  plugins: PluginSpec[];
}

export function editedScenario(
  scenario: Scenario,
  planted: readonly PlantedFaultName[],
  edits: SetupEdits,
  built?: BuiltSetup,
): Scenario {
  return {
    ...scenario,
    build(ctx) {
      const setup = scenario.build(ctx);
      const plugins = editPlugins(setup.world.plugins, edits);
      if (built) built.plugins = setup.world.plugins;
      const faults: Partial<PlantedFaults> = { ...setup.world.plantedFaults };
      for (const p of planted) faults[p] = true;
      // `durationMs` may be a getter that is only valid after `drive`: forward it, do not copy it.
      const wrapped: ScenarioSetup = {
        world: { ...setup.world, plugins, plantedFaults: faults },
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
    e.durationMs === undefined
  );
}
