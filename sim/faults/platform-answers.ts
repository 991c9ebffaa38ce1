/**
 * Platform answers: the platform model gives, besides its plain answer, the other answers the
 * platform API may give to the calls the broker makes (PROTOCOL §4.1, §4.2; the published SDK's
 * production port `runtime-endpoint-client.js` defines their shapes). Not a fault so much as the
 * breadth of the platform; it is a module so that swarm mode draws it per seed and plain runs keep
 * the plain platform. docs/world-model.md lists every answer and who judges the broker's reaction.
 *
 * Theory of operation:
 * 1. `register` succeeds in the production response's shapes: `heartbeat_after_seconds` another
 *    interval, zero or negative (the broker then schedules no heartbeat, §1.4), or left out; a
 *    `session_naming` block (`{nickname, owner_edited_name}`, the SDK's `SessionNamingBlock`), which
 *    the broker passes to the plugin; the response's other fields (`node_id`, `display_label`,
 *    `lease_ttl_seconds`, …), which the broker ignores. The platform model applies the call first
 *    and then expects heartbeats at the interval it named (three missed beats make an endpoint
 *    stale, none expected when it named no positive interval).
 * 2. `processing_state` is refused as the production port reports a refusal: a terminal 401, 403,
 *    409 or 422, or a transient 500, 502 or 503, each with or without an
 *    `assignment_failure_category` and an error detail. A refused event is not applied. Refusals of
 *    `reply_requested`, of adapter reports and of the broker's other states have their own rates.
 * 3. `inbound_route_claim` is refused as the port maps it: a 200 without a valid `action` and 401,
 *    403, 422 are terminal, a 5xx transient.
 * 4. `list_claim_candidates` succeeds with every optional item field drawn present or absent (the
 *    platform's `content_preview`, `sender_address`, `claim_policy`, `active_assignment_id`,
 *    `active_target_endpoint_id`, `conversation_ref`, `in_reply_to`), or fails as the port throws
 *    on an invalid item (502, transient).
 * 5. Every draw comes from the module's own stream; heal puts the platform back on its plain
 *    answers (endpoints keep the heartbeat interval they were given).
 */

import type {
  ApiArgs,
  ApiOp,
  ApiResult,
  AssignmentFailureCategory,
  ClaimCandidate,
  Failure,
  ProcessingStateEvent,
} from "../../src/broker/api.ts";
import { isoFromMs } from "../../src/broker/env.ts";
import type { Stream } from "../kernel/prng.ts";
import type { World } from "../kernel/world.ts";
import type { FaultModule } from "./fault.ts";
import { round3 } from "./fault.ts";
import { Switch } from "./util.ts";

export type PlatformAnswersOptions = {
  /** Point 1: `heartbeat_after_seconds` left out of a register answer. */
  heartbeatAbsentProbability: number;
  /** Point 1: `heartbeat_after_seconds` zero or negative. */
  heartbeatNonPositiveProbability: number;
  /** Point 1: another interval, uniform in [heartbeatMinSeconds, heartbeatMaxSeconds]. */
  heartbeatOtherProbability: number;
  heartbeatMinSeconds: number;
  heartbeatMaxSeconds: number;
  /** Point 1: a `session_naming` block. */
  sessionNamingProbability: number;
  /** Point 1: the production response's other fields. */
  registerExtraFieldsProbability: number;
  /** Point 2: refusal rates of `reply_requested`, adapter reports and the broker's other states. */
  replyRequestedRejectProbability: number;
  adapterReportRejectProbability: number;
  brokerStateRejectProbability: number;
  /** Point 2 and 3: a refusal is transient (5xx) with this probability, else terminal. */
  transientShareProbability: number;
  /** Point 2: a refusal carries an `assignment_failure_category`. */
  categoryProbability: number;
  /** Point 3. */
  routeClaimRejectProbability: number;
  /** Point 4: each optional candidate field is present with this probability. */
  candidateFieldProbability: number;
  /** Point 4: the candidate list fails as an invalid item makes the port throw. */
  candidatesInvalidProbability: number;
};

/** `assignment_failure_category` values the SDK keeps (any other is dropped by its port). */
export const FAILURE_CATEGORIES: readonly AssignmentFailureCategory[] = [
  "assignment_in_progress",
  "target_unavailable_before_acceptance",
  "acceptance_rejected",
  "processing_failed_or_expired",
  "reply_handle_stale",
];

/** Statuses the production port maps to a terminal failure of `processing_state` (§4.2). */
const STATE_TERMINAL: ReadonlyArray<[number, string]> = [
  [401, "unauthorized"],
  [403, "forbidden"],
  [409, "runtime_assignment_conflict"],
  [422, "invalid_runtime_processing_state"],
];
const TRANSIENT: ReadonlyArray<[number, string]> = [
  [500, "internal_error"],
  [502, "bad_gateway"],
  [503, "service_unavailable"],
];
const ROUTE_TERMINAL: ReadonlyArray<[number, string]> = [
  [200, "route_claim_action_invalid"],
  [401, "unauthorized"],
  [403, "forbidden"],
  [422, "invalid_route_claim"],
];

const BROKER_OWNED = new Set([
  "assigned_to_runtime_target",
  "reply_requested",
  "reply_emitted",
  "delivery_attempted",
]);

export const platformAnswers: FaultModule<PlatformAnswersOptions> & { name: "platform-answers" } = {
  name: "platform-answers",
  description:
    "The platform API gives every documented answer shape: optional fields, refusals with categories.",
  defaults: {
    heartbeatAbsentProbability: 0.1,
    heartbeatNonPositiveProbability: 0.05,
    heartbeatOtherProbability: 0.2,
    heartbeatMinSeconds: 5,
    heartbeatMaxSeconds: 120,
    sessionNamingProbability: 0.3,
    registerExtraFieldsProbability: 0.5,
    replyRequestedRejectProbability: 0.05,
    adapterReportRejectProbability: 0.03,
    brokerStateRejectProbability: 0.02,
    transientShareProbability: 0.5,
    categoryProbability: 0.7,
    routeClaimRejectProbability: 0.02,
    candidateFieldProbability: 0.5,
    candidatesInvalidProbability: 0.05,
  },
  swarm(s: Stream): PlatformAnswersOptions {
    const heartbeatMinSeconds = s.range(5, 30);
    return {
      heartbeatAbsentProbability: round3(s.float() * 0.3),
      heartbeatNonPositiveProbability: round3(s.float() * 0.1),
      heartbeatOtherProbability: round3(s.float() * 0.5),
      heartbeatMinSeconds,
      heartbeatMaxSeconds: heartbeatMinSeconds + s.range(0, 120),
      sessionNamingProbability: round3(s.float()),
      registerExtraFieldsProbability: round3(s.float()),
      replyRequestedRejectProbability: round3(s.float() * 0.15),
      adapterReportRejectProbability: round3(s.float() * 0.08),
      brokerStateRejectProbability: round3(s.float() * 0.05),
      transientShareProbability: round3(s.float()),
      categoryProbability: round3(s.float()),
      routeClaimRejectProbability: round3(s.float() * 0.05),
      candidateFieldProbability: round3(s.float()),
      candidatesInvalidProbability: round3(s.float() * 0.1),
    };
  },
  install(world, o, stream) {
    const sw = new Switch();
    world.faultHub.addApi((op, args, nowMs) => {
      if (sw.healed) return undefined;
      switch (op) {
        case "register":
          return register(world, o, stream, args as ApiArgs["register"], nowMs);
        case "processing_state":
          return refuseState(world, o, stream, args as ProcessingStateEvent);
        case "inbound_route_claim":
          return refuseRouteClaim(world, o, stream);
        case "list_claim_candidates":
          return candidates(world, o, stream, args as ApiArgs["list_claim_candidates"], nowMs);
        default:
          return undefined;
      }
    });
    return sw;
  },
};

/** Point 1: apply the registration, then answer in one of the production response's shapes. */
function register(
  world: World,
  o: PlatformAnswersOptions,
  s: Stream,
  args: ApiArgs["register"],
  nowMs: number,
): ApiResult<ApiOp> {
  const plain = world.api.handle("register", args, nowMs);
  if (!plain.ok) return plain;
  const out: Record<string, unknown> = { ok: true, endpoint_id: plain.endpoint_id };
  const r = s.float();
  let seconds: number | undefined = plain.heartbeat_after_seconds;
  let shape = "plain";
  if (r < o.heartbeatAbsentProbability) {
    seconds = undefined;
    shape = "no_heartbeat";
  } else if (r < o.heartbeatAbsentProbability + o.heartbeatNonPositiveProbability) {
    seconds = s.chance(0.5) ? 0 : -s.range(1, 60);
    shape = "heartbeat_non_positive";
  } else if (
    r <
    o.heartbeatAbsentProbability + o.heartbeatNonPositiveProbability + o.heartbeatOtherProbability
  ) {
    seconds = s.range(o.heartbeatMinSeconds, Math.max(o.heartbeatMinSeconds, o.heartbeatMaxSeconds));
    shape = "heartbeat_other";
  }
  if (seconds !== undefined) out.heartbeat_after_seconds = seconds;
  const ep = world.api.endpoints.get(plain.endpoint_id);
  if (ep !== undefined) {
    // Three missed beats make an endpoint stale; without a positive interval none are expected.
    ep.staleAfterMs = seconds !== undefined && seconds > 0 ? 3 * seconds * 1000 : Number.POSITIVE_INFINITY;
  }
  if (s.chance(o.sessionNamingProbability)) {
    out.session_naming = {
      nickname: `nick-${s.hex(4)}`,
      owner_edited_name: s.chance(0.5) ? null : `name-${s.hex(4)}`,
    };
    world.faultHub.record("platform-answers", "session_naming", plain.endpoint_id);
  }
  if (s.chance(o.registerExtraFieldsProbability)) {
    out.node_id = `node-${s.hex(4)}`;
    out.display_label = args.display_label;
    out.lease_ttl_seconds = s.range(30, 600);
    out.soft_retention_seconds = s.range(0, 3_600);
    out.registered_at = isoFromMs(nowMs);
    out.runtime_capabilities = [...args.capabilities];
  }
  if (shape !== "plain") world.faultHub.record("platform-answers", shape, `${plain.endpoint_id} ${seconds}`);
  return out as ApiResult<ApiOp>;
}

/** A refusal in the production port's shape: `[status, code]` from `table`, maybe a category. */
function refusal(
  s: Stream,
  o: PlatformAnswersOptions,
  terminal: ReadonlyArray<[number, string]>,
  withCategory: boolean,
): Failure {
  const transient = s.chance(o.transientShareProbability);
  const [status, code] = s.pick(transient ? TRANSIENT : terminal);
  const f: Failure = { ok: false, terminal: !transient, status, code };
  if (s.chance(0.8)) f.detail = `${code}: refused by the platform`;
  if (withCategory && s.chance(o.categoryProbability))
    f.assignmentFailureCategory = s.pick(FAILURE_CATEGORIES);
  return f;
}

/** Point 2. */
function refuseState(
  world: World,
  o: PlatformAnswersOptions,
  s: Stream,
  ev: ProcessingStateEvent,
): Failure | undefined {
  const p =
    ev.state === "reply_requested"
      ? o.replyRequestedRejectProbability
      : BROKER_OWNED.has(ev.state) || ev.state === "target_lost_before_acceptance"
        ? o.brokerStateRejectProbability
        : o.adapterReportRejectProbability;
  if (!s.chance(p)) return undefined;
  const f = refusal(s, o, STATE_TERMINAL, true);
  world.faultHub.record(
    "platform-answers",
    `state_refused_${f.terminal ? "terminal" : "transient"}`,
    `${ev.state} ${f.status}${f.assignmentFailureCategory ? ` ${f.assignmentFailureCategory}` : ""}`,
  );
  return f;
}

/** Point 3. */
function refuseRouteClaim(world: World, o: PlatformAnswersOptions, s: Stream): Failure | undefined {
  if (!s.chance(o.routeClaimRejectProbability)) return undefined;
  const f = refusal(s, o, ROUTE_TERMINAL, false);
  world.faultHub.record("platform-answers", "route_claim_refused", `${f.status}`);
  return f;
}

/** Point 4. */
function candidates(
  world: World,
  o: PlatformAnswersOptions,
  s: Stream,
  args: ApiArgs["list_claim_candidates"],
  nowMs: number,
): ApiResult<ApiOp> {
  if (s.chance(o.candidatesInvalidProbability)) {
    world.faultHub.record("platform-answers", "candidates_invalid");
    return {
      ok: false,
      terminal: false,
      status: 502,
      code: "runtime_claim_candidates_invalid",
      detail: "claim candidate item is invalid",
    };
  }
  const plain = world.api.handle("list_claim_candidates", args, nowMs);
  if (!plain.ok) return plain;
  const field = () => s.chance(o.candidateFieldProbability);
  const items = plain.items.map((c) => {
    const row = world.api.rows.get(c.undispatched_id);
    const out: ClaimCandidate = { undispatched_id: c.undispatched_id };
    if (c.source_message_id !== undefined && field()) out.source_message_id = c.source_message_id;
    if (c.reason !== undefined && field()) out.reason = c.reason;
    if (c.target_endpoint_id_hint !== undefined && field())
      out.target_endpoint_id_hint = c.target_endpoint_id_hint;
    if (c.arrived_at !== undefined && field()) out.arrived_at = c.arrived_at;
    if (field()) out.content_preview = `preview of ${row?.sourceMessageId ?? c.undispatched_id}`;
    if (field()) out.sender_address = `sender-${s.hex(3)}`;
    if (field()) out.claim_policy = s.pick(["any_endpoint", "hinted_endpoint_first"]);
    if (field()) out.conversation_ref = { kind: "conversation", id: `conv-${s.hex(4)}` };
    if (field()) out.in_reply_to = `msg-${s.hex(4)}`;
    return out;
  });
  world.faultHub.record("platform-answers", "candidates_shaped", `${items.length}`);
  return { ok: true, items } as ApiResult<ApiOp>;
}
