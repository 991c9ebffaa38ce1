/**
 * A bench plugin: the IPC side of one plugin process over real loopback sockets, for our daemon
 * and the reference daemon alike (same IPC contract, PROTOCOL §3). It opens `/v1/stream` with push
 * receipts, acks every push at once (as the shipped SDK does, before handing the frame on), counts
 * the `message_received` frames and notes when each source message id arrived.
 */

import WebSocket from "ws";

export class BenchPlugin {
  received = 0;
  /** sourceMessageId → arrival time (performance.now()), only while `track` is on. */
  readonly arrivals = new Map<string, number>();
  track = false;
  /** Called with each `message_received`'s source message id and arrival time. */
  onArrival: ((sourceMessageId: string, atMs: number) => void) | undefined;
  private ws: WebSocket | undefined;

  constructor(
    readonly ipcUrl: string,
    readonly token: string,
    readonly pid = process.pid,
  ) {}

  openStream(): Promise<void> {
    const ws = new WebSocket(`${this.ipcUrl.replace(/^http/, "ws")}/v1/stream`, {
      perMessageDeflate: false,
      headers: {
        authorization: `Bearer ${this.token}`,
        "x-plugin-pid": String(this.pid),
        "x-masons-ipc-capabilities": "push_receipt_ack_v1",
      },
    });
    this.ws = ws;
    ws.on("message", (data) => {
      const f = JSON.parse(data.toString()) as { event?: string; push_id?: string; sourceMessageId?: string };
      if (typeof f.push_id === "string") ws.send(`{"event":"push_ack","push_id":"${f.push_id}"}`);
      if (f.event !== "message_received") return;
      this.received++;
      if (f.sourceMessageId === undefined) return;
      if (this.track) this.arrivals.set(f.sourceMessageId, performance.now());
      this.onArrival?.(f.sourceMessageId, performance.now());
    });
    ws.on("error", () => {});
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
  }

  /** Register a foreground endpoint; returns its id. */
  async register(): Promise<string> {
    const res = await fetch(`${this.ipcUrl}/v1/endpoint/register`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${this.token}`,
        "x-plugin-pid": String(this.pid),
        "content-type": "application/json",
      },
      body: JSON.stringify({ plugin_pid: this.pid, kind: "claude" }),
    });
    const body = (await res.json()) as { endpoint_id?: string };
    if (res.status !== 200 || typeof body.endpoint_id !== "string")
      throw new Error(`bench plugin: register answered ${res.status} ${JSON.stringify(body)}`);
    return body.endpoint_id;
  }

  close(): void {
    this.ws?.terminate();
  }
}
