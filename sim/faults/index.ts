/**
 * The fault registry: every fault module by name, the `FaultPlan` a scenario hands the
 * world, swarm-mode plan drawing, installation and healing.
 *
 * Theory of operation:
 * 1. `FAULTS` fixes the order modules are installed and drawn in; a plan's own key order is never
 *    used, so `{a, b}` and `{b, a}` are the same run.
 * 2. `drawSwarmPlan(streams)` draws, per module, from its own stream `swarm.<name>`: whether the
 *    module is on (probability `SWARM_ENABLE_PROBABILITY`), then its options. Adding a module does
 *    not reshuffle the others' draws. The result is plain JSON: put it in the report's `drawn`.
 * 3. `installFaults(world, plan)` (called by `World.start`) merges each entry onto the module's
 *    defaults and installs it with the stream `faults.<name>`. An empty plan draws nothing.
 * 4. `healAll(world)` stops every injector and releases holds and partitions (liveness phase).
 */

import type { Streams } from "../kernel/prng.ts";
import type { World } from "../kernel/world.ts";
import { apiFaults } from "./api.ts";
import { brokerCrash } from "./broker-crash.ts";
import { clientAnswers } from "./client-answers.ts";
import { clientCalls } from "./client-calls.ts";
import { clockJump } from "./clock-jump.ts";
import { connectorErrors } from "./connector-errors.ts";
import { controlReentry } from "./control-reentry.ts";
import { delay } from "./delay.ts";
import { disconnect } from "./disconnect.ts";
import { drop } from "./drop.ts";
import { duplicate } from "./duplicate.ts";
import type { FaultModule, FaultOptions } from "./fault.ts";
import { hold } from "./hold.ts";
import type { FaultHub } from "./hub.ts";
import { inboxPressure } from "./inbox-pressure.ts";
import { malformedRequest } from "./malformed-request.ts";
import { partition } from "./partition.ts";
import { platformAnswers } from "./platform-answers.ts";
import { plugin } from "./plugin.ts";
import { pushLost } from "./push-lost.ts";
import { pushReceipt } from "./push-receipt.ts";
import { reconnectReplies } from "./reconnect-replies.ts";
import { registerFaults } from "./register.ts";
import { reorder } from "./reorder.ts";
import { routeSkip } from "./route-skip.ts";
import { sendAck } from "./send-ack.ts";

export type { FaultHandle, FaultModule, FaultOptions } from "./fault.ts";
export { FaultHub } from "./hub.ts";

/** Every fault module, in installation order. */
export const FAULTS = [
  drop,
  delay,
  duplicate,
  reorder,
  hold,
  disconnect,
  registerFaults,
  partition,
  sendAck,
  apiFaults,
  routeSkip,
  pushReceipt,
  plugin,
  brokerCrash,
  inboxPressure,
  clockJump,
  pushLost,
  controlReentry,
  clientAnswers,
  malformedRequest,
  clientCalls,
  platformAnswers,
  reconnectReplies,
  connectorErrors,
] as const;

type Registry = (typeof FAULTS)[number];
export type FaultName = Registry["name"];
/** The options record of fault `K`. */
export type FaultOptionsOf<K extends FaultName> = Extract<Registry, { name: K }>["defaults"];

/** Per fault: options (merged onto the defaults), `true` for the defaults, `false`/absent for off. */
export type FaultPlan = { [K in FaultName]?: Partial<FaultOptionsOf<K>> | boolean };

export const FAULT_NAMES: FaultName[] = FAULTS.map((f) => f.name);

/**
 * Modules a scenario's fixed "every fault" plan leaves out: they widen what clients and channels do
 * and are drawn in swarm mode only, so plain runs keep their meaning.
 */
export const SWARM_ONLY_FAULTS: readonly FaultName[] = [
  "push-lost",
  "control-reentry",
  "client-answers",
  "malformed-request",
  "client-calls",
  "platform-answers",
  "reconnect-replies",
  "connector-errors",
];

/** In swarm mode each fault module is on with this probability, independently. */
export const SWARM_ENABLE_PROBABILITY = 0.5;

export function faultByName(name: string): FaultModule | undefined {
  return (FAULTS as readonly FaultModule[]).find((f) => f.name === name);
}

/** Draw which faults are on and their options from the seed (swarm mode). */
export function drawSwarmPlan(streams: Streams, only?: readonly FaultName[]): FaultPlan {
  const plan: Record<string, FaultOptions> = {};
  for (const f of FAULTS as readonly FaultModule[]) {
    if (only !== undefined && !only.includes(f.name as FaultName)) continue;
    const s = streams.get(`swarm.${f.name}`);
    if (!s.chance(SWARM_ENABLE_PROBABILITY)) continue;
    plan[f.name] = f.swarm(s);
  }
  return plan as FaultPlan;
}

/** The plan with every entry resolved to full options (off entries removed), in registry order. */
export function resolvePlan(plan: FaultPlan): Array<{ module: FaultModule; options: FaultOptions }> {
  const out: Array<{ module: FaultModule; options: FaultOptions }> = [];
  const entries = plan as Record<string, Partial<FaultOptions> | boolean | undefined>;
  for (const name of Object.keys(entries)) {
    if (!faultByName(name)) throw new Error(`unknown fault "${name}" (known: ${FAULT_NAMES.join(", ")})`);
  }
  for (const f of FAULTS as readonly FaultModule[]) {
    const e = entries[f.name];
    if (e === undefined || e === false) continue;
    const options = e === true ? { ...f.defaults } : ({ ...f.defaults, ...e } as FaultOptions);
    out.push({ module: f, options });
  }
  return out;
}

/** Install `plan` on `world` (World.start does this). Returns the hub, also at `world.faultHub`. */
export function installFaults(world: World, plan: FaultPlan): FaultHub {
  const hub = world.faultHub;
  for (const { module, options } of resolvePlan(plan)) {
    hub.adopt(module.name, module.install(world, options, world.streams.get(`faults.${module.name}`)));
  }
  return hub;
}

/** Stop every injector and release holds and partitions (the liveness phase's "heal"). */
export function healAll(world: World): void {
  world.faultHub.healAll();
}
