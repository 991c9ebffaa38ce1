import { describe, expect, it } from "vitest";
import {
  type LifecycleEvent,
  type LifecycleState,
  transition,
} from "../../../src/broker/endpoints/state-machine.ts";

const EVENTS: LifecycleEvent[] = [
  { type: "ipc_close", pluginAlive: true },
  { type: "ipc_close", pluginAlive: false },
  { type: "explicit_unregister" },
  { type: "register" },
  { type: "reattach" },
  { type: "grace_expired" },
];

function summary(state: LifecycleState, event: LifecycleEvent): string {
  const t = transition(state, event);
  const effects = t.effects.map((e) => (e.kind === "emit_state" ? `emit:${e.state}/${e.reason}` : e.kind));
  return `${t.next}${t.ignored ? " (ignored)" : ""} ${effects.join(",")}`.trim();
}

describe("the endpoint state machine", () => {
  it("follows the PROTOCOL §1.4 table exactly", () => {
    const table: Record<string, string> = {};
    for (const s of ["active", "reconnecting", "closed"] as const) {
      for (const e of EVENTS) {
        const key = `${s} ${e.type}${e.type === "ipc_close" ? (e.pluginAlive ? "(alive)" : "(dead)") : ""}`;
        table[key] = summary(s, e);
      }
    }
    expect(table).toEqual({
      "active ipc_close(alive)": "reconnecting start_grace,emit:reconnecting/ipc_close",
      "active ipc_close(dead)": "closed emit:closed/plugin_exit,delete_buffer,remove",
      "active explicit_unregister": "closed emit:closed/explicit_unregister,delete_buffer,remove",
      "active register": "active (ignored)",
      "active reattach": "active (ignored)",
      "active grace_expired": "active (ignored)",
      "reconnecting ipc_close(alive)": "reconnecting (ignored)",
      "reconnecting ipc_close(dead)": "reconnecting (ignored)",
      "reconnecting explicit_unregister":
        "closed cancel_grace,emit:closed/explicit_unregister,delete_buffer,remove",
      "reconnecting register": "reconnecting (ignored)",
      "reconnecting reattach": "active cancel_grace,drain_buffer,emit:active/reattach",
      "reconnecting grace_expired": "closed emit:closed/grace_timeout,delete_buffer,remove",
      "closed ipc_close(alive)": "closed (ignored)",
      "closed ipc_close(dead)": "closed (ignored)",
      "closed explicit_unregister": "closed (ignored)",
      "closed register": "closed (ignored)",
      "closed reattach": "closed (ignored)",
      "closed grace_expired": "closed (ignored)",
    });
  });

  it("starts a grace timer exactly on the transitions into reconnecting", () => {
    for (const s of ["active", "reconnecting", "closed"] as const) {
      for (const e of EVENTS) {
        const t = transition(s, e);
        const starts = t.effects.some((x) => x.kind === "start_grace");
        expect(starts).toBe(t.next === "reconnecting" && s !== "reconnecting");
      }
    }
  });
});
