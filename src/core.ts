/**
 * `broker-sim/core`: the reference broker's sans-IO core. `new BrokerCore({ random, options,
 * initialCursor })`, then feed it `Input` records with `handle(input, nowMs)`, perform the `Output`
 * records from `takeOutputs()`, and call `advance(nowMs)` at `nextDeadline()`. It never reads a
 * clock, never draws global randomness and never touches a socket or a file: all of that is the
 * driver's (the daemon of `broker-sim` is one such driver, the simulator another).
 */

export { BrokerCore, type BrokerCoreConfig } from "./broker/broker.ts";
export type { ArmedDeadline, Deadline, DeadlineKind } from "./broker/deadline-kinds.ts";
export {
  type BrokerOptions,
  DEFAULT_OPTIONS,
  NO_PLANTED_FAULTS,
  type PlantedFaults,
  resolveOptions,
} from "./broker/options.ts";
export type {
  BufferRecord,
  Cause,
  HttpMethod,
  Input,
  LogLevel,
  LogSink,
  Output,
  OutputBody,
  PushEnvelope,
  PushFrame,
  Random,
  RuntimeAssignmentRef,
  StorageOp,
  TargetRef,
} from "./broker/types.ts";
export type {
  ApiArgs,
  ApiOkBodies,
  ApiOp,
  ApiResult,
  AssignmentFailureCategory,
  ClaimCandidate,
  Failure,
  Ok,
  Outcome,
} from "./broker/api.ts";
