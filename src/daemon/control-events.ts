/**
 * The platform's control-event stream (PROTOCOL §1.12): an SSE subscription to
 * `GET <base>/v1/runtime/control-events?agent_id=…` whose JSON events become `control_event`
 * inputs. Acks travel the other way as `control_ack` outputs, posted by the PlatformClient.
 *
 * Theory of operation:
 * 1. One subscription at a time. `Last-Event-ID` is sent once an id has been seen, so a
 *    reconnect resumes where the previous stream stopped.
 * 2. When the stream fails or ends, wait and reconnect: 1 s doubling to 30 s, reset to 1 s after
 *    a successful (2xx) subscribe.
 * 3. Events are fed strictly in stream order; a `data` that is not JSON is logged and skipped.
 *    Ack policy (received/applied/failed) is the core's decision, not this file's.
 * 4. `stop()` aborts the request and cancels the wait; nothing is fed afterwards.
 */

import type { Logger } from "./logger.ts";
import { SseParser } from "./sse-parser.ts";

export const DEFAULT_SSE_BACKOFF_INITIAL_MS = 1_000;
export const DEFAULT_SSE_BACKOFF_MAX_MS = 30_000;

export interface ControlEventsOptions {
  /** Platform base URL, without `/v1`. */
  baseUrl: string;
  /** Agent id for the `agent_id` query parameter. */
  agentId: string;
  /** Bearer token. Default none. */
  token?: string;
  /** Receives each parsed event. */
  onEvent: (event: unknown) => void;
  /** First reconnect delay. Default 1 000 ms. */
  backoffInitialMs?: number;
  /** Reconnect delay ceiling. Default 30 000 ms. */
  backoffMaxMs?: number;
  logger?: Logger;
  fetch?: typeof fetch;
}

export class ControlEventStream {
  private stopped = true;
  private abort: AbortController | undefined;
  private wake: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private backoffMs: number;
  /** The last SSE id seen; sent as `Last-Event-ID` on reconnect. */
  lastEventId = "";
  /** Subscriptions attempted and events fed, for tests and diagnostics. */
  readonly stats = { subscribes: 0, connected: 0, events: 0, invalid: 0 };

  constructor(private readonly opts: ControlEventsOptions) {
    this.backoffMs = opts.backoffInitialMs ?? DEFAULT_SSE_BACKOFF_INITIAL_MS;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.subscribeOnce();
      } catch (err) {
        if (!this.stopped)
          this.opts.logger?.warn("control_events_stream_failed", { error: (err as Error).message });
      }
      if (this.stopped) break;
      const delay = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, this.opts.backoffMaxMs ?? DEFAULT_SSE_BACKOFF_MAX_MS);
      this.opts.logger?.debug("control_events_reconnect_scheduled", { delayMs: delay });
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private async subscribeOnce(): Promise<void> {
    this.stats.subscribes++;
    const url = `${this.opts.baseUrl.replace(/\/+$/, "")}/v1/runtime/control-events?agent_id=${encodeURIComponent(this.opts.agentId)}`;
    const headers: Record<string, string> = { accept: "text/event-stream", "cache-control": "no-cache" };
    if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
    if (this.lastEventId) headers["last-event-id"] = this.lastEventId;
    const abort = new AbortController();
    this.abort = abort;
    const res = await (this.opts.fetch ?? fetch)(url, { headers, signal: abort.signal });
    if (res.status < 200 || res.status >= 300 || !res.body) {
      await res.body?.cancel().catch(() => {});
      throw new Error(`control events subscribe answered HTTP ${res.status}`);
    }
    this.stats.connected++;
    this.backoffMs = this.opts.backoffInitialMs ?? DEFAULT_SSE_BACKOFF_INITIAL_MS;
    this.opts.logger?.info("control_events_connected", { lastEventId: this.lastEventId || undefined });
    const parser = new SseParser();
    parser.lastEventId = this.lastEventId;
    const decoder = new TextDecoder();
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.stopped) break;
        for (const ev of parser.push(decoder.decode(value, { stream: true }))) {
          if (this.stopped) break;
          this.lastEventId = ev.lastEventId;
          this.deliver(ev.data);
        }
        this.lastEventId = parser.lastEventId;
      }
    } finally {
      reader.releaseLock();
      abort.abort();
    }
    if (!this.stopped) this.opts.logger?.info("control_events_stream_ended", {});
  }

  private deliver(data: string): void {
    let event: unknown;
    try {
      event = JSON.parse(data);
    } catch {
      this.stats.invalid++;
      this.opts.logger?.warn("control_event_not_json", { length: data.length });
      return;
    }
    this.stats.events++;
    this.opts.onEvent(event);
  }
}
