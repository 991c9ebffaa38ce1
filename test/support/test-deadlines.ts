/**
 * Deadlines with test callbacks on a real core: each is a `push_receipt` deadline for a made-up push
 * id, and the env's push-receipt handler is wrapped once so that those ids run the test's callback
 * (any other push id still goes to the core's own handler).
 */

import type { DeadlineHandler } from "../../src/broker/deadline-kinds.ts";
import type { Env } from "../../src/broker/env.ts";

const callbacks = new WeakMap<Env, Map<string, () => void>>();

function table(env: Env): Map<string, () => void> {
  let m = callbacks.get(env);
  if (m) return m;
  m = new Map();
  callbacks.set(env, m);
  const handlers = (
    env as unknown as { deadlineHandlers: { push_receipt?: DeadlineHandler<"push_receipt"> } }
  ).deadlineHandlers;
  const own = handlers.push_receipt;
  const mine = m;
  handlers.push_receipt = (d) => {
    const fn = mine.get(d.pushId);
    if (fn === undefined) return own?.(d);
    mine.delete(d.pushId);
    fn();
  };
  return m;
}

/** Arm a deadline `name` due at `atMs` that runs `fn`. */
export function armTestDeadline(env: Env, name: string, atMs: number, fn: () => void): void {
  table(env).set(name, fn);
  env.armAt({ kind: "push_receipt", pushId: name }, atMs);
}

/** Clear the test deadline `name`. */
export function clearTestDeadline(env: Env, name: string): boolean {
  table(env).delete(name);
  return env.disarm({ kind: "push_receipt", pushId: name });
}
