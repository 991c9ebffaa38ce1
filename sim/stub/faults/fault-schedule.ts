/**
 * The seeded fault schedule of the platform stub. Every decision is a pure function of the seed,
 * the decision's name and how many times that name was asked before ("the 7th MESSAGE_RECEIVED
 * frame: duplicate it?"), never of wall-clock time or of how decisions of other names interleave.
 * So the same seed and the same traffic give the same faults, run after run, and two runs can be
 * compared by their `injected` lists.
 */

import { deriveSeed } from "../../kernel/prng.ts";

/** Probabilities (0..1) and delays of the faults the stub injects. */
export interface StubFaultRates {
  /** A MESSAGE_RECEIVED frame is sent twice. Default 0.1. */
  duplicateMessageProbability: number;
  /** A MESSAGE_RECEIVED frame is held back and sent after the next one. Default 0.1. */
  reorderMessageProbability: number;
  /** Longest a held-back frame waits for a next one before it goes out anyway. Default 100 ms. */
  reorderHoldMs: number;
  /** A SEND_ACK is never sent. Default 0.1. */
  dropSendAckProbability: number;
  /** A SEND_ACK is sent `sendAckDelayMs` late. Default 0.1. */
  lateSendAckProbability: number;
  /** Delay of a late SEND_ACK. Default 2 000 ms. */
  sendAckDelayMs: number;
  /** A platform API request is answered 503 `unavailable` without being applied. Default 0.05. */
  apiErrorProbability: number;
  /** A platform API request is never answered; its socket is destroyed after `apiTimeoutMs`. Default 0.02. */
  apiTimeoutProbability: number;
  /** How long an unanswered request is held. Default 20 000 ms (longer than the daemon's 15 000 ms timeout). */
  apiTimeoutMs: number;
  /** After an appended inbound message, every connector socket is closed (1012 service restart). Default 0.05. */
  connectorRestartProbability: number;
}

export const DEFAULT_STUB_FAULT_RATES: StubFaultRates = {
  duplicateMessageProbability: 0.1,
  reorderMessageProbability: 0.1,
  reorderHoldMs: 100,
  dropSendAckProbability: 0.1,
  lateSendAckProbability: 0.1,
  sendAckDelayMs: 2_000,
  apiErrorProbability: 0.05,
  apiTimeoutProbability: 0.02,
  apiTimeoutMs: 20_000,
  connectorRestartProbability: 0.05,
};

/** No faults at all (the stub behaves like the plain platform model). */
export const NO_STUB_FAULTS: StubFaultRates = {
  ...DEFAULT_STUB_FAULT_RATES,
  duplicateMessageProbability: 0,
  reorderMessageProbability: 0,
  dropSendAckProbability: 0,
  lateSendAckProbability: 0,
  apiErrorProbability: 0,
  apiTimeoutProbability: 0,
  connectorRestartProbability: 0,
};

export type StubFaultKind =
  | "duplicate_message"
  | "reorder_message"
  | "drop_send_ack"
  | "late_send_ack"
  | "api_error"
  | "api_timeout"
  | "connector_restart";

/** One injected fault: which fault, the decision it answered (`name` and its 1-based `n`), on what. */
export interface InjectedFault {
  fault: StubFaultKind;
  name: string;
  n: number;
  /** What it hit: a seq, a message id or a route (`POST /v1/runtime-endpoints/:id/heartbeat`). */
  on: string;
}

/** Check rates: probabilities in 0..1, delays non-negative integers ms; throws a RangeError otherwise. */
export function resolveStubFaultRates(partial: Partial<StubFaultRates> = {}): StubFaultRates {
  const rates = { ...DEFAULT_STUB_FAULT_RATES, ...partial };
  for (const [key, value] of Object.entries(rates)) {
    if (!(key in DEFAULT_STUB_FAULT_RATES)) throw new RangeError(`unknown stub fault option "${key}"`);
    const ok = key.endsWith("Ms")
      ? Number.isSafeInteger(value) && value >= 0
      : typeof value === "number" && value >= 0 && value <= 1;
    if (!ok) {
      throw new RangeError(
        `stub fault option ${key} must be ${key.endsWith("Ms") ? "a non-negative integer (ms)" : "a probability in 0..1"}, got ${String(value)}`,
      );
    }
  }
  return rates;
}

export class StubFaultSchedule {
  /** Every fault injected so far, in order. */
  readonly injected: InjectedFault[] = [];
  readonly rates: StubFaultRates;
  private readonly asked = new Map<string, number>();

  constructor(
    readonly seed: number,
    rates: Partial<StubFaultRates> = {},
  ) {
    if (!Number.isSafeInteger(seed) || seed < 0 || seed > 0xffff_ffff)
      throw new RangeError(`stub fault seed must be a 32-bit unsigned integer, got ${seed}`);
    this.rates = resolveStubFaultRates(rates);
  }

  /**
   * Ask decision `name` once more: true with `probability`, drawn from (seed, name, n). When true
   * the fault is recorded as injected on `on`.
   */
  decide(name: string, fault: StubFaultKind, probability: number, on: string): boolean {
    const n = (this.asked.get(name) ?? 0) + 1;
    this.asked.set(name, n);
    if (probability <= 0) return false;
    const u = (deriveSeed(this.seed, `${name}#${n}`) >>> 0) / 0x1_0000_0000;
    if (u >= probability) return false;
    this.injected.push({ fault, name, n, on });
    return true;
  }

  /** Injected faults by kind. */
  counts(): Record<StubFaultKind, number> {
    const out: Record<StubFaultKind, number> = {
      duplicate_message: 0,
      reorder_message: 0,
      drop_send_ack: 0,
      late_send_ack: 0,
      api_error: 0,
      api_timeout: 0,
      connector_restart: 0,
    };
    for (const f of this.injected) out[f.fault]++;
    return out;
  }
}
