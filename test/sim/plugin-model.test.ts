/**
 * The simulated plugin follows the shipped SDK's connect: initialize first, then the stream. A
 * plugin that opened its stream after a failed initialize advertised `push_receipt_ack_v1` but,
 * never having seen the server's capabilities, acked no push on it: every push to its endpoints
 * went unreceived for the rest of the run, which no real SDK client does.
 */

import { describe, expect, it } from "vitest";
import {
  DEFAULT_PLUGIN_BEHAVIOUR,
  PluginModel,
  type PluginHost,
  type Responder,
} from "../../sim/actors/plugin.ts";
import { Stream } from "../../sim/kernel/prng.ts";

class FakeHost implements PluginHost {
  nowMs = 0;
  brokerUp = false;
  readonly requests: string[] = [];
  readonly opened: number[] = [];
  /** Open callbacks the test has not run yet, by channel; `autoOpen` runs them after 1 ms. */
  readonly pendingOpen = new Map<number, () => void>();
  autoOpen = true;
  readonly sent: string[] = [];
  private timers: Array<{ at: number; fn: () => void }> = [];
  private channels = 0;

  request(_pid: number, _method: string, path: string, _body: unknown, cb: Responder): void {
    this.requests.push(path);
    const up = this.brokerUp;
    this.after(1, () => {
      if (!up) return cb(0, {});
      if (path === "/v1/initialize") return cb(200, { server_capabilities: { push_receipt_ack_v1: true } });
      if (path === "/v1/endpoint/register") return cb(200, { endpoint_id: `ep-${this.requests.length}` });
      cb(200, {});
    });
  }
  openChannel(_pid: number, _caps: string[], onOpen: () => void): number {
    this.opened.push(this.nowMs);
    const channel = ++this.channels;
    if (this.autoOpen) this.after(1, onOpen);
    else this.pendingOpen.set(channel, onOpen);
    return channel;
  }
  open(channel: number): void {
    const fn = this.pendingOpen.get(channel);
    this.pendingOpen.delete(channel);
    fn?.();
  }
  sendOnChannel(_pid: number, _channel: number, text: string): void {
    this.sent.push(text);
  }
  closeChannel(): void {}
  after(delayMs: number, fn: () => void): void {
    this.timers.push({ at: this.nowMs + delayMs, fn });
  }
  fact(): void {}
  runUntil(t: number): void {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > t) break;
      this.timers.shift();
      this.nowMs = next.at;
      next.fn();
    }
    this.nowMs = t;
  }
}

function plugin(host: FakeHost): PluginModel {
  return new PluginModel(
    {
      pid: 101,
      startAtMs: 0,
      endpoints: [{ kind: "claude", capabilities: ["background_exchange_v1"] }],
      behaviour: { ...DEFAULT_PLUGIN_BEHAVIOUR, sendProbability: 0 },
    },
    host,
    new Stream("plugin-101", 1),
  );
}

describe("the simulated plugin's connect", () => {
  it("retries a failed initialize and opens no stream until one is answered", () => {
    const host = new FakeHost();
    const p = plugin(host);
    p.start();
    host.runUntil(5_000);
    expect(host.opened).toEqual([]);
    expect(host.requests.filter((r) => r === "/v1/initialize").length).toBeGreaterThan(2);
    host.brokerUp = true;
    host.runUntil(10_000);
    expect(host.opened).toHaveLength(1);
    expect(p.serverReceipts).toBe(true);
  });

  it("acks the pushes on the stream it opened once the broker came back", () => {
    const host = new FakeHost();
    const p = plugin(host);
    p.start();
    host.runUntil(3_000);
    host.brokerUp = true;
    host.runUntil(10_000);
    p.onPush(p.channel!, {
      event: "message_received",
      from: "agent://peer",
      content: "hi",
      contentType: "text",
      metadata: {},
      push_id: "push_1",
    } as never);
    host.runUntil(11_000);
    expect(host.sent).toContain(JSON.stringify({ event: "push_ack", push_id: "push_1" }));
  });
});

describe("the simulated plugin registers only on an open stream", () => {
  it("sends no register until its new stream is open, then registers every endpoint", () => {
    const host = new FakeHost();
    host.brokerUp = true;
    host.autoOpen = false;
    const p = plugin(host);
    p.start();
    host.runUntil(1_000);
    expect(host.opened).toHaveLength(1);
    expect(host.requests).toEqual(["/v1/initialize"]);
    host.open(p.channel!);
    host.runUntil(2_000);
    expect(host.requests).toEqual(["/v1/initialize", "/v1/endpoint/register"]);
  });

  it("reattaches after a planned reconnect only once the new stream is open", () => {
    const host = new FakeHost();
    host.brokerUp = true;
    const p = plugin(host);
    p.start();
    host.runUntil(1_000);
    expect(p.endpoints[0]!.endpointId).toBeDefined();
    host.autoOpen = false;
    expect(p.dropChannel(100, "reattach")).toBe(true);
    host.runUntil(2_000);
    const reattach = (r: string) => r.endsWith("/reattach");
    expect(host.opened).toHaveLength(2);
    expect(host.requests.filter(reattach)).toEqual([]);
    host.open(p.channel!);
    host.runUntil(3_000);
    expect(host.requests.filter(reattach)).toHaveLength(1);
  });

  it("runs nothing for a stream that closed before it opened", () => {
    const host = new FakeHost();
    host.brokerUp = true;
    host.autoOpen = false;
    const p = plugin(host);
    p.start();
    host.runUntil(1_000);
    const first = p.channel!;
    p.onChannelClosed(first);
    host.runUntil(2_000);
    host.open(first);
    host.runUntil(3_000);
    expect(host.requests).toEqual(["/v1/initialize"]);
    host.open(p.channel!);
    host.runUntil(4_000);
    expect(host.requests).toEqual(["/v1/initialize", "/v1/endpoint/register"]);
  });
});
