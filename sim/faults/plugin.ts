/**
 * Plugin faults: from time to time one plugin either loses its stream and reconnects (reattaching
 * its endpoints within grace, or registering them afresh) or crashes outright — its stream closes,
 * the broker's liveness probe says the process is dead — and is respawned after a while with the
 * same pid, registering new endpoints. Heal respawns every plugin still down.
 */

import type { PluginModel } from "../actors/plugin.ts";
import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { Switch, between, periodic, weighted } from "./util.ts";

export type PluginFaultOptions = {
  /** Mean time between two plugin faults (across all plugins). */
  meanIntervalMs: number;
  channelCloseWeight: number;
  crashWeight: number;
  /** Stream down time before the plugin reconnects. */
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** Chance that a reconnect reattaches (else re-registers). */
  reattachProbability: number;
  /** Time a crashed plugin stays dead before respawning. */
  restartMinMs: number;
  restartMaxMs: number;
};

export const plugin: FaultModule<PluginFaultOptions> & { name: "plugin" } = {
  name: "plugin",
  description: "Closes a plugin's stream and reconnects it, or crashes the plugin and respawns it.",
  defaults: {
    meanIntervalMs: 30_000,
    channelCloseWeight: 2,
    crashWeight: 1,
    reconnectMinMs: 50,
    reconnectMaxMs: 5_000,
    reattachProbability: 0.5,
    restartMinMs: 500,
    restartMaxMs: 20_000,
  },
  swarm(s: Stream): PluginFaultOptions {
    const reconnectMinMs = s.range(0, 2_000);
    const restartMinMs = s.range(0, 5_000);
    return {
      meanIntervalMs: s.range(3_000, 90_000),
      channelCloseWeight: s.range(0, 3),
      crashWeight: s.range(0, 3),
      reconnectMinMs,
      reconnectMaxMs: reconnectMinMs + s.range(0, 10_000),
      reattachProbability: Math.round(s.float() * 1000) / 1000,
      restartMinMs,
      restartMaxMs: restartMinMs + s.range(0, 60_000),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    const down = new Set<PluginModel>();
    const respawn = (p: PluginModel) => {
      if (!down.delete(p)) return;
      world.faultHub.record("plugin", "restart", String(p.pid));
      p.restart();
    };
    sw.onHeal(() => {
      for (const p of [...down]) respawn(p);
    });
    periodic(world, stream, o.meanIntervalMs, sw, () => {
      const plugins = [...world.plugins.values()].filter((p) => p.alive);
      if (plugins.length === 0) return;
      const p = stream.pick(plugins);
      const what = weighted(stream, { close: o.channelCloseWeight, crash: o.crashWeight });
      if (what === "close") {
        const mode = stream.chance(o.reattachProbability) ? "reattach" : "reregister";
        const downMs = between(stream, o.reconnectMinMs, o.reconnectMaxMs);
        if (p.dropChannel(downMs, mode))
          world.faultHub.record("plugin", `channel_close_${mode}`, String(p.pid));
        return;
      }
      if (what === "crash") {
        world.faultHub.record("plugin", "crash", String(p.pid));
        p.crash();
        down.add(p);
        world.after(between(stream, o.restartMinMs, o.restartMaxMs), () => respawn(p));
      }
    });
    return sw;
  },
};
