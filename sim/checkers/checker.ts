/**
 * The checker contract. One module per invariant of PROTOCOL.md §7 (plus X1 "the core never
 * throws"); each states its invariant in one sentence and looks at every event of the run.
 *
 * A checker is a definition (`id`, `statement`, `kind`) plus a factory for its per-run state, so
 * two runs never share anything. `onEvent` runs after the shared `View` has absorbed the event and
 * must be cheap: no core snapshots, no scans over the whole history.
 */

import type { SimEvent } from "../kernel/events.ts";
import type { View } from "./view.ts";

export type InvariantKind = "safety" | "liveness";

/** What a checker reports. The world adds seed, time and the recent events. */
export interface Finding {
  /** Plain-words explanation of what went wrong. */
  message: string;
  /** Events or facts that show it (compact strings). */
  involved?: string[];
}

export interface CheckerInstance {
  onEvent(ev: SimEvent, view: View): Finding | undefined;
}

export interface CheckerDef {
  id: string;
  statement: string;
  kind: InvariantKind;
  /**
   * The event kinds `onEvent` looks at; the world calls it for those only (dispatching every event
   * to every checker costs more than most checkers' logic). Absent = every kind.
   */
  kinds?: readonly SimEvent["k"][];
  create(): CheckerInstance;
}

/** Does `def` want to see events of kind `k`? */
export function wants(def: CheckerDef, k: SimEvent["k"]): boolean {
  return def.kinds === undefined || def.kinds.includes(k);
}

export interface Violation {
  invariant: string;
  kind: InvariantKind;
  statement: string;
  seed: number;
  scenario: string;
  /** Virtual ms since the run started. */
  atMs: number;
  message: string;
  involved: string[];
  recentEvents: string[];
}

export function defineChecker(def: CheckerDef): CheckerDef {
  return def;
}
