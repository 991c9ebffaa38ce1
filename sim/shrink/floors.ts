/**
 * Fairness floors: how far the shrinker may shorten a run's timing before a correct broker could
 * fail too. A shrunk repro must still show the bug, not an unfair world; so every timing edit stays
 * at or above the floor derived from the protocol's constants (PROTOCOL §6, `BrokerOptions`):
 *
 * - `graceMs` ≥ one full reconnect of a plugin-side connection: the reconnect backoff ceiling with
 *   its largest jitter plus the REGISTER_ACK wait. A grace shorter than that closes endpoints a
 *   correct broker is still entitled to keep.
 * - `acceptanceTimeoutMs` ≥ the push receipt timeout: the protocol gives a plugin that long to
 *   answer a push, so an acceptance window below it times out plugins that are on time.
 * - `inboxCapacity` ≥ the number of workload items the run sends: a correct broker with no endpoint
 *   that takes work (the shrinker may leave every plugin out) holds every message in its inbox, and
 *   one it has no room for can never be accepted, so a smaller inbox fails cursor progress (L1)
 *   with no bug at all.
 * - the liveness budget ≥ a correct broker's worst-case convergence after the heal: reconnect
 *   (backoff ceiling with jitter, then REGISTER_ACK), then the slowest outstanding retry (an
 *   acceptance timeout plus a push receipt, the gap-fill, emitter and reply_emitted backoff ceilings,
 *   a SEND_ACK wait), plus the checkers' slack; and never below grace plus the slack on both sides,
 *   which is what grace closure (L4) needs.
 *
 * With a fairness oracle (`ORACLE_LIVENESS_FLOORS`), the inbox-capacity floor gives way to the
 * oracle's verdict; the timing floors stay.
 *
 * The floors guard liveness invariants only: a safety invariant must hold at every moment under
 * any timing a broker can be configured with, so for a safety violation judged at the end of the
 * run the shrinker may go down to the runner's own minimum (1 s timeouts, a liveness phase of
 * grace plus its slack), as `Floors.forSafety` says.
 */

import type { BrokerOptions } from "../../src/broker/options.ts";
import { GRACE_SLACK_MS } from "../checkers/liveness/l4-grace-closure.ts";
import type { ShrinkableOption } from "./setup.ts";

/** The longest a correct broker may take to reconnect and be registered again. */
export function reconnectWorstMs(o: BrokerOptions): number {
  return Math.ceil(o.reconnectMaxMs * (1 + o.reconnectJitterRatio)) + o.registerAckTimeoutMs;
}

/** How low the shrinker may take each timing edit. */
export interface Floors {
  /** `sent`: the workload items the run sends. */
  option(k: ShrinkableOption, o: BrokerOptions, sent: number): number;
  livenessBudgetMs(o: BrokerOptions): number;
}

/** For a liveness violation: a correct broker must still converge (see the header). */
export const LIVENESS_FLOORS: Floors = { option: optionFloor, livenessBudgetMs: livenessFloorMs };

/**
 * For a liveness violation shrunk with a fairness oracle: the timing floors stand, but the inbox may
 * hold fewer messages than the run sends. Whether a correct broker still drains that inbox depends
 * on the endpoints left to take work, which the oracle answers by running it (the shrinker judges
 * every candidate that changes the capacity, whatever its size).
 */
export const ORACLE_LIVENESS_FLOORS: Floors = {
  option: (k, o, sent) => (k === "inboxCapacity" ? 1 : optionFloor(k, o, sent)),
  livenessBudgetMs: livenessFloorMs,
};

/** For a safety violation judged at the end of the run: the runner's own minimum. */
export const SAFETY_FLOORS: Floors = {
  option: (k) => (k === "inboxCapacity" ? 1 : 1_000),
  livenessBudgetMs: (o) => o.graceMs + 2 * GRACE_SLACK_MS,
};

/**
 * The lowest value the shrinker may give a broker option for a liveness violation of a run that
 * sends `sent` workload items.
 */
export function optionFloor(k: ShrinkableOption, o: BrokerOptions, sent = 0): number {
  switch (k) {
    case "graceMs":
      return reconnectWorstMs(o);
    case "acceptanceTimeoutMs":
      return o.pushReceiptTimeoutMs;
    case "inboxCapacity":
      return Math.max(1, sent);
  }
}

/** The shortest liveness budget in which a correct broker with options `o` converges. */
export function livenessFloorMs(o: BrokerOptions): number {
  const slowestRetry = Math.max(
    o.acceptanceTimeoutMs + o.pushReceiptTimeoutMs,
    o.gapFillRetryMaxMs,
    o.emitterBackoffMaxMs,
    o.replyEmittedRetryMaxMs,
    o.sendAckTimeoutMs,
  );
  return Math.max(o.graceMs + 2 * GRACE_SLACK_MS, reconnectWorstMs(o) + slowestRetry + 2 * GRACE_SLACK_MS);
}
