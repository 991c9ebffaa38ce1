import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

/**
 * X3 Every IPC error answer is the PROTOCOL §3.1 envelope (our addition beside §7; X2 asks it of
 * bad input only).
 *
 * Theory of operation:
 * 1. An `ipc_response` with a status of 400 or more is an error answer, whatever the request was:
 *    its body must be a JSON object whose `error` is a non-empty string (the code clients branch
 *    on) and whose `message` is a non-empty string (the text a person reads).
 * 2. The optional fields §3.1 names have their types when present: `retryable` and
 *    `outcome_unknown` are booleans, `reason_code` and `assignment_failure_category` non-empty
 *    strings. A client that reads `retryable: "yes"` as truthy retries what it must not.
 * 3. Nothing else is judged here: which code and status a request deserves is X2's (bad input),
 *    I2's (owners), A12's (well-formed reports) and the routes' own tests'.
 */

const BOOLEAN_FIELDS = ["retryable", "outcome_unknown"] as const;
const STRING_FIELDS = ["reason_code", "assignment_failure_category"] as const;

const nonEmptyString = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/** Why `body`, the body of an error answer, is not the §3.1 envelope; undefined when it is. */
export function envelopeFault(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return "its body is not a JSON object";
  const b = body as Record<string, unknown>;
  if (!nonEmptyString(b.error))
    return b.error === undefined ? "it has no error code" : `its error code is ${JSON.stringify(b.error)}`;
  if (!nonEmptyString(b.message))
    return b.message === undefined ? "it has no message" : `its message is ${JSON.stringify(b.message)}`;
  for (const k of BOOLEAN_FIELDS) {
    if (b[k] !== undefined && typeof b[k] !== "boolean")
      return `its ${k} is ${JSON.stringify(b[k])}, not a boolean`;
  }
  for (const k of STRING_FIELDS) {
    if (b[k] !== undefined && !nonEmptyString(b[k]))
      return `its ${k} is ${JSON.stringify(b[k])}, not a non-empty string`;
  }
  return undefined;
}

export const X3 = defineChecker({
  id: "X3",
  kind: "safety",
  kinds: ["in:ipc_request", "out:ipc_response", "start"],
  statement:
    "Every IPC answer with status 400 or more is the §3.1 error envelope: a non-empty error code and message, and retryable, outcome_unknown, reason_code and assignment_failure_category of their types when present.",
  create() {
    /** Open requests of this process: id → the request, described. */
    const requests = new Map<number, string>();
    return {
      onEvent(ev) {
        if (ev.k === "start") {
          requests.clear();
          return undefined;
        }
        if (ev.k === "in" && ev.input.kind === "ipc_request") {
          requests.set(ev.input.id, `${ev.input.method} ${ev.input.path}`);
          return undefined;
        }
        if (ev.k !== "out" || ev.output.kind !== "ipc_response") return undefined;
        const o = ev.output;
        const req = requests.get(o.id);
        requests.delete(o.id);
        if (o.status < 400) return undefined;
        const fault = envelopeFault(o.body);
        if (fault === undefined) return undefined;
        return {
          message: `request ${o.id}${req === undefined ? "" : ` (${req})`} was answered ${o.status}, but ${fault}; an error answer carries {error: <code>, message: <text>} (PROTOCOL §3.1).`,
          involved: [describe(ev)],
        };
      },
    };
  },
});
