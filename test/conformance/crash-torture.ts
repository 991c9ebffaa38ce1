/**
 * Crash torture of a real daemon (ours by default): the stub connector streams messages to a published-SDK plugin
 * while the daemon is SIGKILLed at moments drawn from a seed and restarted (drop-in start, as a
 * plugin host does). Used by `scripts/crash-torture.ts` (long) and crash-torture.test.ts (short).
 *
 * Theory of operation:
 * 1. The seed fixes the schedule: per life, the uptime before the kill, the messages appended
 *    while it is up (count and spacing), the downtime and the messages appended while it is down.
 *    Real time decides how those interleave with the daemon's own work; that is the point.
 * 2. The platform addresses each message to the plugin's current endpoint: the connector tap
 *    rewrites `target_endpoint_id` when the frame is sent, and withholds MESSAGE_RECEIVED frames
 *    while the SDK has not re-registered with the current daemon (a withheld message is a gap the
 *    daemon fills later with REQUEST_GAP_FILL).
 * 3. Checked: (lost) every message the connector saw acked reaches the plugin at least once —
 *    at each kill for what is acked so far, at the end for all; (cursor regressions) successive
 *    REGISTER.lastKnownSeq never decrease, acks on one socket never decrease, and no REGISTER
 *    claims more than the connector had seen acked (S2, S3); (pushed) every message appended is
 *    pushed at least once after the last restart has drained.
 */

import type { BrokerClient } from "@masons/runtime-broker";
import { ConformanceWorld, type Daemon, sleep, type Target, until } from "./world.ts";

export interface TortureOptions {
  seed: number;
  kills: number;
  /** Which daemon. Default `ours`. */
  target?: Target;
  /**
   * Uptime before a kill (from the SDK being back), drawn uniformly. Default [100, 1500] ms: long
   * enough on average for the backlog of a life to drain, so the torture makes progress.
   */
  upMs?: [number, number];
  /** Downtime after a kill. Default [0, 300] ms. */
  downMs?: [number, number];
  /** Messages appended per life while up / while down. Defaults [0, 12] / [0, 3]. */
  upMessages?: [number, number];
  downMessages?: [number, number];
  /** Longest wait for the final drain. Default 60 000 ms. */
  drainTimeoutMs?: number;
  log?: (line: string) => void;
  /** Log every life, not only every tenth. */
  verbose?: boolean;
  /** Called after every kill with the world (diagnostics). */
  afterKill?: (w: ConformanceWorld, life: number) => void;
}

export interface TortureReport {
  seed: number;
  kills: number;
  messages: number;
  pushes: number;
  duplicatePushes: number;
  lost: number;
  lostSeqs: number[];
  cursorRegressions: string[];
  neverPushed: number[];
  finalAckedSeq: number;
  wallMs: number;
}

/** A small seeded generator (mulberry32); the schedule must not depend on anything else. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Life {
  upMs: number;
  upMessages: number;
  downMs: number;
  downMessages: number;
}

/** The kill schedule of a seed: one entry per kill. Same seed ⇒ same schedule. */
export function schedule(o: TortureOptions): Life[] {
  const rnd = seeded(o.seed);
  const pick = ([lo, hi]: [number, number]) => lo + Math.floor(rnd() * (hi - lo + 1));
  const lives: Life[] = [];
  for (let i = 0; i < o.kills; i++) {
    lives.push({
      upMs: pick(o.upMs ?? [100, 1500]),
      upMessages: pick(o.upMessages ?? [0, 12]),
      downMs: pick(o.downMs ?? [0, 300]),
      downMessages: pick(o.downMessages ?? [0, 3]),
    });
  }
  return lives;
}

export async function runCrashTorture(o: TortureOptions): Promise<TortureReport> {
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const lives = schedule(o);
  const w = await new ConformanceWorld(o.target ?? "ours").listen();
  const pushed = new Map<string, number>();
  const lostAtKill = new Set<number>();
  let pushes = 0;
  let ready = false;
  let current = "";
  w.withhold = (f) => {
    if (f.event !== "MESSAGE_RECEIVED") return false;
    if (!ready) return true;
    f.metadata = { ...(f.metadata as Record<string, unknown>), target_endpoint_id: current };
    return false;
  };
  let client: BrokerClient | undefined;
  let original = "";
  const resolve = (id: string) =>
    (client as unknown as { resolveEndpointId(id: string): string }).resolveEndpointId(id);
  let appended = 0;
  const timing = { start: 0, sdk: 0 };
  const append = (tag: string) => {
    appended++;
    w.connector.append({ content: `${tag}-${appended}`, metadata: {} });
  };
  const checkAcked = () => {
    for (let s = 1; s <= w.connector.ackedSeq; s++) if (!pushed.has(`msg-${s}`)) lostAtKill.add(s);
  };

  /** Start a daemon and wait until the SDK works against it (registered anew). */
  const startLife = async (): Promise<Daemon> => {
    const before = client ? resolve(original) : "";
    const tStart = Date.now();
    const d = await w.startDaemon();
    const tUp = Date.now();
    if (!client) {
      client = await w.client();
      client.on("message_received", (m) => {
        pushes++;
        const id = m.sourceMessageId ?? "";
        pushed.set(id, (pushed.get(id) ?? 0) + 1);
      });
      original = (await client.registerEndpoint({ agentId: "agent-torture", kind: "claude" })).endpoint_id;
    } else {
      const c = client;
      await until(
        () => c.connectionState.phase === "connected" && resolve(original) !== before,
        "the SDK to re-register with the restarted daemon",
        30_000,
      );
    }
    current = resolve(original);
    ready = true;
    timing.start += tUp - tStart;
    timing.sdk += Date.now() - tUp;
    // Whatever was withheld while the SDK was away: DELIVERY_CURSOR shows the daemon the head, so
    // it asks for the gap at once instead of waiting for the next message.
    w.connector.sendRaw(JSON.stringify({ event: "DELIVERY_CURSOR", deliverySeq: w.connector.model.head }));
    return d;
  };

  try {
    for (let i = 0; i < lives.length; i++) {
      const life = lives[i]!;
      const d = await startLife();
      const gap = life.upMessages > 0 ? life.upMs / life.upMessages : life.upMs;
      const upUntil = Date.now() + life.upMs;
      for (let k = 0; k < life.upMessages; k++) {
        append(`up${i}`);
        await sleep(Math.max(0, Math.min(gap, upUntil - Date.now())));
      }
      await sleep(Math.max(0, upUntil - Date.now()));
      ready = false;
      await w.kill(d, "SIGKILL");
      checkAcked();
      o.afterKill?.(w, i + 1);
      for (let k = 0; k < life.downMessages; k++) append(`down${i}`);
      await sleep(life.downMs);
      if (o.verbose) {
        log(
          `life ${i + 1}: up ${life.upMs} ms, ${appended} appended, acked ${w.connector.ackedSeq}, ` +
            `gap fills ${w.sent("REQUEST_GAP_FILL").length}, registers ${JSON.stringify(w.connector.registers.slice(-1))}, ` +
            `frames to broker ${w.toBroker.length}`,
        );
      }
      if ((i + 1) % 10 === 0 || i === lives.length - 1) {
        log(
          `kill ${i + 1}/${lives.length}: ${appended} messages, acked ${w.connector.ackedSeq}, ` +
            `${pushes} pushes, ${lostAtKill.size} lost so far; daemon start ${timing.start} ms, ` +
            `SDK back ${timing.sdk} ms in total`,
        );
      }
    }
    // Last life: drain everything.
    await startLife();
    append("final");
    await until(
      () => w.connector.ackedSeq === w.connector.model.head && pushed.has(`msg-${w.connector.model.head}`),
      "the final drain",
      o.drainTimeoutMs ?? 60_000,
    );
    checkAcked();
  } catch (err) {
    w.keep = true;
    log(`torture failed; daemon logs and data kept in ${w.root}`);
    throw err;
  } finally {
    await w.close();
  }

  const neverPushed: number[] = [];
  for (let s = 1; s <= w.connector.model.head; s++) if (!pushed.has(`msg-${s}`)) neverPushed.push(s);
  const unique = [...pushed.keys()].filter((k) => k.startsWith("msg-")).length;
  return {
    seed: o.seed,
    kills: lives.length,
    messages: w.connector.model.head,
    pushes,
    duplicatePushes: pushes - unique,
    lost: lostAtKill.size,
    lostSeqs: [...lostAtKill].sort((a, b) => a - b),
    cursorRegressions: cursorRegressions(w),
    neverPushed,
    finalAckedSeq: w.connector.ackedSeq,
    wallMs: Date.now() - t0,
  };
}

/** S2/S3 on the wire: REGISTER.lastKnownSeq and per-socket DELIVERY_ACKs never go back. */
export function cursorRegressions(w: ConformanceWorld): string[] {
  const out: string[] = [];
  let lastRegister = -1;
  let maxAckSeen = 0;
  const perSocket = new Map<number, number>();
  for (const { socket, frame } of w.fromBroker) {
    if (frame.event === "REGISTER") {
      const l = typeof frame.lastKnownSeq === "number" ? frame.lastKnownSeq : 0;
      if (l < lastRegister) out.push(`REGISTER lastKnownSeq ${l} after ${lastRegister}`);
      if (l > maxAckSeen) out.push(`REGISTER lastKnownSeq ${l} above every ack sent (${maxAckSeen})`);
      lastRegister = Math.max(lastRegister, l);
    } else if (frame.event === "DELIVERY_ACK") {
      const u = frame.upToSeq as number;
      const prev = perSocket.get(socket) ?? -1;
      if (u < prev) out.push(`DELIVERY_ACK ${u} after ${prev} on socket ${socket}`);
      perSocket.set(socket, Math.max(prev, u));
      maxAckSeen = Math.max(maxAckSeen, u);
    }
  }
  return out;
}
