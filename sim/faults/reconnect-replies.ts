/**
 * Replies from a reconnecting endpoint: when a live plugin's stream closes, the plugin sends again,
 * before it has reattached, assignment replies it sent earlier — the same request (same
 * `reply_request_id`, same content, the endpoint's old id and owner token). The published SDK
 * sends IPC calls whatever its stream's phase, so an adapter that repeats or retries a reply while
 * the SDK reconnects does exactly this. The broker then meets, for an endpoint that is
 * `reconnecting`, both a decided reply (answered 200, outcome unknown, refused by the connector:
 * the stored answer or 409 `endpoint_not_active`) and an undecided one (answered 409 or 503
 * `connector_unavailable` before: 409 `endpoint_not_active`, nothing may be sent, A22).
 *
 * Theory of operation:
 * 1. The module watches (fault hub observer) the plugins' reply requests and the broker's answers,
 *    keeping each plugin's last `keepPerPlugin` replies with their last answer.
 * 2. On the close of a live plugin's stream, with `probability`, it sends `resendMax` of those (at
 *    most), drawn at random, each after a delay uniform in [0, `withinMs`], as the plugin process
 *    (answers after a plugin crash are dropped). Only each assignment's newest key is resent, and
 *    fresh `reply_request_id`s are never made up: another key arriving after the reattach would be
 *    a second reply of the client's own doing.
 * 3. The plugin's own flow is untouched: the answers are recorded as fault firings only. Heal stops
 *    the resends.
 */

import type { Stream } from "../kernel/prng.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { Switch } from "./util.ts";

export type ReconnectRepliesOptions = {
  /** Probability that a live plugin's stream close is followed by resends. */
  probability: number;
  /** The most replies resent per close. */
  resendMax: number;
  /** Each resend comes uniformly within this many ms after the close. */
  withinMs: number;
  /** Replies remembered per plugin. */
  keepPerPlugin: number;
};

const REPLY_PATH = "/v1/runtime/assignment-reply";

interface SentReply {
  body: Record<string, unknown>;
  /** The last answer, as `status code` ("pending" until one came). */
  answer: string;
}

export const reconnectReplies: FaultModule<ReconnectRepliesOptions> & { name: "reconnect-replies" } = {
  name: "reconnect-replies",
  description: "Plugins resend earlier assignment replies while their endpoints are reconnecting.",
  defaults: { probability: 0.5, resendMax: 3, withinMs: 50, keepPerPlugin: 16 },
  swarm(s: Stream): ReconnectRepliesOptions {
    return {
      probability: round3(0.2 + s.float() * 0.8),
      resendMax: s.range(1, 5),
      withinMs: s.range(0, 300),
      keepPerPlugin: s.range(4, 32),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    const pidOfChannel = new Map<number, number>();
    const byRequest = new Map<number, SentReply>();
    const byPid = new Map<number, SentReply[]>();
    world.faultHub.addObserver((ev) => {
      if (sw.healed) return;
      if (ev.k === "in") {
        const input = ev.input;
        if (input.kind === "ipc_channel_open") pidOfChannel.set(input.channel, input.pid);
        else if (input.kind === "ipc_request" && input.method === "POST" && input.path === REPLY_PATH) {
          const body = input.body;
          const pid = Number(input.pidHeader);
          if (typeof body !== "object" || body === null || Array.isArray(body) || !world.plugins.has(pid))
            return;
          const b = body as Record<string, unknown>;
          const list = byPid.get(pid) ?? [];
          let sent = list.find((r) => r.body.reply_request_id === b.reply_request_id && same(r.body, b));
          if (sent === undefined) {
            sent = { body: b, answer: "pending" };
            list.push(sent);
            if (list.length > o.keepPerPlugin) list.shift();
            byPid.set(pid, list);
          }
          byRequest.set(input.id, sent);
        } else if (input.kind === "ipc_channel_closed" && input.pluginAlive) {
          const pid = pidOfChannel.get(input.channel);
          pidOfChannel.delete(input.channel);
          if (pid !== undefined) onClose(pid);
        }
        return;
      }
      if (ev.k === "out" && ev.output.kind === "ipc_response") {
        const sent = byRequest.get(ev.output.id);
        if (sent === undefined) return;
        byRequest.delete(ev.output.id);
        const code = (ev.output.body as { error?: unknown } | null)?.error;
        sent.answer = `${ev.output.status}${typeof code === "string" ? ` ${code}` : ""}`;
      }
    });

    function onClose(pid: number): void {
      // Only each assignment's newest key: after a client moved to a fresh key, resending the old
      // one would put a second reply on the wire by the client's own doing.
      const list = (byPid.get(pid) ?? []).filter((r, i, all) =>
        all.slice(i + 1).every((later) => later.body.assignment_id !== r.body.assignment_id),
      );
      if (list.length === 0 || !stream.chance(o.probability)) return;
      const n = Math.min(list.length, stream.range(1, Math.max(1, o.resendMax)));
      for (let i = 0; i < n; i++) {
        const sent = stream.pick(list);
        world.after(stream.range(0, Math.max(0, o.withinMs)), () => {
          if (sw.healed) return;
          const p = world.plugins.get(pid);
          if (p === undefined) return;
          const before = sent.answer;
          const ok = p.request("POST", REPLY_PATH, sent.body, (status, res) => {
            const code = typeof res.error === "string" ? ` ${res.error}` : "";
            world.faultHub.record("reconnect-replies", `answered_${status}`, `after ${before}:${code}`);
          });
          if (ok)
            world.faultHub.record(
              "reconnect-replies",
              before.startsWith("200") ? "decided" : "other",
              before,
            );
        });
      }
    }
    return sw;
  },
};

/** The same reply request (endpoint, assignment, key and content). */
function same(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return (
    a.endpoint_id === b.endpoint_id &&
    a.assignment_id === b.assignment_id &&
    a.source_message_id === b.source_message_id &&
    a.content === b.content
  );
}
