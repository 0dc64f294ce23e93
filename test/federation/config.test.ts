/** The `federation` config block, `-federation-nats`, and the primary claims carried in WAN tags: bad input is refused with the key named. */
import { expect, test } from "bun:test";
import { defaultFederationSettings, federationNatsFlag, mergeFederationBlock, ownNatsUrls } from "../../federation/config.ts";
import { formatClaim, parseClaim, supersedes } from "../../federation/primary_state.ts";
import { natsUrlsOf } from "../../federation/links.ts";

test("a federation block is read, and everything odd in it is refused naming the key", () => {
  const s = mergeFederationBlock(defaultFederationSettings(), { nats: ["nats://127.0.0.1:4222"], datacenters: { dc2: "nats://a:1,nats://b:2" } }, "f.json");
  expect(s.natsUrls).toEqual(["nats://127.0.0.1:4222"]);
  expect(s.datacenters).toEqual({ dc2: ["nats://a:1", "nats://b:2"] });
  expect(ownNatsUrls(defaultFederationSettings(), ["nats://log:1"])).toEqual(["nats://log:1"]);
  expect(defaultFederationSettings().wanGossip).toBe("udp");
  expect(mergeFederationBlock(defaultFederationSettings(), { wan_gossip: "nats" }, "f.json").wanGossip).toBe("nats");
  const bad: [unknown, string][] = [
    [[], "federation must be an object"],
    [{ nats: 5 }, "federation.nats must be a list of NATS URLs"],
    [{ nats: ["http://x"] }, 'federation.nats has "http://x"'],
    [{ datacenters: { "dc.2": ["nats://a:1"] } }, 'federation.datacenters has "dc.2"'],
    [{ datacenters: { "dc2.>": ["nats://a:1"] } }, "not a datacenter name"],
    [{ datacenters: [] }, "federation.datacenters must be an object"],
    [{ bogus: 1 }, "unknown key federation.bogus"],
    [{ wan_gossip: "tcp" }, 'federation.wan_gossip must be "udp" or "nats", got "tcp"'],
    [{ wan_gossip: true }, "federation.wan_gossip must be"],
  ];
  for (const [raw, message] of bad) expect(() => mergeFederationBlock(defaultFederationSettings(), raw, "f.json")).toThrow(message);
  expect(() => federationNatsFlag(["nats://a:1,ftp://b"])).toThrow('"ftp://b"');
});

test("WAN tags: malformed NATS URLs and primary claims are ignored; a higher epoch supersedes", () => {
  const member = (tags: Record<string, string>) => ({ Name: "s", Addr: "", Port: 0, Tags: tags, Status: "alive" as const, ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4 });
  expect(natsUrlsOf(member({ fed_nats: "nats://a:1, tls://b:2,evil,http://c" }))).toEqual(["nats://a:1", "tls://b:2"]);
  expect(natsUrlsOf(member({}))).toEqual([]);
  for (const v of ["", "dc2", "dc2:", "dc2:x", "dc.2:1", `dc2:${"9".repeat(20)}`, "x".repeat(70) + ":1"]) expect(parseClaim(v)).toBeNull();
  expect(parseClaim(formatClaim({ datacenter: "dc2", epoch: 3 }))).toEqual({ datacenter: "dc2", epoch: 3 });
  expect(supersedes({ datacenter: "dc2", epoch: 1 }, { datacenter: "dc1", epoch: 0 })).toBe(true);
  expect(supersedes({ datacenter: "dc1", epoch: 0 }, { datacenter: "dc2", epoch: 1 })).toBe(false);
  expect(supersedes({ datacenter: "dc3", epoch: 0 }, { datacenter: "dc1", epoch: 0 })).toBe(false);
  // Two promotions at the same epoch settle on the same one everywhere.
  expect(supersedes({ datacenter: "dc2", epoch: 2 }, { datacenter: "dc3", epoch: 2 })).toBe(true);
  expect(supersedes({ datacenter: "dc3", epoch: 2 }, { datacenter: "dc2", epoch: 2 })).toBe(false);
});
