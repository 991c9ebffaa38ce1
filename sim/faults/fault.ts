/**
 * The fault-module contract. A fault module is a small record of probabilities and bounds
 * (its options, with units in their names) plus two functions: `swarm` draws a plausible option set
 * from a seed (swarm mode), `install` hooks the module into a freshly built world.
 *
 * Theory of operation:
 * 1. A run's faults are a `FaultPlan`: fault name → options (or `true` for the defaults, `false` /
 *    absent for off). The world installs the plan when it starts (`World.start`), in registry order,
 *    so a plan's key order never changes a run.
 * 2. Every module draws only from the labelled stream it is given (`faults.<name>`), created on
 *    first use. An empty plan creates no stream and draws nothing, so fault-free runs keep their
 *    golden trace hashes.
 * 3. Modules never set the world's single-slot hooks (`network.faults`, `server.faults`,
 *    `storage.faults`, `world.apiFaults`) themselves: they register with the world's `FaultHub`,
 *    which composes every module's decision and counts firings.
 * 4. Every module is healable: `install` returns a `FaultHandle` whose `heal()` stops its injector
 *    for good and undoes any standing condition (held links, partitions, shrunken capacities stay as
 *    configured — a capacity is a setting, not an outage). The liveness phase calls `healAll`.
 */

import type { Stream } from "../kernel/prng.ts";
import type { World } from "../kernel/world.ts";

/** Options are flat records of numbers, booleans and short string lists, so they print cleanly. */
export type FaultOptions = Record<string, number | boolean | string | readonly string[]>;

export interface FaultHandle {
  /** Stop injecting and undo standing conditions. Idempotent. */
  heal(): void;
}

export interface FaultModule<O extends FaultOptions = FaultOptions> {
  /** Registry key, kebab-case (`drop`, `broker-crash`, …). */
  readonly name: string;
  /** One sentence: what the fault does to the world. */
  readonly description: string;
  /** The options used when a plan says `true` (and the base a partial plan entry is merged onto). */
  readonly defaults: O;
  /** Draw this module's options for swarm mode. Draws only from `stream`. */
  swarm(stream: Stream): O;
  /** Hook into `world`; draws only from `stream` (labelled `faults.<name>`). */
  install(world: World, options: O, stream: Stream): FaultHandle;
}

/** Round a drawn rate so that the plan prints cleanly in reports. */
export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
