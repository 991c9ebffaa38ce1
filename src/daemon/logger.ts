/**
 * Structured logs: one JSON object per line, `{ts, level, event, ...fields}`. The core's LogSink
 * events (PROTOCOL appendix B names) and the daemon's own I/O events go through the same logger, so
 * one file is the whole trace of a run.
 *
 * Logging never throws: a field that cannot be serialised (cycles, BigInt) is replaced, and a
 * failing stream write is swallowed, because a broken log must not take the broker down.
 */

import type { LogLevel, LogSink } from "../broker/types.ts";

export type { LogLevel };

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

export interface LogWriter {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** Lowest level written. Default `"info"`. */
  level?: LogLevel;
  /** Where lines go. Default `process.stderr`. */
  stream?: LogWriter;
  /** Fields added to every line (e.g. `{pid}`). Default none. */
  base?: Record<string, unknown>;
  /** Clock for the `ts` field, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

export class Logger {
  private readonly min: number;
  private readonly stream: LogWriter;
  private readonly base: Record<string, unknown>;
  private readonly now: () => number;

  constructor(opts: LoggerOptions = {}) {
    this.min = RANK[opts.level ?? "info"];
    this.stream = opts.stream ?? process.stderr;
    this.base = opts.base ?? {};
    this.now = opts.now ?? Date.now;
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.min;
  }

  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void {
    if (!this.enabled(level)) return;
    const record = { ts: new Date(this.now()).toISOString(), level, event, ...this.base, ...fields };
    let line: string;
    try {
      line = JSON.stringify(record, replacer);
    } catch (err) {
      line = JSON.stringify({ ts: record.ts, level, event, log_error: String(err) });
    }
    try {
      this.stream.write(`${line}\n`);
    } catch {
      // A closed or broken log stream is not a reason to stop brokering.
    }
  }

  debug(event: string, fields?: Record<string, unknown>): void {
    this.log("debug", event, fields);
  }
  info(event: string, fields?: Record<string, unknown>): void {
    this.log("info", event, fields);
  }
  warn(event: string, fields?: Record<string, unknown>): void {
    this.log("warn", event, fields);
  }
  error(event: string, fields?: Record<string, unknown>): void {
    this.log("error", event, fields);
  }

  /** The core's `LogSink`, bound to this logger. */
  get sink(): LogSink {
    return (level, event, fields) => this.log(level, event, fields);
  }
}

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}

/** Collects lines in memory; handy for tests and for the embedding API's `logStream: "memory"`. */
export class MemoryLogWriter implements LogWriter {
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  events(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}
