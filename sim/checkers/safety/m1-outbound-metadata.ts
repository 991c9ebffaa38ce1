import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/** A valid W3C `traceparent`: lower-case hex only, version ≠ ff, trace and parent ids not all zero. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function validTraceparent(v: unknown): boolean {
  if (typeof v !== "string") return false;
  const m = TRACEPARENT.exec(v);
  return m !== null && m[1] !== "ff" && !/^0+$/.test(m[2]!) && !/^0+$/.test(m[3]!);
}

interface SendRequest {
  reqId: number;
  requireLive: boolean;
  traceparent: unknown;
  event: string;
}

/**
 * M1 Outbound metadata (PROTOCOL §2.7, §1.8). Every SEND_MESSAGE the broker writes carries a valid
 * W3C `traceparent` (a client's invalid one, e.g. upper-case, is replaced; a valid one is kept), and
 * a `/v1/send`'s frame carries `require_live` exactly as the body said (default false). The frame of
 * a `/v1/send` is the connector frame its request caused.
 */
export const M1 = defineChecker({
  id: "M1",
  kind: "safety",
  kinds: ["start", "in", "out"],
  statement:
    "Every SEND_MESSAGE carries a valid lower-case traceparent (a client's valid one kept), and a /v1/send's frame carries require_live as the body set it (default false).",
  create() {
    let sends = new Map<number, SendRequest>();
    return {
      onEvent(ev) {
        if (ev.k === "start") {
          sends = new Map();
          return undefined;
        }
        if (ev.k === "in") {
          const i = ev.input;
          if (i.kind !== "ipc_request" || i.method !== "POST" || i.path !== "/v1/send") return undefined;
          const b = (typeof i.body === "object" && i.body !== null ? i.body : {}) as Record<string, unknown>;
          const m = (typeof b.metadata === "object" && b.metadata !== null ? b.metadata : {}) as Record<
            string,
            unknown
          >;
          sends.set(i.id, {
            reqId: i.id,
            requireLive: b.require_live === true,
            traceparent: m.traceparent,
            event: describe(ev),
          });
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "ipc_response") {
          sends.delete(o.id);
          return undefined;
        }
        if (o.kind !== "connector_send" || o.frame.event !== "SEND_MESSAGE") return undefined;
        const meta = o.frame.metadata ?? {};
        const tp = meta.traceparent;
        if (!validTraceparent(tp)) {
          return {
            message: `SEND_MESSAGE ${o.frame.messageId} carries traceparent ${JSON.stringify(tp)}, not a valid W3C traceparent.`,
            involved: [describe(ev)],
          };
        }
        const c = o.cause;
        const req = c?.kind === "request" ? sends.get(c.request) : undefined;
        if (req === undefined) return undefined;
        if (validTraceparent(req.traceparent) && tp !== req.traceparent) {
          return {
            message: `SEND_MESSAGE ${o.frame.messageId} of /v1/send ${req.reqId} replaced the client's valid traceparent ${String(req.traceparent)} with ${String(tp)}.`,
            involved: [req.event, describe(ev)],
          };
        }
        if (meta.require_live !== req.requireLive) {
          return {
            message: `SEND_MESSAGE ${o.frame.messageId} of /v1/send ${req.reqId} carries require_live ${JSON.stringify(meta.require_live)}; the body said ${req.requireLive}.`,
            involved: [req.event, describe(ev)],
          };
        }
        return undefined;
      },
    };
  },
});
