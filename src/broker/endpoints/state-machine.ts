/**
 * Endpoint state machine (PROTOCOL §1.4), as a pure function.
 *
 * Theory of operation:
 * 1. An endpoint is `active`, `reconnecting`, or `closed` (closed = gone from the registry).
 * 2. `transition(state, event)` returns the next state and the effects to apply, in order. It never
 *    touches the world; `endpoint-lifecycle.ts` applies the effects.
 * 3. The table is the reference's exactly (E1). Events the table ignores return the same state, no
 *    effects and `ignored: true`, so the caller can log `state_event_ignored`.
 * 4. Registration does not go through the machine: a successful register creates an `active` entry.
 */

export type LifecycleState = "active" | "reconnecting" | "closed";

export type LifecycleEvent =
  | { type: "ipc_close"; pluginAlive: boolean }
  | { type: "explicit_unregister" }
  | { type: "register" }
  | { type: "reattach" }
  | { type: "grace_expired" };

export type TransitionReason =
  | "ipc_close"
  | "plugin_exit"
  | "explicit_unregister"
  | "grace_timeout"
  | "reattach";

export type Effect =
  | { kind: "start_grace" }
  | { kind: "cancel_grace" }
  | { kind: "drain_buffer" }
  | { kind: "emit_state"; state: "active" | "reconnecting" | "closed"; reason: TransitionReason }
  | { kind: "delete_buffer" }
  | { kind: "remove" };

export interface Transition {
  next: LifecycleState;
  effects: Effect[];
  ignored: boolean;
}

const closedEffects = (reason: TransitionReason, cancelGrace: boolean): Effect[] => [
  ...(cancelGrace ? [{ kind: "cancel_grace" } as const] : []),
  { kind: "emit_state", state: "closed", reason },
  { kind: "delete_buffer" },
  { kind: "remove" },
];

export function transition(state: LifecycleState, event: LifecycleEvent): Transition {
  if (state === "active") {
    switch (event.type) {
      case "ipc_close":
        return event.pluginAlive
          ? {
              next: "reconnecting",
              effects: [
                { kind: "start_grace" },
                { kind: "emit_state", state: "reconnecting", reason: "ipc_close" },
              ],
              ignored: false,
            }
          : { next: "closed", effects: closedEffects("plugin_exit", false), ignored: false };
      case "explicit_unregister":
        return { next: "closed", effects: closedEffects("explicit_unregister", false), ignored: false };
      default:
        return { next: "active", effects: [], ignored: true };
    }
  }
  if (state === "reconnecting") {
    switch (event.type) {
      case "reattach":
        return {
          next: "active",
          effects: [
            { kind: "cancel_grace" },
            { kind: "drain_buffer" },
            { kind: "emit_state", state: "active", reason: "reattach" },
          ],
          ignored: false,
        };
      case "grace_expired":
        return { next: "closed", effects: closedEffects("grace_timeout", false), ignored: false };
      case "explicit_unregister":
        return { next: "closed", effects: closedEffects("explicit_unregister", true), ignored: false };
      default:
        return { next: "reconnecting", effects: [], ignored: true };
    }
  }
  return { next: "closed", effects: [], ignored: true };
}
