import { describe, expect, it } from "vitest";
import type { RegisterArgs } from "../../src/broker/api.ts";
import { registerArgsFromWire, registerWireBody } from "../../src/daemon/register-wire.ts";

const args: RegisterArgs = {
  nonce: "n-1",
  plugin_pid: 4242,
  kind: "claude",
  agent_id: "agent-7",
  capabilities: ["background_exchange_v1"],
  workspace: { root: "/w", cwd: "/w/src" },
  runtime_session_id: "rs-1",
  background_exchange_mode: "resident_endpoint",
  display_label: "claude · w",
};

describe("the platform register body", () => {
  it("uses the published wire names runtime_kind, endpoint_nonce and runtime_capabilities", () => {
    const body = registerWireBody(args);
    expect(body).toMatchObject({
      runtime_kind: "claude",
      endpoint_nonce: "n-1",
      runtime_capabilities: ["background_exchange_v1"],
      runtime_session_id: "rs-1",
      background_exchange_mode: "resident_endpoint",
    });
    expect(body).not.toHaveProperty("kind");
    expect(body).not.toHaveProperty("nonce");
    expect(body).not.toHaveProperty("capabilities");
  });

  it("omits runtime_capabilities when there are none", () => {
    expect(registerWireBody({ ...args, capabilities: [] }).runtime_capabilities).toBeUndefined();
  });

  it("round-trips through the stub's reader", () => {
    expect(registerArgsFromWire(JSON.parse(JSON.stringify(registerWireBody(args))))).toEqual(args);
  });

  it("reads a malformed body as neutral values instead of throwing", () => {
    expect(registerArgsFromWire("nonsense")).toMatchObject({
      kind: "",
      nonce: "",
      capabilities: [],
      plugin_pid: 0,
    });
  });
});
