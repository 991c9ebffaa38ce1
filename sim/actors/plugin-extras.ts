/**
 * Legal client calls the plain plugin model does not make, drawn while the `client-calls` fault
 * module is on (docs/world-model.md):
 * 1. `/v1/send` metadata: the published SDK's `send` passes the adapter's metadata through, so a
 *    client may set its own `traceparent` — valid, or upper-case (W3C allows only lower-case hex,
 *    so the broker must replace it) — and, as PROTOCOL §3.2 documents, a boolean `require_live`.
 * 2. A local dispatch: list the claim candidates of one of the plugin's active endpoints
 *    (`GET /v1/undispatched?endpoint_id=`, the SDK's `listUndispatched`) and dispatch one of them to
 *    one of the plugin's own endpoints (`POST /v1/dispatch`, the broker's local operator route).
 *    The broker then assigns the row like a platform dispatch; the platform model adopts it.
 */

import type { Stream } from "../kernel/prng.ts";
import type { ClientExtras, PluginModel } from "./plugin.ts";

/** Point 1: add a client `traceparent` and `require_live` to a `/v1/send` body, as drawn. */
export function sendExtras(body: Record<string, unknown>, x: ClientExtras, rng: Stream): void {
  if (rng.chance(x.traceparentProbability)) {
    const tp = `00-${rng.hex(16)}-${rng.hex(8)}-01`;
    body.metadata = { traceparent: rng.chance(0.5) ? tp.toUpperCase() : tp };
  }
  if (rng.chance(x.requireLiveProbability)) body.require_live = rng.chance(0.5);
}

/**
 * Point 2: list and dispatch one candidate to one of `p`'s endpoints. Returns what was asked (for
 * the fault hub's record), or undefined when `p` has no endpoint to ask for.
 */
export function localDispatch(p: PluginModel, rng: Stream, onDispatched?: (answer: number) => void): boolean {
  const mine = p.endpoints.filter((e) => e.endpointId !== undefined);
  if (mine.length === 0 || p.channel === undefined) return false;
  const from = rng.pick(mine).endpointId!;
  const target = rng.pick(mine).endpointId!;
  return p.request(
    "GET",
    `/v1/undispatched?endpoint_id=${encodeURIComponent(from)}`,
    undefined,
    (status, res) => {
      if (status !== 200 || !Array.isArray(res.items) || res.items.length === 0) return;
      const items = res.items as Array<Record<string, unknown>>;
      const row = items[rng.int(items.length)]!;
      if (typeof row.undispatched_id !== "string") return;
      p.request(
        "POST",
        "/v1/dispatch",
        { undispatched_id: row.undispatched_id, target_endpoint_id: target },
        (answer) => onDispatched?.(answer),
      );
    },
  );
}
