/**
 * Platform-API faults of the seeded platform stub: a request answered 503 without being applied
 * (the platform is briefly unavailable) or never answered (its socket is destroyed after
 * `apiTimeoutMs`, so the client's own request timeout fires first). `ApiFaults.intercept` is the
 * HTTP stub's `intercept` hook; it returns true for a request it took over.
 *
 * Decisions are counted per route (method and path with ids replaced by `:id`), so concurrent
 * requests on different routes do not shift each other's faults. The SSE control-event stream is
 * never faulted: losing it is a connection fault, not an API answer.
 */

import type { IncomingMessage, ServerResponse } from "node:http";
import type { StubFaultSchedule } from "./fault-schedule.ts";

export class ApiFaults {
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(private readonly schedule: StubFaultSchedule) {}

  readonly intercept = (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = new URL(req.url ?? "/", "http://stub").pathname;
    if (req.method === "GET" && path === "/v1/runtime/control-events") return false;
    const route = `${req.method ?? "GET"} ${routeOf(path)}`;
    const r = this.schedule.rates;
    if (this.schedule.decide(`api.error ${route}`, "api_error", r.apiErrorProbability, route)) {
      req.resume();
      const body = JSON.stringify({ error: "unavailable", message: "injected fault: platform unavailable" });
      res.writeHead(503, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
      return true;
    }
    if (this.schedule.decide(`api.timeout ${route}`, "api_timeout", r.apiTimeoutProbability, route)) {
      req.resume();
      const t = setTimeout(() => {
        this.timers.delete(t);
        res.destroy();
      }, r.apiTimeoutMs);
      this.timers.add(t);
      res.on("close", () => {
        clearTimeout(t);
        this.timers.delete(t);
      });
      return true;
    }
    return false;
  };

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

/** The route of a path: the endpoint id segment of `/v1/runtime-endpoints/<id>/…` becomes `:id`. */
export function routeOf(path: string): string {
  const parts = path.split("/");
  if (parts[1] === "v1" && parts[2] === "runtime-endpoints" && parts[3] !== undefined && parts[3] !== "")
    parts[3] = ":id";
  return parts.join("/");
}
