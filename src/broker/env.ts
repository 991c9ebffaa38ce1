/**
 * The environment every component of the core works through. It is the only way a component
 * touches the world: it emits outputs, asks the platform API or storage and gets a continuation
 * called when the matching input arrives, arms deadlines, draws randomness and logs.
 *
 * Deadlines are data (deadline-kinds.ts): a kind and the ids it concerns. Each component registers
 * one handler per kind it owns (`onDeadline`, at construction); a deadline that falls due is handed
 * to its kind's handler under a `timer` cause that carries the deadline itself.
 *
 * Continuations of platform calls and storage ops are still callbacks stored by request id (the
 * snapshot lists them as data: id, op and cause, `pendingRequests`). They run synchronously inside
 * `BrokerCore.handle` when the driver delivers the result, so the core stays synchronous and
 * deterministic: the order of callbacks is exactly the order of inputs.
 *
 * Causes: `cause` is the `Cause` of the work running now, and every output is stamped with it. A
 * platform call or storage op remembers the cause that made it, and its continuation runs under
 * that cause again; a deadline runs under a `timer` cause holding it; `bind` carries the current
 * cause over to a callback another step will run (a wait at a gate, say).
 */

import type { ApiArgs, ApiOp, ApiResult } from "./api.ts";
import {
  type ArmedDeadline,
  type Deadline,
  type DeadlineChange,
  type DeadlineHandler,
  type DeadlineKind,
  deadlineKey,
} from "./deadline-kinds.ts";
import { Deadlines } from "./deadlines.ts";
import { invariant } from "./invariant.ts";
import type { BrokerOptions, PlantedFaults } from "./options.ts";
import type { Cause, LogLevel, LogSink, Output, OutputBody, Random, StorageOp } from "./types.ts";

export type ApiCallback<K extends ApiOp> = (result: ApiResult<K>) => void;

export class Env {
  private readonly deadlines = new Deadlines();
  private readonly deadlineHandlers: { [K in DeadlineKind]?: DeadlineHandler<K> } = {};
  /**
   * Every arm, clear and firing of a deadline, in order, when a simulator asks for them (it sets
   * an empty array and takes the entries after each step); undefined otherwise, and nothing kept.
   */
  deadlineLog: DeadlineChange[] | undefined;
  /** Outputs not yet taken by the driver. */
  outputs: Output[] = [];
  /** Virtual or real time of the input being handled, in ms since the epoch. */
  nowMs = 0;
  private nextId = 1;
  private apiPending = new Map<number, PendingApi>();
  private storagePending = new Map<number, PendingStorage>();
  /** The cause of the work running now (see the module comment). */
  cause: Cause = { kind: "input", input: "start" };
  /** Counts of log events, cheap enough to keep always (coverage and tests read them). */
  readonly logCounts = new Map<string, number>();
  /** Set once shutdown completed: results arriving later are ignored. */
  stopped = false;
  /**
   * Count an error a guard caught and contained (an IPC route, an inbound task) as the core's
   * internal error. The core installs its counter here; until then it only logs.
   */
  internalError: (err: unknown, where: string) => void = (err, where) => {
    this.log("error", "core_internal_error", {
      where,
      message: err instanceof Error ? err.message : String(err),
    });
  };

  constructor(
    readonly opts: BrokerOptions,
    readonly random: Random,
    readonly faults: PlantedFaults,
    private readonly sink: LogSink | undefined,
  ) {}

  emit(out: OutputBody): void {
    const o = out as Output;
    o.cause = this.cause;
    this.outputs.push(o);
  }

  /** Run `fn` under `cause`, then restore the cause that was current. */
  withCause<T>(cause: Cause, fn: () => T): T {
    const prev = this.cause;
    this.cause = cause;
    try {
      return fn();
    } finally {
      this.cause = prev;
    }
  }

  /** `fn`, to run later under the cause current now. */
  bind<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    const cause = this.cause;
    return (...args: A) => this.withCause(cause, () => fn(...args));
  }

  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void {
    this.logCounts.set(event, (this.logCounts.get(event) ?? 0) + 1);
    this.sink?.(level, event, fields);
  }

  /** Ask the platform API; `cb` runs when the driver delivers the `api_result`. */
  api<K extends ApiOp>(op: K, args: ApiArgs[K], cb?: ApiCallback<K>): number {
    const id = this.nextId++;
    const cause = this.cause;
    this.apiPending.set(id, { op, cause, cb: (cb as ((r: ApiResult<ApiOp>) => void) | undefined) ?? noop });
    this.outputs.push({ kind: "api_call", id, op, args, cause } as Output);
    return id;
  }

  /** Ask storage; `cb` runs with the outcome when the driver delivers the `storage_result`. */
  storage(op: StorageOp, cb?: (ok: boolean, error?: string) => void): number {
    const id = this.nextId++;
    const cause = this.cause;
    this.storagePending.set(id, { op: op.op, cause, cb: cb ?? noop });
    this.outputs.push({ kind: "storage", id, op, cause });
    return id;
  }

  /** Deliver an API result. Unknown ids are logged and ignored (a driver bug, never a crash). */
  completeApi(id: number, result: ApiResult<ApiOp>): void {
    const p = this.apiPending.get(id);
    if (!p) {
      this.log("warn", "api_result_unknown_id", { id });
      return;
    }
    this.apiPending.delete(id);
    this.withCause(p.cause, () => p.cb(result));
  }

  completeStorage(id: number, ok: boolean, error?: string): void {
    const p = this.storagePending.get(id);
    if (!p) {
      this.log("warn", "storage_result_unknown_id", { id });
      return;
    }
    this.storagePending.delete(id);
    this.withCause(p.cause, () => p.cb(ok, error));
  }

  get pendingApiCalls(): number {
    return this.apiPending.size;
  }

  get pendingStorageOps(): number {
    return this.storagePending.size;
  }

  /** The platform calls and storage ops still unanswered, as data, in request order. */
  pendingRequests(): PendingRequest[] {
    const out: PendingRequest[] = [];
    for (const [id, p] of this.apiPending) out.push({ id, kind: "api_call", op: p.op, cause: p.cause });
    for (const [id, p] of this.storagePending) out.push({ id, kind: "storage", op: p.op, cause: p.cause });
    return out.sort((a, b) => a.id - b.id);
  }

  /** Drop every pending continuation (shutdown). */
  abandonPending(): void {
    this.apiPending.clear();
    this.storagePending.clear();
  }

  /** Register the handler of deadline kind `kind`: one per kind, by the component that owns it. */
  onDeadline<K extends DeadlineKind>(kind: K, handler: DeadlineHandler<K>): void {
    invariant(this.deadlineHandlers[kind] === undefined, `a second handler for deadline kind ${kind}`);
    (this.deadlineHandlers as Record<string, DeadlineHandler<K>>)[kind] = handler;
  }

  /** Arm `deadline` to fall due `delayMs` from now (re-arming it replaces its due time). */
  arm(deadline: Deadline, delayMs: number): void {
    this.armAt(deadline, this.nowMs + delayMs);
  }

  /** Arm `deadline` to fall due at `atMs` (re-arming it replaces its due time). */
  armAt(deadline: Deadline, atMs: number): void {
    this.deadlines.set(deadlineKey(deadline), atMs, deadline);
    this.deadlineLog?.push({ op: "arm", deadline, atMs });
  }

  /** Clear `deadline` if it is armed; true if it was. */
  disarm(deadline: Deadline): boolean {
    if (!this.deadlines.cancel(deadlineKey(deadline))) return false;
    this.deadlineLog?.push({ op: "clear", deadline });
    return true;
  }

  isArmed(deadline: Deadline): boolean {
    return this.deadlines.has(deadlineKey(deadline));
  }

  /** When `deadline` falls due, if it is armed. */
  dueAt(deadline: Deadline): number | undefined {
    return this.deadlines.at(deadlineKey(deadline));
  }

  /** The armed deadlines as data with their due times, in arming order. */
  armedDeadlines(): ArmedDeadline[] {
    return this.deadlines.armed();
  }

  get armedDeadlineCount(): number {
    return this.deadlines.size;
  }

  /** When the next deadline falls due, if any is armed. */
  nextDeadlineAt(): number | undefined {
    return this.deadlines.next();
  }

  /** Fire every deadline due at or before `nowMs`, in order. Returns how many fired. */
  expireDeadlines(nowMs: number): number {
    return this.deadlines.expire(nowMs, this.fire);
  }

  /** Clear every armed deadline (shutdown). */
  clearDeadlines(): void {
    if (this.deadlineLog !== undefined) {
      for (const { deadline } of this.deadlines.armed()) this.deadlineLog.push({ op: "clear", deadline });
    }
    this.deadlines.clear();
  }

  private readonly fire = (deadline: Deadline): void => {
    this.deadlineLog?.push({ op: "fire", deadline });
    const handler = this.deadlineHandlers[deadline.kind] as DeadlineHandler<DeadlineKind> | undefined;
    invariant(handler !== undefined, `no handler for deadline kind ${deadline.kind}`);
    this.withCause(timerCause(deadline), () => handler(deadline as never));
  };

  iso(ms: number = this.nowMs): string {
    return isoFromMs(ms);
  }
}

function noop(): void {}

interface PendingApi {
  op: ApiOp;
  cause: Cause;
  cb: (r: ApiResult<ApiOp>) => void;
}

interface PendingStorage {
  op: StorageOp["op"];
  cause: Cause;
  cb: (ok: boolean, error?: string) => void;
}

/** A platform call or storage op the core still waits for, with the cause that made it. */
export interface PendingRequest {
  id: number;
  kind: "api_call" | "storage";
  op: string;
  cause: Cause;
}

/** The `timer` cause of a deadline that fired: the deadline itself, its kind and ids as fields. */
export function timerCause(deadline: Deadline): Cause {
  return { kind: "timer", deadline };
}

/** ISO-8601 UTC rendering of epoch ms without touching `Date` (the core may not use it). */
export function isoFromMs(ms: number): string {
  const t = Math.floor(ms);
  const msPart = ((t % 1000) + 1000) % 1000;
  let secs = Math.floor(t / 1000);
  const s = ((secs % 60) + 60) % 60;
  secs = Math.floor(secs / 60);
  const mi = ((secs % 60) + 60) % 60;
  secs = Math.floor(secs / 60);
  const h = ((secs % 24) + 24) % 24;
  let days = Math.floor(secs / 24);
  // Civil-from-days (Howard Hinnant's algorithm).
  days += 719468;
  const era = Math.floor(days / 146097);
  const doe = days - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  let y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y += 1;
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${String(y).padStart(4, "0")}-${p2(m)}-${p2(d)}T${p2(h)}:${p2(mi)}:${p2(s)}.${String(msPart).padStart(3, "0")}Z`;
}
