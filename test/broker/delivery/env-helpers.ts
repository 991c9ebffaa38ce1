import type { ApiOp, ApiResult } from "../../../src/broker/api.ts";
import { Env } from "../../../src/broker/env.ts";
import { type BrokerOptions, NO_PLANTED_FAULTS, resolveOptions } from "../../../src/broker/options.ts";
import type { Output } from "../../../src/broker/types.ts";
import { CountingRandom } from "../../support/random.ts";

export type ApiCall = Extract<Output, { kind: "api_call" }>;

export function testEnv(options: Partial<BrokerOptions> = {}): Env {
  const env = new Env(resolveOptions(options), new CountingRandom(3), { ...NO_PLANTED_FAULTS }, undefined);
  env.nowMs = 1_000_000;
  return env;
}

export function take(env: Env): Output[] {
  const out = env.outputs;
  env.outputs = [];
  return out;
}

export function apiCalls(outs: Output[]): ApiCall[];
export function apiCalls<K extends ApiOp>(outs: Output[], op: K): Array<Extract<ApiCall, { op: K }>>;
export function apiCalls(outs: Output[], op?: ApiOp): ApiCall[] {
  return outs.filter((o): o is ApiCall => o.kind === "api_call" && (!op || o.op === op));
}

export const ok = { ok: true } as unknown as ApiResult<ApiOp>;
export const transient = { ok: false, terminal: false, status: 503 } as const;
export const terminal = { ok: false, terminal: true, status: 404 } as const;

/** Move the env's clock and run due deadlines. */
export function tick(env: Env, ms: number): void {
  env.nowMs += ms;
  env.expireDeadlines(env.nowMs);
}
