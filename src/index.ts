/**
 * The package's main entry (`import … from "broker-sim"`): the reference runtime broker as a real
 * daemon in your process. `createBroker(options)` starts it over real sockets and files and returns
 * a `RunningBroker` (`ipcUrl`, `bearerToken`, `close()`). Every option has a default and a unit in
 * its name; `docs/daemon.md` documents them.
 *
 * The public surface of the package is this module plus `broker-sim/core`, `broker-sim/sim`,
 * `broker-sim/vitest` and `broker-sim/stubs`. Everything else is internal and may change.
 */

export {
  BrokerAlreadyRunningError,
  type CreateBrokerOptions,
  createBroker,
  FileStorage,
  Logger,
  MemoryLogWriter,
  type RunningBroker,
} from "./daemon/index.ts";
export type { LogWriter } from "./daemon/logger.ts";
export { DEFAULT_OPTIONS, type BrokerOptions } from "./broker/options.ts";
export type { LogLevel, LogSink, Random } from "./broker/types.ts";
