/**
 * The plugin side of the checkers' `View`: IPC channels, endpoints and their states, as the outside
 * world can know them from IPC requests, channel events, control events and the broker's answers
 * and projections. Everything here is derived from the wire: no target exposes its registry.
 *
 * Endpoint states follow PROTOCOL §1.4 from the outside: `register` answered 200 ⇒ active; the
 * channel closing with the plugin alive ⇒ reconnecting (dead ⇒ closed); a reattach ⇒ active again
 * (restored if the broker refuses it); a `DELETE`, a `force_unregister`, an `unregister` post or a
 * `closed` projection ⇒ closed.
 */

import type { BrokerOptions } from "../../src/broker/options.ts";
import type { Input, Output } from "../../src/broker/types.ts";
import type { ChannelInfo, EndpointModel, IpcRequestRecord } from "./view-types.ts";

export class PluginModel {
  readonly channels = new Map<number, ChannelInfo>();
  readonly currentChannel = new Map<number, number>();
  readonly endpoints = new Map<string, EndpointModel>();
  /** Endpoints the model closed during the current step, with the state they were in. */
  readonly closedInStep: Array<{ id: string; prevState: "active" | "reconnecting"; prevSinceT: number }> = [];
  readonly ipcRequests = new Map<number, IpcRequestRecord>();
  /** Reattach request id → when its endpoint became reconnecting (restored if the reattach fails). */
  private readonly reattachFrom = new Map<number, number>();
  /** Time of the event being observed. */
  t = 0;
  private options: BrokerOptions | undefined;

  reset(options: BrokerOptions): void {
    this.options = options;
    this.channels.clear();
    this.currentChannel.clear();
    this.endpoints.clear();
    this.ipcRequests.clear();
    this.reattachFrom.clear();
  }

  beginStep(): void {
    if (this.closedInStep.length > 0) this.closedInStep.length = 0;
  }

  /** Endpoints (model) bound to `channel` that are not closed. */
  endpointsOn(channel: number): EndpointModel[] {
    const out: EndpointModel[] = [];
    for (const e of this.endpoints.values()) if (e.channel === channel && e.state !== "closed") out.push(e);
    return out;
  }

  channelOpened(input: Extract<Input, { kind: "ipc_channel_open" }>): void {
    const prev = this.currentChannel.get(input.pid);
    if (prev !== undefined && prev !== input.channel) {
      const p = this.channels.get(prev);
      if (p?.open) {
        p.open = false;
        p.displaced = true;
      }
    }
    this.channels.set(input.channel, {
      pid: input.pid,
      receipts: input.capabilities.includes("push_receipt_ack_v1"),
      open: true,
      displaced: false,
    });
    this.currentChannel.set(input.pid, input.channel);
  }

  /** A plugin stream closed; returns whether it was displaced (its close changes nothing). */
  channelClosed(channel: number, pluginAlive: boolean): boolean {
    const ch = this.channels.get(channel);
    if (!ch) return true;
    const displaced = ch.displaced;
    ch.open = false;
    if (this.currentChannel.get(ch.pid) === channel) this.currentChannel.delete(ch.pid);
    if (displaced) return true;
    for (const e of this.endpoints.values()) {
      if (e.channel !== channel || e.state !== "active") continue;
      if (pluginAlive) {
        e.state = "reconnecting";
        e.sinceT = this.t;
      } else {
        this.closeEndpoint(e.id);
      }
    }
    return false;
  }

  controlEvent(event: unknown): void {
    const e = event as Record<string, unknown> | null;
    if (e && e.type === "force_unregister" && typeof e.endpoint_id === "string")
      this.closeEndpoint(e.endpoint_id);
  }

  ipcRequest(input: Extract<Input, { kind: "ipc_request" }>): IpcRequestRecord {
    const body = (typeof input.body === "object" && input.body !== null ? input.body : {}) as Record<
      string,
      unknown
    >;
    const path = input.path;
    const req: IpcRequestRecord = { id: input.id, method: input.method, path, body, t: this.t };
    this.ipcRequests.set(input.id, req);
    if (input.method === "DELETE" && path.startsWith("/v1/endpoint/")) {
      this.closeEndpoint(decodeURIComponent(path.slice("/v1/endpoint/".length)));
    } else if (input.method === "POST" && path.endsWith("/reattach")) {
      const id = reattachTarget(path);
      const e = this.endpoints.get(id);
      const pid = body.plugin_pid;
      const ch = typeof pid === "number" ? this.currentChannel.get(pid) : undefined;
      if (e && e.state === "reconnecting" && e.pid === pid && ch !== undefined) {
        this.reattachFrom.set(input.id, e.sinceT);
        e.state = "active";
        e.channel = ch;
        e.sinceT = this.t;
      }
    }
    return req;
  }

  /** The broker's answer to an IPC request; returns the request it answers. */
  ipcResponse(o: Extract<Output, { kind: "ipc_response" }>): IpcRequestRecord | undefined {
    const req = this.ipcRequests.get(o.id);
    if (!req) return undefined;
    this.ipcRequests.delete(o.id);
    if (o.status === 200 && req.path === "/v1/endpoint/register") this.registered(req, o.body);
    else if (o.status !== 200 && req.path.endsWith("/reattach")) {
      const e = this.endpoints.get(reattachTarget(req.path));
      const since = this.reattachFrom.get(o.id);
      // Only the request that made the endpoint active in this view is undone: a second reattach
      // in the same instant, refused because the first one already reattached it (409
      // `endpoint_not_reconnecting`), changed nothing.
      if (e && e.state === "active" && since !== undefined && e.sinceT === req.t) {
        // A refused reattach (unknown endpoint, pid mismatch, …) changed nothing: the endpoint
        // has been reconnecting since before the request and its grace still runs from then.
        // Only a failed drain (503) applies `ipc_close` again, which re-arms grace from now.
        e.state = "reconnecting";
        e.sinceT = o.status === 503 ? this.t : since;
      } else if (e && e.state === "active" && o.status === 503) {
        // A failed drain applies `ipc_close` (PROTOCOL §3.2 reattach) whichever reattach made the
        // endpoint active in this view: an older request's drain failing after a newer request
        // reattached it still makes the endpoint reconnecting, with grace armed from now.
        e.state = "reconnecting";
        e.sinceT = this.t;
      }
    }
    this.reattachFrom.delete(o.id);
    return req;
  }

  channelClosedByBroker(channel: number): void {
    const ch = this.channels.get(channel);
    if (ch) ch.open = false;
  }

  closeEndpoint(id: string): void {
    const e = this.endpoints.get(id);
    if (e && e.state !== "closed") {
      this.closedInStep.push({ id, prevState: e.state, prevSinceT: e.sinceT });
      e.state = "closed";
      e.sinceT = this.t;
    }
  }

  addToRing(metadata: Record<string, unknown> | undefined): void {
    const src = metadata?.source_endpoint_id;
    const corr = metadata?.correlation_id;
    if (typeof src !== "string" || typeof corr !== "string") return;
    const e = this.endpoints.get(src);
    if (!e || e.ringSet.has(corr)) return;
    e.ring.push(corr);
    e.ringSet.add(corr);
    const max = this.options?.correlationRingMax ?? 1024;
    while (e.ring.length > max) e.ringSet.delete(e.ring.shift()!);
  }

  private registered(req: IpcRequestRecord, body: unknown): void {
    const b = body as Record<string, unknown>;
    if (typeof b?.endpoint_id !== "string") return;
    const pid = typeof req.body.plugin_pid === "number" ? req.body.plugin_pid : 0;
    // The core's register reading: `runtime_capabilities` (SDK name) ∪ `capabilities` (alias);
    // headless ⇔ `execution_surface: "headless"` (SDK) or `headless: true` (alias).
    const list = (v: unknown) =>
      Array.isArray(v) ? v.filter((c): c is string => typeof c === "string") : [];
    const caps = [
      ...new Set([...list(req.body.runtime_capabilities), ...list(req.body.capabilities)]),
    ].filter((c) => c !== "remote_spawn_v1");
    this.endpoints.set(b.endpoint_id, {
      id: b.endpoint_id,
      pid,
      channel: this.currentChannel.get(pid),
      state: "active",
      sinceT: this.t,
      capabilities: caps,
      mode:
        typeof req.body.background_exchange_mode === "string" ? req.body.background_exchange_mode : undefined,
      headless: req.body.headless === true || req.body.execution_surface === "headless",
      ring: [],
      ringSet: new Set(),
    });
  }
}

function reattachTarget(path: string): string {
  return decodeURIComponent(path.slice("/v1/endpoint/".length, -"/reattach".length));
}
