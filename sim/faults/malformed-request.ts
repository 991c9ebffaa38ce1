/**
 * Malformed requests: from time to time a live plugin process sends the broker a request no correct
 * broker may accept — the kinds a buggy or outdated client sends: an `initialize` with another major
 * protocol version or wrong types, a body that is not a JSON object, a route or method that does
 * not exist, a query string on a POST route, fields of the wrong type (`require_live`, `content`,
 * `state_sequence`, `plugin_pid`), an unknown processing state, an endpoint id the broker never
 * issued, a `/v1/dispatch` without its ids, metadata only the broker may set, or a processing state
 * for another process's endpoint. The plugin ignores the answers. X2 judges each request (a 4xx
 * with an error code and no effect), I2 the wrong-owner ones; every other checker goes on judging
 * that nothing the broker had accepted is lost meanwhile.
 */

import type { PluginModel } from "../actors/plugin.ts";
import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { periodic, Switch } from "./util.ts";

export type MalformedRequestOptions = {
  /** Mean time between two bad requests (across all plugins). */
  meanIntervalMs: number;
};

type Method = "GET" | "POST" | "DELETE";
type Bad = { method: Method; path: string; body: unknown };

/** The catalogue: each kind builds one bad request for plugin `p` (`other`: another live plugin). */
export const BAD_REQUESTS: Record<
  string,
  (p: PluginModel, s: Stream, other: PluginModel | undefined) => Bad
> = {
  "initialize-version": () => ({
    method: "POST",
    path: "/v1/initialize",
    body: { client_protocol_version: "2.0", client_kind: "sim-plugin", client_version: "1.0.0" },
  }),
  "initialize-types": (_p, s) => ({
    method: "POST",
    path: "/v1/initialize",
    body: s.chance(0.5)
      ? { client_protocol_version: 1.1, client_kind: "sim-plugin" }
      : { client_protocol_version: "1.1", client_kind: "" },
  }),
  "not-an-object": (p, s) => ({
    method: "POST",
    path: s.pick([
      "/v1/initialize",
      "/v1/endpoint/register",
      "/v1/send",
      "/v1/runtime/assignment-reply",
      "/v1/runtime/processing-state",
      "/v1/dispatch",
      `/v1/endpoint/${idOf(p, s)}/reattach`,
    ]),
    body: s.pick<unknown>(["not json", [1, 2], null, 7, true]),
  }),
  "unknown-route": () => ({ method: "POST", path: "/v1/runtime/nothing-here", body: {} }),
  "wrong-method": (_p, s) => ({
    method: "GET",
    path: s.pick(["/v1/send", "/v1/dispatch", "/v1/initialize"]),
    body: undefined,
  }),
  "query-on-post": (p, s) => ({ method: "POST", path: "/v1/send?debug=1", body: send(p, s, {}) }),
  "require-live-type": (p, s) => ({
    method: "POST",
    path: "/v1/send",
    body: send(p, s, { require_live: "yes" }),
  }),
  "content-type": (p, s) => ({ method: "POST", path: "/v1/send", body: send(p, s, { content: 42 }) }),
  "broker-metadata": (p, s) => ({
    method: "POST",
    path: "/v1/send",
    body: send(p, s, {
      metadata: s.chance(0.5) ? { correlation_id: "client-chosen" } : { target_endpoint_id: idOf(p, s) },
    }),
  }),
  "unknown-endpoint": (p, s) => {
    const id = `ep-never-issued-${s.hex(4)}`;
    const kind = s.pick(["send", "reply", "state", "heartbeat", "reattach"]);
    if (kind === "heartbeat") return { method: "POST", path: `/v1/endpoint/${id}/heartbeat`, body: {} };
    if (kind === "reattach")
      return { method: "POST", path: `/v1/endpoint/${id}/reattach`, body: { plugin_pid: p.pid } };
    if (kind === "send")
      return { method: "POST", path: "/v1/send", body: { ...send(p, s, {}), endpoint_id: id } };
    return {
      method: "POST",
      path: kind === "reply" ? "/v1/runtime/assignment-reply" : "/v1/runtime/processing-state",
      body: {
        ...assignmentBody(p, s, id),
        state: "processing_started",
        content: "x",
        reply_request_id: `rr-${s.hex(4)}`,
      },
    };
  },
  "unknown-state": (p, s) => ({
    method: "POST",
    path: "/v1/runtime/processing-state",
    body: { ...assignmentBody(p, s, idOf(p, s)), state: "half_done" },
  }),
  "state-sequence-type": (p, s) => ({
    method: "POST",
    path: "/v1/runtime/processing-state",
    body: {
      ...assignmentBody(p, s, idOf(p, s)),
      state: "processing_started",
      state_sequence: s.pick<unknown>(["7", -1, 1.5]),
    },
  }),
  "dispatch-incomplete": (p, s) => ({
    method: "POST",
    path: "/v1/dispatch",
    body: s.chance(0.5) ? { undispatched_id: `u-${s.hex(4)}` } : { target_endpoint_id: idOf(p, s) },
  }),
  "register-pid-type": (_p, s) => ({
    method: "POST",
    path: "/v1/endpoint/register",
    body: { plugin_pid: s.pick<unknown>(["1234", 0, -3, 2.5]), kind: "claude_code", agent_id: "agent-sim" },
  }),
  "wrong-owner": (p, s, other) => {
    const id = other !== undefined ? idOf(other, s) : idOf(p, s);
    return {
      method: "POST",
      path: "/v1/runtime/processing-state",
      body: {
        ...assignmentBody(p, s, id),
        state: "processing_started",
        endpoint_owner_token: "not-the-owner",
      },
    };
  },
};

export const BAD_REQUEST_KINDS = Object.keys(BAD_REQUESTS);

/** One of `p`'s endpoint ids (any it was issued), or a never-issued one if it has none yet. */
function idOf(p: PluginModel, s: Stream): string {
  const ids = p.endpoints.flatMap((e) => [...e.ids.keys()]);
  return ids.length > 0 ? s.pick(ids) : `ep-never-issued-${s.hex(4)}`;
}

function send(p: PluginModel, s: Stream, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    endpoint_id: idOf(p, s),
    plugin_pid: p.pid,
    to: "agent:someone",
    content: "hi",
    contentType: "text",
    ...extra,
  };
}

function assignmentBody(p: PluginModel, s: Stream, endpointId: string): Record<string, unknown> {
  return {
    endpoint_id: endpointId,
    plugin_pid: p.pid,
    endpoint_owner_token: p.endpoints.find((e) => e.ids.has(endpointId))?.ids.get(endpointId),
    assignment_id: `asg-bad-${s.hex(4)}`,
    source_message_id: `m-bad-${s.hex(4)}`,
    state_sequence: 5,
  };
}

export const malformedRequest: FaultModule<MalformedRequestOptions> & { name: "malformed-request" } = {
  name: "malformed-request",
  description:
    "Plugins send requests no correct broker may accept (bad bodies, types, routes, ids, versions).",
  defaults: { meanIntervalMs: 5_000 },
  swarm(s: Stream): MalformedRequestOptions {
    return { meanIntervalMs: s.range(200, 8_000) };
  },
  install(world, o, stream) {
    const sw = new Switch();
    periodic(world, stream, o.meanIntervalMs, sw, () => {
      const live = [...world.plugins.values()].filter((p) => p.alive);
      if (live.length === 0) return;
      const p = stream.pick(live);
      const others = live.filter((x) => x !== p);
      const other = others.length > 0 ? stream.pick(others) : undefined;
      const kind = stream.pick(BAD_REQUEST_KINDS);
      const bad = BAD_REQUESTS[kind]!(p, stream, other);
      if (p.request(bad.method, bad.path, bad.body))
        world.faultHub.record("malformed-request", kind, String(p.pid));
    });
    return sw;
  },
};
