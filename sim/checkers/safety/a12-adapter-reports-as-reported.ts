import { PROCESSING_STATES } from "../../../src/broker/api.ts";
import { defineChecker } from "../checker.ts";

/** Every state of PROTOCOL §5.3; the ones only the broker may post are `BROKER_OWNED_STATES`. */
const PROTOCOL_STATES: ReadonlySet<string> = new Set<string>(PROCESSING_STATES);
const BROKER_OWNED_STATES: ReadonlySet<string> = new Set([
  "assigned_to_runtime_target",
  "reply_requested",
  "reply_emitted",
]);

/** Display fields of a registration the broker passes to the platform's `register` verbatim. */
const REGISTER_FIELDS = [
  "kind",
  "agent_id",
  "session_name",
  "tracking_ref",
  "task_hint",
  "execution_surface",
] as const;

/** Report fields the platform event carries as the adapter gave them. */
const REPORT_FIELDS = [
  "source_message_id",
  "assignment_id",
  "state",
  "state_event_id",
  "occurred_at",
  "retryable",
  "reason_code",
  "detail",
  "reply_request_id",
  "outbound_message_id",
] as const;

const OPTIONAL_STRINGS = [
  "state_event_id",
  "undispatched_id",
  "reason_code",
  "detail",
  "reply_request_id",
  "outbound_message_id",
] as const;

type Body = Record<string, unknown>;

interface Tracked {
  what: "register" | "report" | "reply" | "send";
  /** Whether the body is well-formed for its route (a refusal as malformed then breaks A12). */
  wellFormed: boolean;
  body: Body;
  /** The platform call that carried it: the register call, or the processing_state post. */
  forwarded: Body | undefined;
}

/**
 * A well-formed processing-state report (PROTOCOL §5.6): the ids are non-empty strings, the state
 * is a protocol state the adapter may post, the optional fields have their types.
 */
export function wellFormedReport(b: Body): boolean {
  const nonEmpty = (k: string) => typeof b[k] === "string" && (b[k] as string).length > 0;
  if (!nonEmpty("source_message_id") || !nonEmpty("assignment_id")) return false;
  if (typeof b.state !== "string" || !PROTOCOL_STATES.has(b.state) || BROKER_OWNED_STATES.has(b.state))
    return false;
  const seq = b.state_sequence;
  if (seq !== undefined && (typeof seq !== "number" || !Number.isInteger(seq) || seq < 0)) return false;
  if (b.occurred_at !== undefined && (typeof b.occurred_at !== "number" || !Number.isFinite(b.occurred_at)))
    return false;
  if (b.retryable !== undefined && typeof b.retryable !== "boolean") return false;
  return OPTIONAL_STRINGS.every((k) => b[k] === undefined || typeof b[k] === "string");
}

const isStr = (v: unknown): v is string => typeof v === "string";
const nonEmpty = (v: unknown): boolean => isStr(v) && v.length > 0;
const optStr = (v: unknown, max = Number.POSITIVE_INFINITY): boolean =>
  v === undefined || v === null || (isStr(v) && v.length <= max);
const isObj = (v: unknown): v is Body => typeof v === "object" && v !== null && !Array.isArray(v);
const strList = (v: unknown): boolean => v === undefined || (Array.isArray(v) && v.every(isStr));

/** A well-formed registration (§3.2): the fields the broker validates, each of its type and size. */
export function wellFormedRegister(b: Body): boolean {
  const pid = b.plugin_pid;
  const ws = b.workspace;
  return (
    typeof pid === "number" &&
    Number.isInteger(pid) &&
    pid > 0 &&
    nonEmpty(b.kind) &&
    optStr(b.agent_id) &&
    strList(b.runtime_capabilities) &&
    strList(b.capabilities) &&
    (b.background_exchange_mode === undefined ||
      b.background_exchange_mode === "resident_endpoint" ||
      b.background_exchange_mode === "adapter_managed_turn") &&
    (b.headless === undefined || typeof b.headless === "boolean") &&
    optStr(b.execution_surface, 64) &&
    optStr(b.session_name, 512) &&
    optStr(b.tracking_ref, 512) &&
    optStr(b.task_hint, 2048) &&
    (b.runtime_session_id === undefined || nonEmpty(b.runtime_session_id)) &&
    (ws === undefined || (isObj(ws) && nonEmpty(ws.root) && nonEmpty(ws.cwd)))
  );
}

/** A well-formed assignment reply (§5.7): ids and reply request id, text content, typed extras. */
export function wellFormedReply(b: Body): boolean {
  return (
    nonEmpty(b.source_message_id) &&
    nonEmpty(b.assignment_id) &&
    nonEmpty(b.reply_request_id) &&
    isStr(b.content) &&
    optStr(b.contentType) &&
    (b.metadata === undefined || isObj(b.metadata))
  );
}

/** A well-formed send (§3.3) whose metadata names no broker-issued field and no other sender. */
export function wellFormedSend(b: Body): boolean {
  const m = b.metadata;
  return (
    nonEmpty(b.endpoint_id) &&
    nonEmpty(b.to) &&
    isStr(b.content) &&
    optStr(b.content_type) &&
    optStr(b.contentType) &&
    (b.require_live === undefined || b.require_live === null || typeof b.require_live === "boolean") &&
    (m === undefined ||
      (isObj(m) &&
        m.correlation_id === undefined &&
        m.target_endpoint_id === undefined &&
        (m.source_endpoint_id === undefined || m.source_endpoint_id === b.endpoint_id)))
  );
}

/**
 * Codes that refuse a request for its form rather than for the state it meets (a well-formed reply
 * carries a non-empty `reply_request_id`; a well-formed send's metadata names no `correlation_id`
 * and no `target_endpoint_id`, so refusing them with these codes refuses them for their form).
 */
const FORM_REFUSALS: ReadonlySet<string> = new Set([
  "bad_request",
  "source_endpoint_id_mismatch",
  "reply_request_id_required",
  "correlation_id_forbidden",
  "target_endpoint_id_forbidden",
]);

/**
 * A12 Adapter reports are taken as reported (our addition beside PROTOCOL §7; the rules are §5.6
 * and §3.2). A well-formed processing-state report of an adapter-owned state is never refused as
 * malformed (400) or as broker-owned (403 `<state>_broker_owned`); when answered 200, the broker
 * posted it to the platform as reported: same ids, state, event id, time, reason and detail, and a
 * `state_sequence` no lower than the adapter's (the sequence guard may raise it, never lower it).
 * A registration answered 200 reached the platform's `register` (the call its request caused) with
 * the display fields the plugin sent (`kind`, `agent_id`, `session_name`, `tracking_ref`,
 * `task_hint`, `execution_surface`) unchanged. A well-formed registration, assignment reply or send
 * is never refused for its form (400 `bad_request`, `reply_request_id_required`,
 * `correlation_id_forbidden` or `target_endpoint_id_forbidden`, 403 `source_endpoint_id_mismatch`).
 */
export const A12 = defineChecker({
  id: "A12",
  kind: "safety",
  kinds: ["start", "in", "out"],
  statement:
    "A well-formed adapter report, registration, assignment reply or send is never refused for its form, and a report or registration answered 200 reached the platform as the adapter sent it.",
  create() {
    const tracked = new Map<number, Tracked>();
    return {
      onEvent(ev) {
        if (ev.k === "start") {
          tracked.clear();
          return undefined;
        }
        if (ev.k === "in") {
          const input = ev.input;
          if (input.kind !== "ipc_request" || input.method !== "POST") return undefined;
          const body = input.body;
          if (typeof body !== "object" || body === null || Array.isArray(body)) return undefined;
          const b = body as Body;
          const track = (what: Tracked["what"], wellFormed: boolean) =>
            tracked.set(input.id, { what, wellFormed, body: b, forwarded: undefined });
          if (input.path === "/v1/endpoint/register") track("register", wellFormedRegister(b));
          else if (input.path === "/v1/runtime/processing-state" && wellFormedReport(b))
            track("report", true);
          else if (input.path === "/v1/runtime/assignment-reply") track("reply", wellFormedReply(b));
          else if (input.path === "/v1/send") track("send", wellFormedSend(b));
          return undefined;
        }
        if (ev.k !== "out") return undefined;
        const o = ev.output;
        if (o.kind === "api_call" && o.op === "register") {
          const c = o.cause;
          const t = c?.kind === "request" ? tracked.get(c.request) : undefined;
          if (t?.what === "register") t.forwarded = o.args as unknown as Body;
          return undefined;
        }
        if (o.kind === "api_call" && o.op === "processing_state") {
          const args = o.args as unknown as Body;
          for (const t of tracked.values()) {
            if (t.what === "report" && t.forwarded === undefined && sameReport(t.body, args)) {
              t.forwarded = args;
              break;
            }
          }
          return undefined;
        }
        if (o.kind !== "ipc_response") return undefined;
        const t = tracked.get(o.id);
        if (!t) return undefined;
        tracked.delete(o.id);
        const code = (o.body as { error?: unknown } | null)?.error;
        if (t.what === "report") return judgeReport(o.id, t, o.status, code);
        if (
          t.wellFormed &&
          (o.status === 400 || o.status === 403) &&
          typeof code === "string" &&
          FORM_REFUSALS.has(code)
        )
          return {
            message: `a well-formed ${t.what} (request ${o.id}) was refused for its form: ${o.status} ${code}.`,
          };
        if (t.what !== "register" || o.status !== 200) return undefined;
        const changed = REGISTER_FIELDS.filter(
          (k) => typeof t.body[k] === "string" && t.forwarded?.[k] !== t.body[k],
        );
        if (t.forwarded === undefined)
          return {
            message: `registration ${o.id} was answered 200 without a register call to the platform.`,
          };
        if (changed.length === 0) return undefined;
        return {
          message: `registration ${o.id} reached the platform with ${changed.map((k) => `${k}=${JSON.stringify(t.forwarded?.[k])} (sent ${JSON.stringify(t.body[k])})`).join(", ")}.`,
        };
      },
    };
  },
});

/** Is the platform event `args` the post of report `b` (ids, state and, if given, event id)? */
function sameReport(b: Body, args: Body): boolean {
  return (
    args.source_message_id === b.source_message_id &&
    args.assignment_id === b.assignment_id &&
    args.state === b.state &&
    (b.state_event_id === undefined || args.state_event_id === b.state_event_id)
  );
}

function judgeReport(id: number, t: Tracked, status: number, code: unknown) {
  const what = `a well-formed ${String(t.body.state)} report (request ${id}, assignment ${String(t.body.assignment_id)})`;
  if (status === 400) return { message: `${what} was refused as malformed: 400 ${String(code)}.` };
  if (status === 403 && typeof code === "string" && code.endsWith("_broker_owned"))
    return { message: `${what} was refused as broker-owned: 403 ${code}.` };
  if (status !== 200) return undefined;
  const f = t.forwarded;
  if (f === undefined) return { message: `${what} was answered 200 but never posted to the platform.` };
  const changed = REPORT_FIELDS.filter((k) => t.body[k] !== undefined && f[k] !== t.body[k]);
  const given = t.body.state_sequence;
  if (typeof given === "number" && !(typeof f.state_sequence === "number" && f.state_sequence >= given))
    changed.push("state_sequence" as never);
  if (changed.length === 0) return undefined;
  return {
    message: `${what} reached the platform changed: ${changed.map((k) => `${k}=${JSON.stringify(f[k])} (reported ${JSON.stringify(t.body[k])})`).join(", ")}.`,
  };
}
