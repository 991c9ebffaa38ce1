/**
 * `broker-sim/stubs`: the platform side on real loopback sockets, for integration tests of a
 * broker or an adapter. `ConnectorStub` is the connector WebSocket server, `PlatformStub` the
 * platform HTTP API with its SSE control-event stream; both serve the same platform models the
 * simulator checks against. `startSeededPlatform` runs both with faults drawn from a seed
 * (duplicate and out-of-order MESSAGE_RECEIVED, dropped and late SEND_ACK, API errors and
 * timeouts, connector restarts): it logs the seed, and the same seed with the same traffic
 * replays the same fault schedule.
 */

export type { InboundSpec, LoggedMessage, OutboundRecord } from "../actors/connector-server.ts";
export { ConnectorStub, type ConnectorStubOptions } from "./connector-ws-server.ts";
export {
  DEFAULT_STUB_FAULT_RATES,
  type InjectedFault,
  NO_STUB_FAULTS,
  StubFaultSchedule,
  type StubFaultKind,
  type StubFaultRates,
} from "./faults/fault-schedule.ts";
export { type ControlAckRecord, PlatformStub, type PlatformStubOptions } from "./platform-http-server.ts";
export {
  SeededPlatform,
  type SeededPlatformOptions,
  STUB_SEED_ENV,
  startSeededPlatform,
} from "./seeded-platform.ts";
