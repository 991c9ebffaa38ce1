/**
 * The registered targets and which checkers apply to each.
 *
 * A checker applies to a target when the target has every capability the checker needs
 * (`CHECKER_NEEDS`). A checker that does not apply is left out of the run and listed in the run's
 * report as not applicable: a missing fact is never replaced by a guess.
 */

import type { CheckerDef } from "../checkers/checker.ts";
import { PUBLISHED_TARGET } from "./published.ts";
import { REFERENCE_TARGET } from "./reference.ts";
import type { Capability, TargetKind } from "./target.ts";

export const TARGETS: readonly TargetKind[] = [REFERENCE_TARGET, PUBLISHED_TARGET];

export const DEFAULT_TARGET = REFERENCE_TARGET;

export function targetByName(name: string): TargetKind | undefined {
  return TARGETS.find((t) => t.name === name);
}

export class UnknownTargetError extends Error {}

/** The target named `name` (absent = the default); an unknown name is an error. */
export function targetOrThrow(name: string | undefined): TargetKind {
  if (name === undefined) return DEFAULT_TARGET;
  const t = targetByName(name);
  if (!t) {
    throw new UnknownTargetError(
      `unknown target "${name}"; known targets: ${TARGETS.map((x) => x.name).join(", ")}`,
    );
  }
  return t;
}

/**
 * What each checker reads beyond the Input/Output stream and the actors' facts:
 * - `storage`: `storage` outputs and their results (cursor writes, reconnecting-buffer appends and
 *   deletes are destinations and durability points);
 * - `snapshot`: the end-of-run `BrokerSnapshot` (inbox rows, assignment records, endpoints);
 * - `internal_errors`: the target's count of its own internal errors;
 * - `causes`: each output's cause. The checkers that judge a task's payload-id bookkeeping need it:
 *   from the wire alone a retry queue's post or a reattach drain's push looks like the message's
 *   own task at work, and a guess would turn legal histories into findings (or hide real ones).
 *   T2 and T3 read the deadlines such a target reports each step (`takeDeadlineChanges`).
 */
export const CHECKER_NEEDS: Readonly<Record<string, readonly Capability[]>> = {
  X1: ["internal_errors"],
  S5: ["causes"],
  S7: ["causes"],
  R2: ["storage"],
  S2: ["storage"],
  S3: ["storage"],
  R1: ["storage"],
  R3: ["storage"],
  E3: ["storage"],
  A9: ["storage"],
  A10: ["snapshot"],
  A11: ["storage", "snapshot"],
  A12: ["causes"],
  A13: ["causes"],

  A15: ["snapshot"],
  A16: ["storage", "causes"],
  A17: ["causes"],
  A18: ["causes"],
  L1: ["snapshot"],
  L3: ["snapshot"],
  L4: ["snapshot"],
  L5: ["storage", "snapshot"],
  L9: ["storage", "snapshot"],
  L12: ["causes"],
  M2: ["causes"],
  T2: ["causes"],
  T3: ["causes"],
};

/** The capabilities `checker` needs that `target` lacks (empty = the checker applies). */
export function missingCapabilities(target: TargetKind, checker: Pick<CheckerDef, "id">): Capability[] {
  return (CHECKER_NEEDS[checker.id] ?? []).filter((c) => !target.capabilities.includes(c));
}

/** Split `checkers` into those that apply to `target` and the ids of those that do not. */
export function applicableCheckers(
  target: TargetKind,
  checkers: readonly CheckerDef[],
): { applicable: CheckerDef[]; notApplicable: string[] } {
  const applicable: CheckerDef[] = [];
  const notApplicable: string[] = [];
  for (const c of checkers) {
    if (missingCapabilities(target, c).length === 0) applicable.push(c);
    else notApplicable.push(c.id);
  }
  return { applicable, notApplicable };
}
