/** Messages between the bench (parent) and the loopback world process (child.ts). */

export type ToWorld =
  | { cmd: "plugin"; name: string; ipcUrl: string; token: string }
  | { cmd: "throughput"; count: number; window: number }
  | { cmd: "latency"; count: number; batch: number; intervalMs: number }
  | { cmd: "burst"; count: number }
  | { cmd: "soak"; count: number; window: number; maxMs?: number }
  | { cmd: "close" };

export type FromWorld =
  | { ready: true; connectorUrl: string; apiUrl: string }
  | { ok: true; result: unknown }
  | { ok: false; error: string };
