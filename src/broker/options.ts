/**
 * Every limit, timeout and capacity of the broker core, with the PROTOCOL.md §6 value as default.
 * Units are the last word of each name.
 */
export interface BrokerOptions {
  /** Connector auth token sent in REGISTER. */
  connectorToken: string;
  /** Runtime session scope of the default stream (PROTOCOL §2.1). Undefined = unscoped. */
  runtimeSessionId: string | undefined;
  /** REGISTER_ACK wait before closing with 4000 "Register timeout". Default 15 000 ms. */
  registerAckTimeoutMs: number;
  /** SEND_ACK wait before a send is "outcome unknown". Default 15 000 ms. */
  sendAckTimeoutMs: number;
  /** First reconnect delay; doubles up to `reconnectMaxMs`; jitter ×[1, 1+reconnectJitterRatio). */
  reconnectInitialMs: number;
  /** Reconnect backoff ceiling. Default 30 000 ms. */
  reconnectMaxMs: number;
  /** Jitter fraction of the reconnect delay. Default 0.3. */
  reconnectJitterRatio: number;
  /** Fixed retry delay while the connector answers "Already connected". Default 2 000 ms. */
  alreadyConnectedRetryMs: number;
  /** "Already connected" retries before one exponential delay is used. Default 30. */
  alreadyConnectedRetriesMax: number;
  /**
   * First delay before re-sending REQUEST_GAP_FILL while the cursor is stuck behind a hole nobody
   * is working on (our liveness addition to §2.5, see connector/delivery-stream.ts); doubles up to
   * `gapFillRetryMaxMs`, resets on cursor progress. Default 1 000 ms.
   */
  gapFillRetryInitialMs: number;
  /** Ceiling of the gap-fill retry backoff. Default 30 000 ms. */
  gapFillRetryMaxMs: number;
  /** Seen payload id window (FIFO). Default 4 096. */
  seenPayloadIdsMax: number;
  /** Endpoint grace after an IPC close while the plugin is alive. Default 600 000 ms. */
  graceMs: number;
  /** Presence grace before `offline`. Default 600 000 ms. */
  presenceGraceMs: number;
  /** Undispatched inbox capacity. Default 256. */
  inboxCapacity: number;
  /** Retry emitters (undispatched, routed): queue cap, backoff, retries. */
  emitterQueueMax: number;
  emitterBackoffInitialMs: number;
  emitterBackoffMaxMs: number;
  emitterRetriesMax: number;
  /** Presence emitter queue cap. Default 128. */
  presenceEmitterQueueMax: number;
  /** Transition retry queue cap. Default 256. */
  transitionQueueMax: number;
  /** Reply-correlation cache TTL. Default 86 400 000 ms. */
  replyCorrelationTtlMs: number;
  /** Reply-correlation entries per endpoint. Default 1 000. */
  replyCorrelationPerEndpointMax: number;
  /** Correlation ring per endpoint. Default 1 024. */
  correlationRingMax: number;
  /** Control event idempotency ring. Default 1 024. */
  controlIdempotencyRingMax: number;
  /** Runtime assignment acceptance timeout; ≤ 0 disables. Default 30 000 ms. */
  acceptanceTimeoutMs: number;
  /** Push receipt wait. Default 2 000 ms. */
  pushReceiptTimeoutMs: number;
  /** Reply idempotency record TTL. Default 86 400 000 ms. */
  replyRecordTtlMs: number;
  /** reply_emitted retry backoff: initial and ceiling. Defaults 1 000 / 30 000 ms. */
  replyEmittedRetryInitialMs: number;
  replyEmittedRetryMaxMs: number;
  /** Delivered-source-route cache per stream. Default 4 096. */
  routeCacheMax: number;
  /** Endpoint-state projection retry after a transient failure. Default 500 ms. */
  transitionRetryMs: number;
  /** Largest content preview in undispatched events. Default 80 code points. */
  contentPreviewMaxChars: number;
  /**
   * Retry delay while records of a removed endpoint's (or an earlier process's) buffer wait for a
   * free inbox slot (our L5 addition, see endpoints/buffer-surfacer.ts). Default 1 000 ms.
   */
  bufferSurfaceRetryMs: number;
  /** Delay between route-claim retries for an unacknowledged seq is the server's business; none here. */
}

export const DEFAULT_OPTIONS: BrokerOptions = {
  connectorToken: "",
  runtimeSessionId: undefined,
  registerAckTimeoutMs: 15_000,
  sendAckTimeoutMs: 15_000,
  reconnectInitialMs: 1_000,
  reconnectMaxMs: 30_000,
  reconnectJitterRatio: 0.3,
  alreadyConnectedRetryMs: 2_000,
  alreadyConnectedRetriesMax: 30,
  gapFillRetryInitialMs: 1_000,
  gapFillRetryMaxMs: 30_000,
  seenPayloadIdsMax: 4_096,
  graceMs: 600_000,
  presenceGraceMs: 600_000,
  inboxCapacity: 256,
  emitterQueueMax: 1_024,
  emitterBackoffInitialMs: 500,
  emitterBackoffMaxMs: 30_000,
  emitterRetriesMax: 5,
  presenceEmitterQueueMax: 128,
  transitionQueueMax: 256,
  replyCorrelationTtlMs: 86_400_000,
  replyCorrelationPerEndpointMax: 1_000,
  correlationRingMax: 1_024,
  controlIdempotencyRingMax: 1_024,
  acceptanceTimeoutMs: 30_000,
  pushReceiptTimeoutMs: 2_000,
  replyRecordTtlMs: 86_400_000,
  replyEmittedRetryInitialMs: 1_000,
  replyEmittedRetryMaxMs: 30_000,
  routeCacheMax: 4_096,
  transitionRetryMs: 500,
  contentPreviewMaxChars: 80,
  bufferSurfaceRetryMs: 1_000,
};

/**
 * Test-only switches that break the broker on purpose, so the harness can prove it catches each
 * kind of bug. All default to false; never set them in production.
 */
export interface PlantedFaults {
  /** Mark a sequenced message accepted before its hand-off finished (breaks S1/R1). */
  ackBeforeHandoff: boolean;
  /** Forget reply idempotency records right after they are stored (breaks A4/A5). */
  forgetReplyRecords: boolean;
  /** Skip duplicate suppression of pending/seen payload ids (breaks S5). */
  noDuplicateSuppression: boolean;
  /** Drop a row silently when re-adding to a full inbox (breaks A10). */
  silentInboxLoss: boolean;
  /** Post adapter-reported state_sequence values without raising them (breaks A1). */
  noSequenceGuard: boolean;
  /** Persist the cursor before the DELIVERY_ACK is written (breaks S3). */
  persistBeforeAck: boolean;
}

export const NO_PLANTED_FAULTS: PlantedFaults = {
  ackBeforeHandoff: false,
  forgetReplyRecords: false,
  noDuplicateSuppression: false,
  silentInboxLoss: false,
  noSequenceGuard: false,
  persistBeforeAck: false,
};

export function resolveOptions(partial: Partial<BrokerOptions> = {}): BrokerOptions {
  const out = { ...DEFAULT_OPTIONS };
  for (const [k, v] of Object.entries(partial)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}
