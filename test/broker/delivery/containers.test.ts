import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { EndpointRegistry } from "../../../src/broker/endpoints/registry.ts";
import { UndispatchedInbox } from "../../../src/broker/inbound/inbox.ts";
import { RouteCache } from "../../../src/broker/inbound/route-cache.ts";
import { route } from "../../../src/broker/inbound/routing.ts";
import type { EndpointEntry, InboxRow } from "../../../src/broker/model.ts";

const row = (id: string, content = "c"): InboxRow => ({
  id,
  arrived_at: "t",
  sender_address: "s",
  content,
  content_type: "text",
  metadata: {},
  reason: "unaddressed",
});

const entry = (id: string): Omit<EndpointEntry, "order"> => ({
  endpointId: id,
  nonce: "n",
  ownerToken: "t",
  pluginPid: 1,
  kind: "k",
  channel: 1,
  state: "active",
  stateSinceMs: 0,
  capabilities: [],
  headless: false,
});

describe("the undispatched inbox", () => {
  it("refuses a new id at capacity but overwrites an existing one in place", () => {
    const inbox = new UndispatchedInbox(2);
    expect(inbox.tryAdd(row("a"))).toBe(true);
    expect(inbox.tryAdd(row("b"))).toBe(true);
    expect(inbox.tryAdd(row("c"))).toBe(false);
    expect(inbox.tryAdd(row("a", "new"))).toBe(true);
    expect(inbox.ids()).toEqual(["a", "b"]);
    expect(inbox.get("a")?.content).toBe("new");
    expect(inbox.take("a")?.id).toBe("a");
    expect(inbox.tryAdd(row("c"))).toBe(true);
  });

  it("never holds more rows than its capacity", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 }))),
        (cap, ops) => {
          const inbox = new UndispatchedInbox(cap);
          for (const [add, n] of ops) {
            if (add) inbox.tryAdd(row(`r${n}`));
            else inbox.take(`r${n}`);
            expect(inbox.size).toBeLessThanOrEqual(cap);
          }
        },
      ),
    );
  });
});

describe("the delivered-route cache", () => {
  it("forgets the oldest entry beyond its cap", () => {
    const cache = new RouteCache(2);
    const ev = (id: string) => ({
      type: "runtime_inbound_routed" as const,
      version: 1 as const,
      source_message_id: id,
      routed_to_endpoint_id: "e",
      route_kind: "active_endpoint" as const,
      routed_at: 0,
    });
    cache.set("a", ev("a"));
    cache.set("b", ev("b"));
    cache.set("c", ev("c"));
    expect(cache.get("a")).toBeUndefined();
    expect(cache.get("c")?.source_message_id).toBe("c");
    expect(cache.size).toBe(2);
  });
});

describe("the registry's correlation rings", () => {
  it("keeps at most the configured number of ids, dropping the oldest", () => {
    const reg = new EndpointRegistry(2);
    reg.add(entry("e"));
    reg.ringAdd("e", "1");
    reg.ringAdd("e", "2");
    reg.ringAdd("e", "3");
    expect(reg.ringHas("e", "1")).toBe(false);
    expect(reg.ringHas("e", "3")).toBe(true);
    expect(reg.ringSize("e")).toBe(2);
  });
});

describe("routing", () => {
  it("prefers a registered target, then the first ring in registration order, skipping the sender", () => {
    const reg = new EndpointRegistry(10);
    reg.add(entry("a"));
    reg.add(entry("b"));
    reg.add(entry("c"));
    reg.ringAdd("a", "cid");
    reg.ringAdd("b", "cid");
    reg.ringAdd("c", "cid");
    const byTarget = route(reg, { targetEndpointId: "c", correlationId: "cid" });
    expect(byTarget.kind === "endpoint" && byTarget.entry.endpointId).toBe("c");
    const byRing = route(reg, { correlationId: "cid", sourceEndpointId: "a" });
    expect(byRing.kind === "endpoint" && [byRing.entry.endpointId, byRing.collisions]).toEqual(["b", ["c"]]);
    expect(route(reg, { targetEndpointId: "zz" }).kind).toBe("no_match");
    const unknownTarget = route(reg, { targetEndpointId: "zz", correlationId: "cid" });
    expect(unknownTarget.kind === "endpoint" && unknownTarget.via).toBe("correlation");
  });
});
