/** Service virtual IPs in the state store: who gets one, reuse after free, rollback, snapshots. */
import { describe, expect, test } from "bun:test";
import { MessageType, StateStore } from "../../src/state/mod.ts";
import { MAX_OFFSET, offsetToIp, virtualIpForService, virtualIpList } from "../../src/state/virtual_ips.ts";
import { deregisterCmd, NOW, register, registration, service } from "./helpers.ts";

const native = (name: string, port = 80) => service(name, name, { Port: port, Connect: { Native: true } });
const proxy = (id: string, dest: string, port = 21000) => service(id, `${dest}-sidecar-proxy`, { Kind: "connect-proxy", Port: port, Proxy: { DestinationServiceName: dest } });
const entry = (s: StateStore, i: number, e: Record<string, unknown> & { Kind: string; Name: string }, op: "upsert" | "delete" = "upsert") => {
  const r = s.apply(i, { Type: MessageType.ConfigEntry, Now: NOW, Op: op, Entry: e });
  if (!r.ok) throw new Error(r.error);
};
const tagged = (s: StateStore, node: string, id: string) => s.t.services.get(`${node}\u0000${id}`)!.Service.TaggedAddresses;

describe("allocation", () => {
  test("a connect-native service and a proxy's destination get addresses from 240.0.0.1 on, carried as consul-virtual with the instance's port", () => {
    const s = new StateStore();
    register(s, 1, registration("n1", { Service: native("web", 8080) }));
    register(s, 2, registration("n1", { Service: proxy("api-proxy", "api") }));
    register(s, 3, registration("n2", { Service: native("web", 9090) })); // same name: same address
    register(s, 4, registration("n2", { Service: service("plain", "plain") })); // not in the mesh: none
    expect(virtualIpForService(s.t, "web")).toBe("240.0.0.1");
    expect(virtualIpForService(s.t, "API")).toBe("240.0.0.2"); // names match case-insensitively
    expect(virtualIpForService(s.t, "plain")).toBe("");
    expect(tagged(s, "n1", "web")["consul-virtual"]).toEqual({ Address: "240.0.0.1", Port: 8080 });
    expect(tagged(s, "n2", "web")["consul-virtual"]).toEqual({ Address: "240.0.0.1", Port: 9090 });
    expect(tagged(s, "n1", "api-proxy")["consul-virtual"]).toEqual({ Address: "240.0.0.2", Port: 21000 });
    expect(tagged(s, "n2", "plain")).toEqual({});
    expect(virtualIpList(s.t).map((r) => [r.Service, r.IP])).toEqual([["web", "240.0.0.1"], ["api", "240.0.0.2"]]);
  });

  test("a client's own consul-virtual is replaced by the assigned one; re-registering the same instance writes nothing", () => {
    const s = new StateStore();
    register(s, 1, registration("n1", { Service: native("web", 80) }));
    register(s, 2, registration("n1", { Service: { ...native("web", 80), TaggedAddresses: { "consul-virtual": { Address: "240.9.9.9", Port: 1 } } } }));
    expect(tagged(s, "n1", "web")["consul-virtual"]!.Address).toBe("240.0.0.1");
    const before = s.t.services.get("n1\u0000web")!.Service.ModifyIndex;
    register(s, 3, registration("n1", { Service: native("web", 80) }));
    expect(s.t.services.get("n1\u0000web")!.Service.ModifyIndex).toBe(before);
  });

  test("resolver, router and splitter entries get their service one", () => {
    const s = new StateStore();
    entry(s, 1, { Kind: "service-resolver", Name: "db" });
    expect(virtualIpForService(s.t, "db")).toBe("240.0.0.1");
    entry(s, 2, { Kind: "service-defaults", Name: "cache", Protocol: "http" }); // defaults alone: none
    expect(virtualIpForService(s.t, "cache")).toBe("");
  });

  test("a terminating gateway's linked services get one each, on its instances as consul-virtual:<service>; the links follow the entry", () => {
    const s = new StateStore();
    const gw = service("tgw", "tgw", { Kind: "terminating-gateway", Port: 8443, TaggedAddresses: { lan: { Address: "10.0.0.5", Port: 8443 } } });
    register(s, 1, registration("g1", { Service: gw }));
    register(s, 2, registration("n1", { Service: native("api") }));
    entry(s, 3, { Kind: "terminating-gateway", Name: "tgw", Services: [{ Name: "api" }, { Name: "billing" }, { Name: "*" }] });
    expect(tagged(s, "g1", "tgw")).toEqual({ lan: { Address: "10.0.0.5", Port: 8443 }, "consul-virtual:api": { Address: "240.0.0.1", Port: 0 }, "consul-virtual:billing": { Address: "240.0.0.2", Port: 0 } });
    // a gateway instance registered later carries them too
    register(s, 4, registration("g2", { Service: gw }));
    expect(Object.keys(tagged(s, "g2", "tgw")).sort()).toEqual(["consul-virtual:api", "consul-virtual:billing", "lan"]);
    // billing unlinked: gone from the instances, its address freed (nothing else holds it); api is still held by its instance
    entry(s, 5, { Kind: "terminating-gateway", Name: "tgw", Services: [{ Name: "api" }] });
    expect(Object.keys(tagged(s, "g1", "tgw")).sort()).toEqual(["consul-virtual:api", "lan"]);
    expect(virtualIpForService(s.t, "billing")).toBe("");
    entry(s, 6, { Kind: "terminating-gateway", Name: "tgw" }, "delete");
    expect(tagged(s, "g1", "tgw")).toEqual({ lan: { Address: "10.0.0.5", Port: 8443 } });
    expect(virtualIpForService(s.t, "api")).toBe("240.0.0.1");
  });
});

describe("freeing", () => {
  test("the address goes back when the last instance of the service (and of its proxies) goes, and the lowest freed one is reused first", () => {
    const s = new StateStore();
    register(s, 1, registration("n1", { Service: native("a") }));
    register(s, 2, registration("n1", { Service: native("b") }));
    register(s, 3, registration("n2", { Service: native("b") }));
    register(s, 4, registration("n1", { Service: native("c") }));
    register(s, 5, registration("n1", { Service: proxy("c-proxy", "c") }));
    expect(s.apply(6, deregisterCmd("n1", "b")).ok).toBe(true);
    expect(virtualIpForService(s.t, "b")).toBe("240.0.0.2"); // n2 still has one
    expect(s.apply(7, deregisterCmd("n2")).ok).toBe(true);
    expect(virtualIpForService(s.t, "b")).toBe("");
    expect(s.apply(8, deregisterCmd("n1", "c")).ok).toBe(true);
    expect(virtualIpForService(s.t, "c")).toBe("240.0.0.3"); // its proxy still carries it
    expect(s.apply(9, deregisterCmd("n1", "c-proxy")).ok).toBe(true);
    expect(virtualIpForService(s.t, "c")).toBe("");
    expect(s.apply(10, deregisterCmd("n1", "a")).ok).toBe(true);
    // freed: .1, .2, .3; the lowest first, then the counter moves on
    register(s, 11, registration("n3", { Service: native("d") }));
    register(s, 12, registration("n3", { Service: native("e") }));
    register(s, 13, registration("n3", { Service: native("f") }));
    register(s, 14, registration("n3", { Service: native("g") }));
    expect(["d", "e", "f", "g"].map((n) => virtualIpForService(s.t, n))).toEqual(["240.0.0.1", "240.0.0.2", "240.0.0.3", "240.0.0.4"]);
  });

  test("an entry of the service's name keeps it; deleting the last holder frees it", () => {
    const s = new StateStore();
    register(s, 1, registration("n1", { Service: native("web") }));
    entry(s, 2, { Kind: "service-defaults", Name: "web", Protocol: "http" });
    expect(s.apply(3, deregisterCmd("n1")).ok).toBe(true);
    expect(virtualIpForService(s.t, "web")).toBe("240.0.0.1");
    entry(s, 4, { Kind: "service-defaults", Name: "web" }, "delete");
    expect(virtualIpForService(s.t, "web")).toBe("");
    entry(s, 5, { Kind: "service-resolver", Name: "r" });
    expect(virtualIpForService(s.t, "r")).toBe("240.0.0.1");
    entry(s, 6, { Kind: "service-resolver", Name: "r" }, "delete");
    expect(virtualIpForService(s.t, "r")).toBe("");
  });

  test("a failed write rolls the allocation back with it", () => {
    const s = new StateStore();
    // the check names a service the request does not register: the whole registration fails after the service was stored
    const r = s.apply(1, { Type: MessageType.Register, Now: NOW, Req: registration("n1", { Service: native("web"), Checks: [{ ...checkFor("n1"), ServiceID: "missing" }] }) });
    expect(r.ok).toBe(false);
    expect(virtualIpList(s.t)).toEqual([]);
    register(s, 2, registration("n1", { Service: native("api") }));
    expect(virtualIpForService(s.t, "api")).toBe("240.0.0.1");
  });

  test("the range ends below 255.255.255.255", () => {
    expect(offsetToIp(1)).toBe("240.0.0.1");
    expect(offsetToIp(256)).toBe("240.0.1.0");
    expect(offsetToIp(MAX_OFFSET)).toBe("255.255.255.253");
  });
});

test("a snapshot carries allocations, freed addresses and the counter; a restored store allocates exactly as the original", () => {
  const s = new StateStore();
  for (const [i, n] of ["a", "b", "c", "d"].entries()) register(s, i + 1, registration("n1", { Service: native(n) }));
  expect(s.apply(5, deregisterCmd("n1", "b")).ok).toBe(true);
  const restored = new StateStore();
  restored.restore(s.snapshot());
  expect(virtualIpList(restored.t)).toEqual(virtualIpList(s.t));
  for (const store of [s, restored]) {
    register(store, 6, registration("n2", { Service: native("x") }));
    register(store, 7, registration("n2", { Service: native("y") }));
  }
  expect(virtualIpForService(restored.t, "x")).toBe("240.0.0.2"); // the freed one
  expect(virtualIpForService(restored.t, "y")).toBe("240.0.0.5"); // then the counter
  expect(new TextDecoder().decode(restored.snapshot())).toBe(new TextDecoder().decode(s.snapshot()));
  // a snapshot from before virtual IPs loads with none
  const old = JSON.parse(new TextDecoder().decode(s.snapshot())) as Record<string, unknown>;
  delete old.VirtualIPs;
  delete old.FreeVirtualIPs;
  const fromOld = new StateStore();
  fromOld.restore(new TextEncoder().encode(JSON.stringify(old)));
  expect(virtualIpList(fromOld.t)).toEqual([]);
  // a malformed row refuses the whole snapshot
  const bad = { ...old, VirtualIPs: [{ Service: "x", IP: -1, CreateIndex: 1, ModifyIndex: 1 }] };
  expect(() => new StateStore().restore(new TextEncoder().encode(JSON.stringify(bad)))).toThrow(/VirtualIPs\[0\] is malformed/);
});

function checkFor(node: string) {
  return { Node: node, CheckID: "c", Name: "c", Status: "passing", Notes: "", Output: "", ServiceID: "", ServiceName: "", ServiceTags: [], Type: "", Interval: "", Timeout: "", ExposedPort: 0, Definition: {} };
}
