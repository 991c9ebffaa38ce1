/**
 * Deadlines judged after the I/O that had already arrived.
 *
 * Node runs due timers before it reads sockets in each turn of its event loop. A process that could
 * not run for longer than a timeout (CPU starvation, a long synchronous step) therefore calls the
 * deadline missed while the answer it waits for is already sitting in a socket, unread. Under
 * sustained starvation that fails every request and every push receipt, although the peers answered
 * in time.
 *
 * Rule: when a deadline's timer fires, its verdict waits `IO_GRACE_TURNS` further turns of the event
 * loop (each turn reads every socket that has data), and is dropped if the awaited answer settled
 * the deadline meanwhile. On an idle loop a turn takes microseconds, so a deadline is late by
 * nothing measurable; on a starved loop it is late by as many turns as a round trip needs.
 */

/** Loop turns a fired deadline waits for already-arrived I/O before it counts as missed. */
export const IO_GRACE_TURNS = 3;

/** Run `fn` after `turns` turns of the event loop (each past a poll phase). */
export function afterIoTurns(turns: number, fn: () => void): void {
  if (turns <= 0) {
    fn();
    return;
  }
  setImmediate(() => afterIoTurns(turns - 1, fn));
}

/** The abort signal of one request, with its timeout. */
export interface IoTimeout {
  signal: AbortSignal;
  /** The request settled: the timeout is cleared. */
  done(): void;
  /** Abort now (the daemon is closing), with an `AbortError`. */
  abort(): void;
}

/**
 * An abort signal for one request: aborts (reason a `TimeoutError`, as `AbortSignal.timeout`)
 * `timeoutMs` after it is made plus the I/O grace, unless `done()` is called first.
 */
export function ioTimeoutSignal(timeoutMs: number): IoTimeout {
  const controller = new AbortController();
  let settled = false;
  const timer = setTimeout(
    () =>
      afterIoTurns(IO_GRACE_TURNS, () => {
        if (settled) return;
        controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
      }),
    Math.max(0, timeoutMs),
  );
  timer.unref?.();
  return {
    signal: controller.signal,
    done: () => {
      settled = true;
      clearTimeout(timer);
    },
    abort: () => {
      clearTimeout(timer);
      controller.abort(new DOMException("This operation was aborted", "AbortError"));
    },
  };
}
