/**
 * Asserts for states the core must never reach. An `invariant` that fails is a bug in the core,
 * never bad input: malformed frames, wrong types, unknown ids and wrong owners from the outside get
 * a clear error (an HTTP status and code, a log event) and never reach an assert.
 *
 * A failed invariant throws `BrokerInvariantError`. Whatever catches it (the core's `handle` and
 * `advance`, an IPC route guard, an inbound task's guard) ends the work in hand cleanly and counts
 * it as an internal error (`core_internal_error`); the simulator reports that as X1.
 */

export class BrokerInvariantError extends Error {
  override readonly name = "BrokerInvariantError";
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new BrokerInvariantError(message);
}
