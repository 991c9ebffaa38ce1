import { describe, expect, it } from "vitest";
import { BrokerPair } from "../../support/broker-pair.ts";

describe("endpoint registration over IPC", () => {
  it("takes capabilities under the published SDK's name runtime_capabilities", () => {
    const p = new BrokerPair();
    p.connect();
    p.register(100, 1, { runtime_capabilities: ["background_exchange_v1"] });
    const call = p.allCalls("register").at(-1)!;
    expect(call.args.capabilities).toEqual(["background_exchange_v1"]);
  });

  it("still accepts the capabilities alias and merges both without duplicates", () => {
    const p = new BrokerPair();
    p.connect();
    p.register(101, 2, { runtime_capabilities: ["a_v1"], capabilities: ["a_v1", "b_v1"] });
    expect(p.allCalls("register").at(-1)!.args.capabilities).toEqual(["a_v1", "b_v1"]);
  });

  it("rejects runtime_capabilities that is not a list of strings with 400", () => {
    const p = new BrokerPair();
    p.connect();
    p.openChannel(3, 102);
    const id = p.request("POST", "/v1/endpoint/register", {
      plugin_pid: 102,
      kind: "claude",
      runtime_capabilities: 7,
    });
    expect(p.response(id)?.status).toBe(400);
    expect(p.allCalls("register")).toHaveLength(0);
  });
});
