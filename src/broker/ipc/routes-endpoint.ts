/**
 * Endpoint routes (PROTOCOL §3.2): register, heartbeat, reattach, unregister.
 *
 * Reattach theory of operation: bind the endpoint to the pid's current channel, cancel grace, mark
 * it active (new inbound traffic goes to it from now on), then push every buffered record in file
 * order, one at a time, each with a receipt when the channel offers one. Appends still in flight
 * are waited for, so nothing confirmed to the cursor is deleted unseen. The first failure applies
 * `ipc_close` (the plugin is taken to be alive: its channel was open a moment ago; a real close
 * already applied the probed liveness) and answers 503 with the buffer kept. Success deletes the
 * buffer and emits `active`/`reattach`.
 */

import type { RegisterArgs } from "../api.ts";
import type { BackgroundExchangeMode, EndpointEntry } from "../model.ts";
import type { BufferRecord } from "../types.ts";
import { type IpcContext, normaliseRuntimeSessionId, reqPid, requireEntry } from "./context.ts";
import { guardReply, replyCont } from "./dispatch.ts";
import { asObject, BrokerHttpError, optString, type Reply, type Route } from "./http.ts";

const REMOTE_SPAWN = "remote_spawn_v1";

export function endpointRoutes(ctx: IpcContext): Route[] {
  return [
    {
      method: "POST",
      pattern: "/v1/endpoint/register",
      handler: (req, reply) => register(ctx, req.body, reply),
    },
    {
      method: "POST",
      pattern: "/v1/endpoint/:id/heartbeat",
      handler: (req, reply) => {
        const id = req.params.id!;
        requireEntry(ctx, id, "endpoint_unknown");
        ctx.env.api(
          "heartbeat",
          { endpoint_id: id },
          replyCont(ctx.env, reply, (r) => {
            if (!r.ok) throw new Error(`heartbeat failed: ${r.status ?? "network"} ${r.detail ?? ""}`.trim());
            reply.ok({ ok: true });
          }),
        );
      },
    },
    {
      method: "POST",
      pattern: "/v1/endpoint/:id/reattach",
      handler: (req, reply) => reattach(ctx, req.params.id!, req.body, reply),
    },
    {
      method: "DELETE",
      pattern: "/v1/endpoint/:id",
      handler: (req, reply) => {
        const id = req.params.id!;
        if (ctx.registry.get(id)) ctx.lifecycle.apply(id, { type: "explicit_unregister" });
        reply.ok({ ok: true });
      },
    },
  ];
}

function register(ctx: IpcContext, rawBody: unknown, reply: Reply): void {
  const { env, channels } = ctx;
  const body = asObject(rawBody);
  const pid = reqPid(body);
  const kind = optString(body, "kind");
  if (kind === undefined || kind.length === 0)
    throw new BrokerHttpError(400, "bad_request", "kind is required");
  const agentId = optString(body, "agent_id");
  // The wire name is `runtime_capabilities` (published SDK); `capabilities` is accepted as an alias.
  const capabilities = [
    ...new Set([
      ...stringList(body.runtime_capabilities, "runtime_capabilities"),
      ...stringList(body.capabilities, "capabilities"),
    ]),
  ].filter((c) => c !== REMOTE_SPAWN);
  const workspace = normaliseWorkspace(body.workspace);
  const runtimeSessionId = normaliseRuntimeSessionId(body.runtime_session_id);
  const mode = backgroundMode(body.background_exchange_mode);
  // `execution_surface` is the published SDK's field; `headless: true` is our older spelling of
  // `execution_surface: "headless"` and still accepted.
  const headlessFlag = body.headless;
  if (headlessFlag !== undefined && headlessFlag !== null && typeof headlessFlag !== "boolean") {
    throw new BrokerHttpError(400, "bad_request", "headless must be a boolean");
  }
  const executionSurface = displayString(body, "execution_surface", 64);
  const headless = headlessFlag === true || executionSurface === "headless";
  const sessionName = displayString(body, "session_name", 512);
  const trackingRef = displayString(body, "tracking_ref", 512);
  const taskHint = displayString(body, "task_hint", 2048);
  if (channels.channelOf(pid) === undefined) {
    throw new BrokerHttpError(400, "ipc_channel_missing", `no open stream for pid ${pid}`);
  }
  const nonce = env.random.uuid();
  const args: RegisterArgs = {
    nonce,
    plugin_pid: pid,
    kind,
    capabilities,
    display_label: displayLabel(kind, pid, workspace, trackingRef),
  };
  if (sessionName !== undefined) args.session_name = sessionName;
  if (trackingRef !== undefined) args.tracking_ref = trackingRef;
  if (taskHint !== undefined) args.task_hint = taskHint;
  if (executionSurface !== undefined) args.execution_surface = executionSurface;
  if (agentId !== undefined) args.agent_id = agentId;
  if (workspace) args.workspace = workspace;
  if (runtimeSessionId !== undefined) args.runtime_session_id = runtimeSessionId;
  if (mode !== undefined) args.background_exchange_mode = mode;
  env.api(
    "register",
    args,
    replyCont(env, reply, (r) => {
      if (!r.ok) throw new Error(`register failed: ${r.status ?? "network"} ${r.detail ?? ""}`.trim());
      if (typeof r.endpoint_id !== "string" || r.endpoint_id.length === 0) {
        throw new Error("register response without endpoint_id");
      }
      // Bind to the pid's channel as it is now: the one at request time may have been replaced.
      const channel = channels.channelOf(pid);
      if (channel === undefined) {
        env.api("unregister", { endpoint_id: r.endpoint_id });
        throw new BrokerHttpError(
          400,
          "ipc_channel_missing",
          `the stream of pid ${pid} closed during register`,
        );
      }
      const entry: Omit<EndpointEntry, "order"> = {
        endpointId: r.endpoint_id,
        nonce,
        ownerToken: env.random.uuid(),
        pluginPid: pid,
        kind,
        channel,
        state: "active",
        stateSinceMs: env.nowMs,
        capabilities,
        headless,
      };
      if (agentId !== undefined) entry.agentId = agentId;
      if (runtimeSessionId !== undefined) entry.runtimeSessionId = runtimeSessionId;
      if (mode !== undefined) entry.backgroundExchangeMode = mode;
      ctx.lifecycle.registered(entry, r.heartbeat_after_seconds);
      const out: Record<string, unknown> = {
        endpoint_id: r.endpoint_id,
        endpoint_owner_token: entry.ownerToken,
      };
      if (r.session_naming !== undefined) out.session_naming = r.session_naming;
      reply.ok(out);
    }),
  );
}

function reattach(ctx: IpcContext, id: string, rawBody: unknown, reply: Reply): void {
  const { env, channels, buffers, lifecycle } = ctx;
  const body = asObject(rawBody);
  const pid = reqPid(body);
  const channel = channels.channelOf(pid);
  if (channel === undefined)
    throw new BrokerHttpError(400, "ipc_channel_missing", `no open stream for pid ${pid}`);
  const entry = requireEntry(ctx, id, "endpoint_unknown");
  if (entry.pluginPid !== pid)
    throw new BrokerHttpError(403, "reattach_pid_mismatch", "plugin_pid does not own this endpoint");
  if (entry.state !== "reconnecting") {
    throw new BrokerHttpError(409, "endpoint_not_reconnecting", `endpoint ${id} is ${entry.state}`);
  }
  lifecycle.beginReattach(entry, channel);
  const pushed = new Set<string>();
  let count = 0;
  // A closing endpoint is not ours even while still registered: its close deletes the buffer,
  // which wakes a drain waiting for appends before the entry is removed.
  const live = () => ctx.registry.get(id) === entry && entry.state === "active" && !lifecycle.closing(entry);
  const stillOurs = () => live() && entry.channel === channel;
  const fail = (why: string) => {
    env.log("warn", "reconnecting_buffer_drain_failed", { endpoint_id: id, why, pushed: count });
    if (live()) {
      lifecycle.apply(id, { type: "ipc_close", pluginAlive: true });
    }
    reply.fail(503, "reconnecting_buffer_drain_failed", `buffer drain failed: ${why}`, { retryable: true });
  };
  const next = (): void => {
    if (!stillOurs()) {
      fail("endpoint_changed");
      return;
    }
    const record: BufferRecord | undefined = buffers.records(id).find((r) => !pushed.has(r.id));
    if (!record) {
      if (buffers.inflight(id) > 0) {
        buffers.whenSettled(id, () => guardReply(env, reply, next));
        return;
      }
      lifecycle.reattached(entry);
      reply.ok({ restored: true, reconnecting_buffer_count: count });
      return;
    }
    pushed.add(record.id);
    channels.pushMessage(
      channel,
      record.envelope,
      replyCont(env, reply, (ok: boolean) => {
        if (!ok) return fail("push_not_received");
        buffers.delivered(id, record.id);
        count++;
        next();
      }),
    );
  };
  next();
}

function stringList(v: unknown, key: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new BrokerHttpError(400, "bad_request", `${key} must be an array of strings`);
  }
  return [...new Set(v as string[])];
}

function backgroundMode(v: unknown): BackgroundExchangeMode | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === "resident_endpoint" || v === "adapter_managed_turn") return v;
  throw new BrokerHttpError(400, "bad_request", "background_exchange_mode is invalid");
}

function normaliseWorkspace(v: unknown): RegisterArgs["workspace"] {
  if (v === undefined || v === null) return undefined;
  const invalid = () => new BrokerHttpError(422, "invalid_request", "workspace is invalid");
  if (typeof v === "string") {
    if (v.length === 0) throw invalid();
    return { root: v, cwd: v };
  }
  if (typeof v !== "object" || Array.isArray(v)) throw invalid();
  const o = v as Record<string, unknown>;
  const str = (k: string, required: boolean): string | undefined => {
    const x = o[k];
    if (x === undefined || x === null) {
      if (required) throw invalid();
      return undefined;
    }
    if (typeof x !== "string" || (required && x.length === 0)) throw invalid();
    return x;
  };
  const ws: NonNullable<RegisterArgs["workspace"]> = { root: str("root", true)!, cwd: str("cwd", true)! };
  const remote = str("remote", false);
  const branch = str("branch", false);
  if (remote !== undefined) ws.remote = remote;
  if (branch !== undefined) ws.branch = branch;
  return ws;
}

/** `kind · basename(root) · tracking_ref` as the published broker derives it (branch when no ref). */
function displayLabel(
  kind: string,
  pid: number,
  ws: RegisterArgs["workspace"],
  trackingRef: string | undefined,
): string {
  if (!ws && trackingRef === undefined) return `${kind}-${String(pid).slice(-4)}`;
  const base = ws
    ? ws.root
        .replace(/[/\\]+$/, "")
        .split(/[/\\]/)
        .pop() || ws.root
    : undefined;
  return [kind, base, trackingRef ?? ws?.branch]
    .map((p) => p?.trim())
    .filter((p) => p !== undefined && p.length > 0)
    .join(" · ");
}

/** An optional display string: absent/null ⇒ undefined; not a string or over `max` ⇒ 400. */
function displayString(body: Record<string, unknown>, key: string, max: number): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length > max) {
    throw new BrokerHttpError(400, "bad_request", `${key} must be a string of at most ${max} characters`);
  }
  return v;
}
