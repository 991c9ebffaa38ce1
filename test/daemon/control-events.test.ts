import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ControlEventStream } from "../../src/daemon/control-events.ts";
import { SseParser } from "../../src/daemon/sse-parser.ts";

describe("the SSE parser", () => {
  it("parses ids, event names, multi-line data and comments", () => {
    const p = new SseParser();
    const evs = p.push(': hello\nid: 1\nevent: control\ndata: {"a":\ndata: 1}\n\nid: 2\ndata:x\n\n');
    expect(evs).toEqual([
      { event: "control", data: '{"a":\n1}', lastEventId: "1" },
      { event: "message", data: "x", lastEventId: "2" },
    ]);
  });

  it("dispatches nothing for a block without data", () => {
    const p = new SseParser();
    expect(p.push("id: 9\n\n")).toEqual([]);
    expect(p.lastEventId).toBe("9");
  });

  it("drops a line longer than its limit but keeps parsing after it", () => {
    const p = new SseParser(16);
    const evs = p.push(`data: ${"x".repeat(100)}\n\ndata: ok\n\n`);
    expect(evs.map((e) => e.data)).toEqual(["ok"]);
  });

  it("yields the same events however the stream is split into chunks and whatever line ends it uses", () => {
    const eventArb = fc.record({
      id: fc.option(fc.stringMatching(/^[a-z0-9]{1,6}$/), { nil: undefined }),
      data: fc.array(fc.stringMatching(/^[a-z0-9 {}":,]{0,12}$/), { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 8 }),
        fc.constantFrom("\n", "\r\n", "\r"),
        fc.array(fc.nat(), { maxLength: 10 }),
        (events, eol, cuts) => {
          const text = events
            .map(
              (e) =>
                `${e.id ? `id: ${e.id}${eol}` : ""}${e.data.map((d) => `data: ${d}${eol}`).join("")}${eol}`,
            )
            .join("");
          const whole = new SseParser().push(text);
          const p = new SseParser();
          const split: ReturnType<SseParser["push"]> = [];
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          let at = 0;
          for (const c of [...points, text.length]) {
            split.push(...p.push(text.slice(at, c)));
            at = c;
          }
          expect(split).toEqual(whole);
          expect(whole.map((e) => e.data)).toEqual(events.map((e) => e.data.join("\n")));
        },
      ),
      { numRuns: 300 },
    );
  });
});

/** A platform that serves the control-event stream: one batch of frames per subscription. */
async function sseServer(batches: string[][]) {
  const seen: Array<{ url: string; lastEventId: string | undefined; auth: string | undefined }> = [];
  const open: ServerResponse[] = [];
  const server = createServer((req, res) => {
    seen.push({
      url: req.url!,
      lastEventId: req.headers["last-event-id"] as string | undefined,
      auth: req.headers.authorization,
    });
    const batch = batches.shift();
    if (!batch) {
      res.writeHead(503).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    for (const frame of batch) res.write(frame);
    // Ending the response makes the client reconnect with Last-Event-ID.
    res.end();
    open.push(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("the control-event stream", () => {
  it("feeds JSON events in order, skips non-JSON, and resumes with Last-Event-ID after a reconnect", async () => {
    const srv = await sseServer([
      ['id: e1\ndata: {"type":"dispatch_nudge","idempotency_key":"k1"}\n\n', "id: e2\ndata: not json\n\n"],
      ['id: e3\ndata: {"type":"force_unregister","idempotency_key":"k3"}\n\n'],
    ]);
    const got: unknown[] = [];
    const stream = new ControlEventStream({
      baseUrl: srv.url,
      agentId: "agent 7",
      token: "tok",
      onEvent: (e) => got.push(e),
      backoffInitialMs: 5,
      backoffMaxMs: 20,
    });
    stream.start();
    await until(() => got.length === 2, "two events");
    await stream.stop();
    await srv.close();
    expect(got).toEqual([
      { type: "dispatch_nudge", idempotency_key: "k1" },
      { type: "force_unregister", idempotency_key: "k3" },
    ]);
    expect(stream.stats.invalid).toBe(1);
    expect(srv.seen[0]).toEqual({
      url: "/v1/runtime/control-events?agent_id=agent%207",
      lastEventId: undefined,
      auth: "Bearer tok",
    });
    expect(srv.seen[1]!.lastEventId).toBe("e2");
  });

  it("keeps retrying while the platform refuses the subscription and stops cleanly", async () => {
    const srv = await sseServer([]);
    const stream = new ControlEventStream({
      baseUrl: srv.url,
      agentId: "a",
      onEvent: () => {},
      backoffInitialMs: 1,
      backoffMaxMs: 4,
    });
    stream.start();
    await until(() => srv.seen.length >= 4, "four subscription attempts");
    await stream.stop();
    // A request aborted by stop() may already be on the wire and reach the server just after;
    // let it land, then no further attempt may follow.
    await new Promise((r) => setTimeout(r, 30));
    const attempts = srv.seen.length;
    await new Promise((r) => setTimeout(r, 60));
    expect(srv.seen.length).toBe(attempts);
    expect(stream.stats.connected).toBe(0);
    await srv.close();
  });
});
