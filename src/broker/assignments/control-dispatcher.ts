/**
 * Control events (PROTOCOL §1.12): shape check, version check, idempotency-key de-duplication and
 * one `control_ack` output per event received.
 *
 * Theory of operation:
 * 1. Keys of *successful* events are kept in a FIFO ring of `controlIdempotencyRingMax`; a replay
 *    of such a key is acked `applied` without running the handler again (A9).
 * 2. A key whose handler is still running collects the duplicates: each gets its own ack with the
 *    shared outcome when the first finishes. Failures are not remembered, so the platform can retry.
 * 3. Unsupported version ⇒ `failed/unsupported_protocol_version`; a type nobody handles here ⇒
 *    `applied/unknown_variant_dropped` (the SSE client's rule), except the declared-but-unhandled
 *    types of §4.4, which fail like the reference dispatcher's `no_handler:<type>`.
 * 4. A handler that throws is a failure with the error message as detail; nothing escapes.
 */

import type { Env } from "../env.ts";
import type { Done, HandlerOutcome } from "./dispatch.ts";
import { type ControlEnvelope, parseEnvelope } from "./events.ts";

export type ControlHandler = (ev: ControlEnvelope, done: Done) => void;

/** Declared by the platform (§4.4) but handled by no part of this broker. */
const DECLARED_UNHANDLED: Record<string, string> = {
  spawn_request: "spawn_driver_registry_not_configured",
  owner_session_delivery: "no_handler:owner_session_delivery",
};

export class ControlDispatcher {
  private readonly handlers = new Map<string, ControlHandler>();
  private readonly succeeded = new Set<string>();
  private readonly order: string[] = [];
  private readonly inFlight = new Map<string, Done[]>();

  constructor(private readonly env: Env) {}

  on(type: string, handler: ControlHandler): void {
    this.handlers.set(type, handler);
  }

  /** Number of remembered successful keys (for tests and snapshots). */
  get ringSize(): number {
    return this.succeeded.size;
  }

  /** A platform control event: validate, dispatch, ack. */
  onControlEvent(event: unknown): void {
    const parsed = parseEnvelope(event);
    if (!parsed.ok) {
      const key = (event as { idempotency_key?: unknown } | null)?.idempotency_key;
      this.env.log("warn", "control_event_malformed", { detail: parsed.detail });
      this.ack(typeof key === "string" ? key : "", "failed", parsed.detail);
      return;
    }
    const ev = parsed.value;
    if (ev.version !== 1) {
      this.ack(ev.idempotency_key, "failed", "unsupported_protocol_version");
      return;
    }
    if (!this.handlers.has(ev.type) && !(ev.type in DECLARED_UNHANDLED)) {
      this.env.log("info", "control_event_unknown_variant", { type: ev.type });
      this.ack(ev.idempotency_key, "applied", "unknown_variant_dropped");
      return;
    }
    this.dispatch(ev, (r) => {
      if (r.ok) this.ack(ev.idempotency_key, "applied");
      else this.ack(ev.idempotency_key, "failed", r.detail);
    });
  }

  /** Run an event through de-duplication and its handler (also used by `POST /v1/dispatch`). */
  dispatch(ev: ControlEnvelope, done: Done) {
    const key = ev.idempotency_key;
    if (this.succeeded.has(key)) return done({ ok: true });
    const waiting = this.inFlight.get(key);
    if (waiting) {
      waiting.push(done);
      return;
    }
    const handler = this.handlers.get(ev.type);
    if (!handler) {
      return done({ ok: false, detail: DECLARED_UNHANDLED[ev.type] ?? `no_handler:${ev.type}` });
    }
    const waiters: Done[] = [done];
    this.inFlight.set(key, waiters);
    let finished = false;
    const finish = (r: HandlerOutcome) => {
      if (finished) {
        this.env.log("warn", "control_handler_double_completion", { idempotency_key: key });
        return;
      }
      finished = true;
      this.inFlight.delete(key);
      if (r.ok) this.remember(key);
      for (const w of waiters) w(r);
    };
    try {
      handler(ev, finish);
    } catch (err) {
      finish({ ok: false, detail: err instanceof Error ? err.message : String(err) });
    }
  }

  private remember(key: string): void {
    if (this.succeeded.has(key)) return;
    this.succeeded.add(key);
    this.order.push(key);
    while (this.order.length > this.env.opts.controlIdempotencyRingMax) {
      this.succeeded.delete(this.order.shift()!);
    }
  }

  private ack(key: string, status: "applied" | "failed" | "received", detail?: string): void {
    this.env.emit({
      kind: "control_ack",
      idempotency_key: key,
      status,
      ...(detail !== undefined && { detail }),
    });
  }
}
