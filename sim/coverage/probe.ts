/**
 * The coverage probe: raw counters of what happened in one run, for the coverage matrix. It reads
 * the core's own log-event counts (`env.logCounts`, summed over every broker incarnation), a few
 * log fields that tell cases apart (`why`, `trigger`), what the checkers' view saw on the wire and
 * at the IPC boundary, and the world's and the fault hub's counters.
 *
 * Theory of operation:
 * 1. The probe rides along as an observer in the world's checker list (it never reports a finding):
 *    on every `start` it takes the new target process so its log counts can be summed at the end.
 * 2. Counter keys are namespaced: `log:<event>` (core log events), `log:<event>:<why|trigger>`,
 *    `ipc:<status>:<error code>` (IPC responses), `sim:<name>` (derived by the probe or read from
 *    the world). `sim/coverage/events.ts` names the "sometimes" events in terms of these keys.
 * 3. Nothing here changes the run: no draws, no trace lines, no effect on any actor.
 */

import type { Target } from "../targets/target.ts";
import type { LogSink } from "../../src/broker/types.ts";
import type { CheckerDef } from "../checkers/checker.ts";
import type { World } from "../kernel/world.ts";
import { COVERAGE_EVENTS } from "./events.ts";

/** Log fields that split one event into cases worth covering separately. */
const CASE_FIELDS = ["why", "trigger", "reason"] as const;

/** A seq released this many times is a "poison" message (it keeps failing). */
export const POISON_RELEASES_MIN = 3;

export class CoverageProbe {
  private world: World | undefined;
  private readonly cores: Target[] = [];
  private readonly counts = new Map<string, number>();
  /** Per counter key, the world's event count when it was first bumped (fork points). */
  private readonly firstAt = new Map<string, number>();
  private readonly releases = new Map<unknown, number>();
  /** Largest seq any earlier broker process was sent (redelivery after a restart). */
  private seenBeforeCrash = 0;
  private seenThisProcess = 0;
  private readonly undispatchedSeen = new Map<string, string>();

  /** The observer to append to the world's checker list. */
  readonly checker: CheckerDef = {
    id: "coverage",
    kind: "safety",
    statement: "(coverage probe: counts events, never fails)",
    kinds: [
      "start",
      "crash",
      "in:control_event",
      "out:ipc_response",
      "out:api_call",
      "truth:server_sent",
      "truth:plugin_reply_abandoned",
      "truth:plugin_answer_choice",
    ],
    create: () => ({
      onEvent: (ev, v) => {
        switch (ev.k) {
          case "start": {
            const core = this.world?.broker;
            if (core) this.cores.push(core);
            if (ev.incarnation > 1) {
              this.mark("sim:broker_restarts");
              this.seenBeforeCrash = Math.max(this.seenBeforeCrash, this.seenThisProcess);
              this.seenThisProcess = 0;
            }
            return undefined;
          }
          case "crash":
            this.bump("sim:broker_crash");
            // The ack reached the wire but the cursor file is behind it: a restart redelivers.
            if (this.world && v.ackedOnOpen > this.world.storage.cursor)
              this.bump("sim:crash_between_ack_and_write");
            return undefined;
          case "truth":
            if (ev.fact.f === "server_sent") {
              if (ev.fact.seq <= this.seenBeforeCrash) this.bump("sim:redelivered_after_restart");
              if (ev.fact.seq > this.seenThisProcess) this.seenThisProcess = ev.fact.seq;
            } else if (ev.fact.f === "plugin_reply_abandoned") this.bump("sim:plugin_reply_abandoned");
            else if (ev.fact.f === "plugin_answer_choice") {
              this.bump(`sim:answer:${ev.fact.action}`);
              if (ev.fact.code === "connector_send_outcome_unknown")
                this.bump(`sim:answer:outcome_unknown:${ev.fact.action}`);
            }
            return undefined;
          case "in": {
            const i = ev.input;
            if (i.kind !== "control_event") return undefined;
            const e = i.event as Record<string, unknown> | null;
            if (e?.type !== "dispatch_undispatched") return undefined;
            const u = String(e.undispatched_id);
            const key = String(e.idempotency_key);
            const prev = this.undispatchedSeen.get(u);
            if (prev === key) this.bump("sim:dispatch_event_repeated");
            else if (prev !== undefined) this.bump("sim:redispatch");
            this.undispatchedSeen.set(u, key);
            const target = (e.target_ref as { projection_endpoint_id?: string } | undefined)
              ?.projection_endpoint_id;
            const state = target === undefined ? undefined : v.endpoints.get(target)?.state;
            if (state === "reconnecting") this.bump("sim:dispatch_to_reconnecting");
            else if (state === "closed") this.bump("sim:dispatch_to_closed");
            return undefined;
          }
          case "out": {
            const o = ev.output;
            if (o.kind === "ipc_response" && o.status >= 400) {
              const code = (o.body as { error?: unknown } | undefined)?.error;
              this.bump(`ipc:${o.status}:${typeof code === "string" ? code : "?"}`);
            } else if (o.kind === "api_call" && o.op === "transition_state" && o.args.state === "closed") {
              this.bump(`sim:endpoint_closed:${o.args.reason}`);
            }
            return undefined;
          }
          default:
            return undefined;
        }
      },
    }),
  };

  /** Forwards to `inner` and counts the log cases `logCounts` cannot tell apart. */
  sink(inner: LogSink | undefined): LogSink {
    return (level, event, fields) => {
      this.mark(`log:${event}`);
      if (fields !== undefined) {
        for (const f of CASE_FIELDS) {
          const c = fields[f];
          if (typeof c === "string") this.bump(`log:${event}:${c}`);
        }
        if (event === "delivery_seq_released") {
          const n = (this.releases.get(fields.seq) ?? 0) + 1;
          this.releases.set(fields.seq, n);
          if (n === POISON_RELEASES_MIN) this.bump("sim:poison_seq");
        }
      }
      inner?.(level, event, fields);
    };
  }

  attach(world: World): void {
    this.world = world;
  }

  /** Every counter of the run, the core's log counts summed over incarnations included. */
  result(): Map<string, number> {
    const out = new Map(this.counts);
    for (const core of this.cores) {
      for (const [event, n] of core.logCounts) out.set(`log:${event}`, (out.get(`log:${event}`) ?? 0) + n);
    }
    const w = this.world;
    if (w) {
      let acks = 0;
      let retries = 0;
      for (const p of w.plugins.values()) {
        acks += p.stats.acks;
        retries += p.stats.replyRetries;
      }
      put(out, "sim:plugin_push_acks", acks);
      put(out, "sim:plugin_reply_retries", retries);
      put(out, "sim:server_gap_fill_requests", w.server.gapFillRequests);
      put(out, "sim:broker_restarts", w.incarnation - 1);
      put(out, "sim:dispatcher_slow_retries", w.dispatcher.slowRetries);
      put(out, "sim:control_event_redeliveries", w.dispatcher.redelivered);
      for (const [k, n] of w.faultHub.fired) put(out, `fault:${k}`, n);
    }
    return out;
  }

  /**
   * Per catalogued coverage event, the world's event count when it first happened, for the events
   * whose counters the probe sees as they happen (core log events, probe-derived `sim:` and `ipc:`
   * counters); events counted only at the end of the run are absent.
   */
  firstAtEvents(): Map<string, number> {
    const out = new Map<string, number>();
    for (const ev of COVERAGE_EVENTS) {
      let at: number | undefined;
      for (const k of ev.keys) {
        const a = this.firstAt.get(k);
        if (a !== undefined && (at === undefined || a < at)) at = a;
      }
      if (at !== undefined) out.set(ev.name, at);
    }
    return out;
  }

  private bump(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    this.mark(key);
  }

  private mark(key: string): void {
    if (!this.firstAt.has(key)) this.firstAt.set(key, this.world?.events ?? 0);
  }
}

function put(m: Map<string, number>, key: string, n: number): void {
  if (n > 0) m.set(key, (m.get(key) ?? 0) + n);
}
