/**
 * The platform client's default transport: `node:http`/`node:https` with a keep-alive agent, in a
 * fetch-shaped call. The global `fetch` (undici, web streams, one abort signal tree per request)
 * was the largest cost of the daemon's delivery path after the disk (bench/); the plain client on
 * a kept-alive socket does the same request for about a third of the CPU.
 *
 * Contract kept from `fetch`: resolves with the status and the body text for every HTTP answer,
 * rejects on network errors and when `signal` aborts (error named `AbortError`). A request that
 * fails on a kept-alive socket the server had already closed is sent once more on a fresh one, as
 * the Node documentation recommends (`reusedSocket`): nothing reached the server the first time.
 */

import http from "node:http";
import https from "node:https";

export interface TransportInit {
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal;
}

export interface TransportAnswer {
  status: number;
  text(): Promise<string>;
}

export type Transport = (url: string, init: TransportInit) => Promise<TransportAnswer>;

export class KeepAliveTransport {
  private readonly agents = {
    http: new http.Agent({ keepAlive: true }),
    https: new https.Agent({ keepAlive: true }),
  };

  readonly fetch: Transport = (url, init) => this.send(new URL(url), init, true);

  /** Close every pooled socket (the daemon is going away). */
  destroy(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private send(url: URL, init: TransportInit, mayRetry: boolean): Promise<TransportAnswer> {
    const secure = url.protocol === "https:";
    const headers = { ...init.headers };
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(
        url,
        {
          method: init.method,
          headers,
          agent: secure ? this.agents.https : this.agents.http,
          signal: init.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            resolve({ status: res.statusCode ?? 0, text: async () => text });
          });
        },
      );
      req.on("error", (err: NodeJS.ErrnoException) => {
        if (mayRetry && req.reusedSocket && err.code === "ECONNRESET" && !init.signal.aborted) {
          this.send(url, init, false).then(resolve, reject);
          return;
        }
        reject(err);
      });
      req.end(init.body);
    });
  }
}
