/**
 * Network presence (PROTOCOL §1.11), the simple online/reconnecting/offline form.
 *
 * Theory of operation:
 * 1. `offline` → `online` on `connector_connected` (reason `connector_connected`; from
 *    `reconnecting` the reason is `connector_reconnected`, and the grace deadline is cancelled).
 * 2. `online` → `reconnecting` on `connector_disconnected`, arming the deadline `presence_grace`
 *    (`presenceGraceMs`); its expiry moves `reconnecting` → `offline` (`grace_timeout`).
 * 3. Every change is logged, queued as `network_presence_changed` on the presence emitter, pushed as
 *    `presence_changed` (no receipt) to every open channel, and reported to the listener (the
 *    transition queue flushes on `online`).
 */

import type { PresenceChangedEvent } from "../api.ts";
import type { Deadline } from "../deadline-kinds.ts";
import type { IpcChannels } from "../endpoints/channels.ts";
import type { Env } from "../env.ts";
import type { RetryEmitter } from "./retry-emitter.ts";

export type PresenceState = "offline" | "online" | "reconnecting";

export const PRESENCE_GRACE_DEADLINE: Deadline = { kind: "presence_grace" };

export class Presence {
  private current: PresenceState = "offline";

  constructor(
    private readonly env: Env,
    private readonly emitter: RetryEmitter<"presence_changed">,
    private readonly channels: IpcChannels,
    private readonly onChange: (state: PresenceState) => void,
  ) {
    env.onDeadline("presence_grace", () => {
      if (this.current === "reconnecting") this.change("offline", "grace_timeout");
    });
  }

  get state(): PresenceState {
    return this.current;
  }

  connectorConnected(): void {
    if (this.current === "online") return;
    const reason = this.current === "reconnecting" ? "connector_reconnected" : "connector_connected";
    this.env.disarm(PRESENCE_GRACE_DEADLINE);
    this.change("online", reason);
  }

  connectorDisconnected(): void {
    if (this.current !== "online") return;
    this.env.arm(PRESENCE_GRACE_DEADLINE, this.env.opts.presenceGraceMs);
    this.change("reconnecting", "connector_disconnected");
  }

  stop(): void {
    this.env.disarm(PRESENCE_GRACE_DEADLINE);
  }

  private change(state: PresenceState, reason: string): void {
    const from = this.current;
    this.current = state;
    this.env.log("info", "network_presence_changed", { from, to: state, reason });
    const event: PresenceChangedEvent = {
      type: "network_presence_changed",
      version: 1,
      state,
      ts: this.env.nowMs,
      reason,
    };
    this.emitter.enqueue(event);
    this.channels.pushToAll({ event: "presence_changed", presence: state, reason });
    this.onChange(state);
  }
}
