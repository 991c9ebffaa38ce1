import { defineChecker } from "../checker.ts";
import { describe } from "../util.ts";

const BROKER_OWNED = new Set(["assigned_to_runtime_target", "reply_requested", "reply_emitted"]);

/** A2 Broker ownership (PROTOCOL §7.3). */
export const A2 = defineChecker({
  id: "A2",
  kind: "safety",
  kinds: ["out:api_call"],
  statement:
    "assigned_to_runtime_target, reply_requested and reply_emitted are never forwarded from an adapter's processing-state request.",
  create() {
    return {
      onEvent(ev, v) {
        if (ev.k !== "out" || ev.output.kind !== "api_call" || ev.output.op !== "processing_state")
          return undefined;
        const input = v.stepInput;
        if (input?.kind !== "ipc_request" || input.path !== "/v1/runtime/processing-state") return undefined;
        const body = (input.body ?? {}) as Record<string, unknown>;
        const posted = ev.output.args.state;
        if (BROKER_OWNED.has(posted) || BROKER_OWNED.has(String(body.state))) {
          return {
            message: `an adapter processing-state request (state ${String(body.state)}) made the broker post ${posted}, a broker-owned state.`,
            involved: [describe(ev)],
          };
        }
        return undefined;
      },
    };
  },
});
