/**
 * The checker contract. One module per invariant of PROTOCOL.md §7 (plus X1 "the core never
 * throws"); each states its invariant in one sentence and looks at every event of the run.
 *
 * A checker is a definition (`id`, `statement`, `kind`) plus a factory for its per-run state, so
 * two runs never share anything. `onEvent` runs after the shared `View` has absorbed the event and
 * must be cheap: no core snapshots, no scans over the whole history.
 */

import type { Input, Output } from "../../src/broker/types.ts";
import type { Fact, SimEvent } from "../kernel/events.ts";
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
   * The events `onEvent` looks at; the world calls it for those only (dispatching every event to
   * every checker costs more than most checkers' logic). An entry is an event kind (`"out"`: every
   * output) or a kind narrowed to one input kind, output kind or fact (`"out:api_call"`,
   * `"in:api_result"`, `"truth:liveness_end"`). Absent = every event.
   */
  kinds?: readonly EventKey[];
  create(): CheckerInstance;
}

/** What a checker can subscribe to: an event kind, or one input kind, output kind or fact. */
export type EventKey = SimEvent["k"] | `in:${Input["kind"]}` | `out:${Output["kind"]}` | `truth:${Fact["f"]}`;

/** The narrower kind of an event (its input kind, output kind or fact), if it has one. */
export function subKindOf(ev: SimEvent): string | undefined {
  switch (ev.k) {
    case "in":
      return ev.input.kind;
    case "out":
      return ev.output.kind;
    case "truth":
      return ev.fact.f;
    default:
      return undefined;
  }
}

/** Does `def` want to see an event of kind `k` (narrowed to `sub`, if the kind has narrower kinds)? */
export function wantsKind(def: CheckerDef, k: SimEvent["k"], sub: string | undefined): boolean {
  const keys: readonly string[] | undefined = def.kinds;
  if (keys === undefined || keys.includes(k)) return true;
  return sub !== undefined && keys.includes(`${k}:${sub}`);
}

/** Does `def` want to see `ev`? */
export function wants(def: CheckerDef, ev: SimEvent): boolean {
  return wantsKind(def, ev.k, subKindOf(ev));
}

/** Every event kind, and the narrower kinds of `in`, `out` and `truth` (the compiler keeps them complete). */
const KINDS: Record<SimEvent["k"], Record<string, true> | undefined> = {
  in: {
    start: true,
    connector_open: true,
    connector_frame: true,
    connector_closed: true,
    api_result: true,
    storage_result: true,
    ipc_channel_open: true,
    ipc_channel_message: true,
    ipc_channel_closed: true,
    ipc_request: true,
    control_event: true,
    shutdown: true,
  } satisfies Record<Input["kind"], true>,
  out: {
    connector_connect: true,
    connector_send: true,
    connector_close: true,
    api_call: true,
    storage: true,
    ipc_push: true,
    ipc_response: true,
    ipc_close_channel: true,
    control_ack: true,
    stopped: true,
  } satisfies Record<Output["kind"], true>,
  truth: {
    server_sent: true,
    server_acked: true,
    server_gap_fill: true,
    cursor_persisted: true,
    plugin_push_acked: true,
    plugin_reply_abandoned: true,
    plugin_answer_choice: true,
    liveness_begin: true,
    liveness_end: true,
  } satisfies Record<Fact["f"], true>,
  advance: undefined,
  step_end: undefined,
  start: undefined,
  crash: undefined,
  quiescent: undefined,
};

/**
 * Throws on a `kinds` entry that names no event (a typo would silently hide those events from the
 * checker): it must be an event kind or `in:`, `out:` or `truth:` followed by an input kind, output
 * kind or fact.
 */
export function validateKinds(def: CheckerDef): void {
  for (const key of (def.kinds ?? []) as readonly string[]) {
    const colon = key.indexOf(":");
    const kind = colon < 0 ? key : key.slice(0, colon);
    const known = Object.hasOwn(KINDS, kind);
    const narrower = known ? KINDS[kind as SimEvent["k"]] : undefined;
    const ok = colon < 0 ? known : narrower !== undefined && Object.hasOwn(narrower, key.slice(colon + 1));
    if (!ok)
      throw new Error(
        `checker ${def.id}: kinds entry "${key}" names no event: use an event kind (${Object.keys(KINDS).join(", ")}) or in:<input kind>, out:<output kind>, truth:<fact>`,
      );
  }
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
