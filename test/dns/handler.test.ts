/** handleDns over a real state store: query forms, records, rcodes, health, TTLs, limits. */
import { describe, expect, test } from "bun:test";
import { AA, ask, Catalog, check, dataOf, env, NOW_MS, rows, seeded, service, TC, ttls } from "./_fixture.ts";

function webCatalog(): Catalog {
  return new Catalog()
    .service("web1", "10.0.0.1", service("web", "web", { Port: 80, Tags: ["blue", "v1.2"] }), [], { NodeMeta: { rack: "r1", "rfc1035-raw": "a=b c" } })
    .service("web2", "10.0.0.2", service("web", "web", { Port: 81, Tags: ["green"] }))
    .service("web3", "10.0.0.3", service("web", "web", { Port: 82, Address: "192.168.1.3" }));
}

describe("service lookups", () => {
  test("A answers every healthy instance, authoritative, TTL 0 by default", async () => {
    const r = await ask(env(webCatalog()), "web.service.consul", "A");
    expect(r.rcode).toBe("NOERROR");
    expect(r.flags & AA).toBe(AA);
    expect(rows(r.answers).sort()).toEqual(["web.service.consul A 10.0.0.1", "web.service.consul A 10.0.0.2", "web.service.consul A 192.168.1.3"]);
    expect(ttls(r.answers)).toEqual([0, 0, 0]);
    expect(r.questions[0]).toEqual({ name: "web.service.consul", type: "A", class: "IN" });
  });

  test("names are case-insensitive and the question and owners come back as asked (0x20)", async () => {
    const r = await ask(env(webCatalog()), "WEB.Service.CONSUL", "A");
    expect(r.answers).toHaveLength(3);
    expect(r.questions[0]!.name).toBe("WEB.Service.CONSUL");
    expect(new Set(r.answers.map((a) => a.name))).toEqual(new Set(["WEB.Service.CONSUL"]));
  });

  test("tag filter, tags with dots, the explicit local datacenter", async () => {
    const e = env(webCatalog());
    expect(rows((await ask(e, "blue.web.service.consul", "A")).answers)).toEqual(["blue.web.service.consul A 10.0.0.1"]);
    expect(rows((await ask(e, "v1.2.web.service.consul", "A")).answers)).toEqual(["v1.2.web.service.consul A 10.0.0.1"]);
    expect(rows((await ask(e, "GREEN.web.service.dc1.consul", "A")).answers)).toEqual(["GREEN.web.service.dc1.consul A 10.0.0.2"]);
    expect((await ask(e, "web.service.dc1.dc.consul", "A")).answers).toHaveLength(3);
    const none = await ask(e, "red.web.service.consul", "A");
    expect(none.rcode).toBe("NXDOMAIN");
  });

  test("unknown service, unknown datacenter and peers are NXDOMAIN with the SOA in authority", async () => {
    const e = env(webCatalog());
    for (const name of ["nope.service.consul", "web.service.dc9.consul", "web.service.other.peer.consul", "web.bogus.consul", "service.consul", "web.service.a.b.c.consul"]) {
      const r = await ask(e, name, "A");
      expect(r.rcode).toBe("NXDOMAIN");
      expect(r.flags & AA).toBe(AA);
      expect(rows(r.authorities)).toEqual(["consul SOA ns.consul hostmaster.consul"]);
      expect(r.answers).toEqual([]);
    }
  });

  test("a name that exists without records of the type is NODATA: NOERROR, SOA in authority", async () => {
    const r = await ask(env(webCatalog()), "web.service.consul", "AAAA");
    expect(r.rcode).toBe("NOERROR");
    expect(r.answers).toEqual([]);
    expect(rows(r.authorities)).toEqual(["consul SOA ns.consul hostmaster.consul"]);
    const soa = r.authorities![0] as { ttl: number; data: { serial: number; refresh: number; retry: number; expire: number; minimum: number } };
    expect(soa.data).toMatchObject({ serial: NOW_MS / 1000, refresh: 3600, retry: 600, expire: 86400, minimum: 0 });
  });

  test("SRV: node targets with glue and node-meta TXT, hex addr targets for service IPs", async () => {
    const r = await ask(env(webCatalog()), "web.service.consul", "SRV");
    expect(rows(r.answers).sort()).toEqual([
      "web.service.consul SRV 1 1 80 web1.node.dc1.consul",
      "web.service.consul SRV 1 1 81 web2.node.dc1.consul",
      "web.service.consul SRV 1 1 82 c0a80103.addr.dc1.consul",
    ]);
    expect(rows(r.additionals).sort()).toEqual([
      "c0a80103.addr.dc1.consul A 192.168.1.3",
      "web1.node.dc1.consul A 10.0.0.1",
      "web1.node.dc1.consul TXT a=b c",
      "web1.node.dc1.consul TXT rack=r1",
      "web2.node.dc1.consul A 10.0.0.2",
    ]);
  });

  test("RFC 2782 forms: _svc._tcp (no tag), _svc._tag, and without the .service label", async () => {
    const e = env(webCatalog());
    expect((await ask(e, "_web._tcp.service.consul", "SRV")).answers).toHaveLength(3);
    expect(rows((await ask(e, "_web._green.service.consul", "SRV")).answers)).toEqual(["_web._green.service.consul SRV 1 1 81 web2.node.dc1.consul"]);
    expect((await ask(e, "_web._tcp.consul", "SRV")).answers).toHaveLength(3);
    expect((await ask(e, "_web._tcp.dc1.consul", "SRV")).answers).toHaveLength(3);
    // Without a kind label the RFC 2782 form is only an SRV question.
    expect((await ask(e, "_web._tcp.consul", "A")).rcode).toBe("NXDOMAIN");
  });

  test("ANY and TXT questions answer the addresses too (makeARecord)", async () => {
    const e = env(webCatalog());
    expect((await ask(e, "web.service.consul", "ANY")).answers).toHaveLength(3);
    expect((await ask(e, "web.service.consul", "TXT")).answers).toHaveLength(3);
    const mx = await ask(e, "web.service.consul", "MX");
    expect(mx.rcode).toBe("NOERROR");
    expect(mx.answers).toEqual([]);
  });

  test("IPv6 service addresses answer AAAA, and SRV glue is AAAA", async () => {
    const c = new Catalog().service("v6", "10.9.9.9", service("db", "db", { Port: 5432, Address: "2001:db8::1" }));
    const e = env(c);
    expect(rows((await ask(e, "db.service.consul", "AAAA")).answers)).toEqual(["db.service.consul AAAA 2001:db8::1"]);
    expect((await ask(e, "db.service.consul", "A")).answers).toEqual([]);
    const srv = await ask(e, "db.service.consul", "SRV");
    expect(rows(srv.answers)).toEqual(["db.service.consul SRV 1 1 5432 20010db8000000000000000000000001.addr.dc1.consul"]);
    expect(rows(srv.additionals)).toEqual(["20010db8000000000000000000000001.addr.dc1.consul AAAA 2001:db8::1"]);
  });

  test("tagged lan_ipv4 / lan_ipv6 addresses are chosen by question type", async () => {
    const c = new Catalog().service("dual", "10.0.0.7", service("api", "api", { Port: 1, TaggedAddresses: { lan_ipv4: { Address: "10.1.1.1", Port: 1 }, lan_ipv6: { Address: "fd00::1", Port: 1 } } }));
    const e = env(c);
    expect(rows((await ask(e, "api.service.consul", "A")).answers)).toEqual(["api.service.consul A 10.1.1.1"]);
    expect(rows((await ask(e, "api.service.consul", "AAAA")).answers)).toEqual(["api.service.consul AAAA fd00::1"]);
  });
});

describe("health", () => {
  function healthCatalog(): Catalog {
    return new Catalog()
      .service("ok", "10.0.0.1", service("api", "api", { Port: 1, Weights: { Passing: 10, Warning: 3 } }), [check("ok", "c1", { ServiceID: "api", ServiceName: "api", Status: "passing" })])
      .service("warn", "10.0.0.2", service("api", "api", { Port: 2, Weights: { Passing: 10, Warning: 3 } }), [check("warn", "c2", { ServiceID: "api", ServiceName: "api", Status: "warning" })])
      .service("crit", "10.0.0.3", service("api", "api", { Port: 3 }), [check("crit", "c3", { ServiceID: "api", ServiceName: "api", Status: "critical" })])
      .service("nodecrit", "10.0.0.4", service("api", "api", { Port: 4 }), [check("nodecrit", "serfHealth", { Status: "critical" })]);
  }

  test("critical instances (own or node checks) are left out; warning stays", async () => {
    const r = await ask(env(healthCatalog()), "api.service.consul", "A");
    expect(rows(r.answers).sort()).toEqual(["api.service.consul A 10.0.0.1", "api.service.consul A 10.0.0.2"]);
  });

  test("only_passing leaves warning out too", async () => {
    const r = await ask(env(healthCatalog(), { onlyPassing: true }), "api.service.consul", "A");
    expect(rows(r.answers)).toEqual(["api.service.consul A 10.0.0.1"]);
  });

  test("SRV weight follows the aggregate status", async () => {
    const r = await ask(env(healthCatalog()), "api.service.consul", "SRV");
    expect(rows(r.answers).sort()).toEqual(["api.service.consul SRV 1 10 1 ok.node.dc1.consul", "api.service.consul SRV 1 3 2 warn.node.dc1.consul"]);
  });

  test("every instance critical is NXDOMAIN", async () => {
    const c = new Catalog().service("crit", "10.0.0.3", service("api", "api"), [check("crit", "c3", { ServiceID: "api", Status: "critical" })]);
    expect((await ask(env(c), "api.service.consul", "A")).rcode).toBe("NXDOMAIN");
  });
});

describe("order, TTLs and limits", () => {
  function many(n: number): Catalog {
    const c = new Catalog();
    for (let i = 1; i <= n; i++) c.service(`n${i}`, `10.0.${Math.floor(i / 250)}.${i % 250}`, service("big", "big", { Port: 1000 + i }));
    return c;
  }

  test("answers are shuffled by the injected random source", async () => {
    const c = many(8);
    const order = async (seed: number) => {
      const e = env(c, { udpAnswerLimit: 8 });
      e.random = seeded(seed);
      return rows((await ask(e, "big.service.consul", "A", { edns: 4096 })).answers).join(",");
    };
    expect(await order(7)).toBe(await order(7));
    const seen = new Set<string>();
    for (let s = 1; s <= 10; s++) seen.add(await order(s));
    expect(seen.size).toBeGreaterThan(5);
  });

  test("node_ttl, and service_ttl by exact name, then longest prefix*, then *", async () => {
    const c = webCatalog().service("db1", "10.0.1.1", service("db-main", "db-main")).service("db2", "10.0.1.2", service("dbx", "dbx")).service("o1", "10.0.1.3", service("other", "other"));
    const e = env(c, { nodeTtlMs: 30_000, serviceTtlMs: { web: 5_000, "db*": 7_000, "db-*": 9_000, "*": 11_000 } });
    const node = await ask(e, "web1.node.consul", "A");
    expect(ttls(node.answers)).toEqual([30]);
    expect(ttls(node.additionals)).toEqual([30, 30]);
    expect(ttls((await ask(e, "web.service.consul", "A")).answers)).toEqual([5, 5, 5]);
    expect(ttls((await ask(e, "db-main.service.consul", "A")).answers)).toEqual([9]);
    expect(ttls((await ask(e, "dbx.service.consul", "A")).answers)).toEqual([7]);
    expect(ttls((await ask(e, "other.service.consul", "A")).answers)).toEqual([11]);
    expect(ttls((await ask(e, "web.service.consul", "SRV")).answers)).toEqual([5, 5, 5]);
  });

  test("a_record_limit caps A answers on every transport", async () => {
    const e = env(many(10), { aRecordLimit: 2 });
    expect((await ask(e, "big.service.consul", "A", { transport: "tcp" })).answers).toHaveLength(2);
    expect((await ask(e, "big.service.consul", "A", { edns: 4096 })).answers).toHaveLength(2);
    // SRV is not an address answer.
    expect((await ask(e, "big.service.consul", "SRV", { transport: "tcp" })).answers).toHaveLength(10);
  });

  test("UDP without EDNS: udp_answer_limit (3), no TC unless enable_truncate; TCP gets everything", async () => {
    const c = many(10);
    const plain = await ask(env(c), "big.service.consul", "A");
    expect(plain.answers).toHaveLength(3);
    expect(plain.flags & TC).toBe(0);
    const truncating = await ask(env(c, { enableTruncate: true }), "big.service.consul", "A");
    expect(truncating.answers).toHaveLength(3);
    expect(truncating.flags & TC).toBe(TC);
    expect((await ask(env(c, { udpAnswerLimit: 5 }), "big.service.consul", "A")).answers).toHaveLength(5);
    expect((await ask(env(c, { udpAnswerLimit: 50 }), "big.service.consul", "A")).answers).toHaveLength(8);
    const tcp = await ask(env(c, { enableTruncate: true }), "big.service.consul", "A", { transport: "tcp" });
    expect(tcp.answers).toHaveLength(10);
    expect(tcp.flags & TC).toBe(0);
  });

  test("EDNS0: the client's buffer size bounds the answer, and the OPT is echoed", async () => {
    const c = many(300);
    const big = await ask(env(c, { udpMaxPayload: 65535 }), "big.service.consul", "A", { edns: 8192 });
    expect(big.answers).toHaveLength(300);
    const fits = await ask(env(c, { udpMaxPayload: 65535 }), "big.service.consul", "A", { edns: 4096 });
    expect(fits.raw.length).toBeLessThanOrEqual(4096);
    expect(fits.answers!.length).toBeGreaterThan(200);
    const opt = big.additionals!.find((a) => a.type === "OPT") as { udpPayloadSize: number } | undefined;
    expect(opt?.udpPayloadSize).toBe(8192);
    const small = await ask(env(c, { enableTruncate: true }), "big.service.consul", "SRV", { edns: 1232 });
    expect(small.raw.length).toBeLessThanOrEqual(1232);
    expect(small.answers!.length).toBeGreaterThan(3);
    expect(small.answers!.length).toBeLessThan(300);
    expect(small.flags & TC).toBe(TC);
    // Every SRV left has its glue, and no glue is left without its SRV.
    const targets = new Set(small.answers.map((a) => dataOf<{ target: string }>(a).target));
    const glue = new Set(small.additionals!.filter((a) => a.type === "A").map((a) => a.name));
    expect(glue).toEqual(targets);
    const noEdns = await ask(env(c), "big.service.consul", "SRV");
    expect(noEdns.raw.length).toBeLessThanOrEqual(512);
  });

  test("a UDP answer is capped at 1232 bytes (udp_max_payload) whatever EDNS size the client claims", async () => {
    const c = many(300);
    const r = await ask(env(c, { enableTruncate: true }), "big.service.consul", "A", { edns: 65535 });
    expect(r.raw.length).toBeLessThanOrEqual(1232);
    expect(r.flags & TC).toBe(TC);
    const raised = await ask(env(c, { udpMaxPayload: 4096 }), "big.service.consul", "A", { edns: 65535 });
    expect(raised.raw.length).toBeGreaterThan(1232);
    expect(raised.raw.length).toBeLessThanOrEqual(4096);
  });

  test("a TCP answer stays under 64 KiB however many instances there are", async () => {
    const r = await ask(env(many(5000), { enableTruncate: true }), "big.service.consul", "SRV", { transport: "tcp" });
    expect(r.raw.length).toBeLessThanOrEqual(65535);
    expect(r.answers!.length).toBeGreaterThan(100);
    expect(r.answers!.length).toBeLessThanOrEqual(1024);
    expect(r.flags & TC).toBe(TC);
  });

  test("disable_compression sends names in full", async () => {
    const c = many(5);
    const on = await ask(env(c), "big.service.consul", "SRV", { edns: 4096 });
    const off = await ask(env(c, { disableCompression: true }), "big.service.consul", "SRV", { edns: 4096 });
    expect(rows(off.answers).sort()).toEqual(rows(on.answers).sort());
    expect(off.raw.length).toBeGreaterThan(on.raw.length + 50);
  });
});

describe("nodes", () => {
  test("A plus meta TXT in additional; TXT and ANY put the meta in the answer", async () => {
    const e = env(webCatalog());
    const a = await ask(e, "web1.node.consul", "A");
    expect(rows(a.answers)).toEqual(["web1.node.consul A 10.0.0.1"]);
    expect(rows(a.additionals).sort()).toEqual(["web1.node.consul TXT a=b c", "web1.node.consul TXT rack=r1"]);
    expect(rows((await ask(e, "web1.node.dc1.consul", "TXT")).answers).sort()).toEqual(["web1.node.dc1.consul TXT a=b c", "web1.node.dc1.consul TXT rack=r1"]);
    expect((await ask(e, "WEB1.node.consul", "ANY")).answers).toHaveLength(3);
    const noMeta = await ask(env(webCatalog(), { nodeMetaTxt: false }), "web1.node.consul", "A");
    expect(rows(noMeta.additionals)).toEqual([]);
  });

  test("RFC 1464 escaping of meta keys", async () => {
    const c = new Catalog().node("m", "10.0.0.9", { NodeMeta: { "a=b": "x`y" } });
    expect(rows((await ask(env(c), "m.node.consul", "TXT")).answers)).toEqual(["m.node.consul TXT a`=b=x``y"]);
  });

  test("node names with dots, unknown nodes, unsupported types", async () => {
    const c = new Catalog().node("db.east", "10.0.0.5");
    const e = env(c);
    expect(rows((await ask(e, "db.east.node.consul", "A")).answers)).toEqual(["db.east.node.consul A 10.0.0.5"]);
    expect((await ask(e, "nobody.node.consul", "A")).rcode).toBe("NXDOMAIN");
    const srv = await ask(e, "db.east.node.consul", "SRV");
    expect(srv.rcode).toBe("NOERROR");
    expect(srv.answers).toEqual([]);
    expect(rows(srv.authorities)).toEqual(["consul SOA ns.consul hostmaster.consul"]);
  });

  test("a hostname address is a CNAME; an in-domain target is resolved here", async () => {
    const c = new Catalog().node("ext", "example.org").service("web1", "10.0.0.1", service("web", "web")).node("alias", "web.service.consul");
    const e = env(c);
    expect(rows((await ask(e, "ext.node.consul", "A")).answers)).toEqual(["ext.node.consul CNAME example.org"]);
    expect(rows((await ask(e, "alias.node.consul", "A")).answers)).toEqual(["alias.node.consul CNAME web.service.consul", "web.service.consul A 10.0.0.1"]);
  });

  test("a service on a hostname answers CNAME, and SRV targets the hostname", async () => {
    const c = new Catalog().service("extnode", "10.0.0.1", service("ext", "ext", { Address: "api.example.com", Port: 443 }));
    const e = env(c);
    expect(rows((await ask(e, "ext.service.consul", "A")).answers)).toEqual(["ext.service.consul CNAME api.example.com"]);
    expect(rows((await ask(e, "ext.service.consul", "SRV")).answers)).toEqual(["ext.service.consul SRV 1 1 443 api.example.com"]);
  });
});

describe("other forms", () => {
  test("<hex>.addr: IPv4 and IPv6; a mismatched type gets the record in additional", async () => {
    const e = env(new Catalog());
    expect(rows((await ask(e, "0a000001.addr.dc1.consul", "A")).answers)).toEqual(["0a000001.addr.dc1.consul A 10.0.0.1"]);
    expect(rows((await ask(e, "20010db8000000000000000000000001.addr.consul", "AAAA")).answers)).toEqual(["20010db8000000000000000000000001.addr.consul AAAA 2001:db8::1"]);
    const mismatch = await ask(e, "0a000001.addr.dc1.consul", "AAAA");
    expect(mismatch.answers).toEqual([]);
    expect(rows(mismatch.additionals)).toEqual(["0a000001.addr.dc1.consul A 10.0.0.1"]);
    expect((await ask(e, "zz.addr.consul", "A")).rcode).toBe("NXDOMAIN");
  });

  test(".connect answers proxies for the service and native instances; .ingress the gateways", async () => {
    const c = new Catalog()
      .service("n1", "10.0.0.1", service("web", "web", { Port: 80 }))
      .service("n1", "10.0.0.1", service("web-sidecar-proxy", "web-sidecar-proxy", { Kind: "connect-proxy", Port: 21000, Proxy: { DestinationServiceName: "web" } }))
      .service("n2", "10.0.0.2", service("web", "web", { Port: 8443, Connect: { Native: true } }))
      .service("gw", "10.0.0.9", service("ingress", "ingress-gateway", { Kind: "ingress-gateway", Port: 8080 }))
      .configEntry({ Kind: "ingress-gateway", Name: "ingress-gateway", Listeners: [{ Port: 8080, Protocol: "tcp", Services: [{ Name: "web" }] }] });
    const e = env(c);
    expect(rows((await ask(e, "web.connect.consul", "SRV")).answers).sort()).toEqual([
      "web.connect.consul SRV 1 1 21000 n1.node.dc1.consul",
      "web.connect.consul SRV 1 1 8443 n2.node.dc1.consul",
    ]);
    expect(rows((await ask(e, "web.ingress.consul", "A")).answers)).toEqual(["web.ingress.consul A 10.0.0.9"]);
    expect((await ask(e, "nothing.connect.consul", "A")).rcode).toBe("NXDOMAIN");
    expect((await ask(e, "nothing.ingress.consul", "A")).rcode).toBe("NXDOMAIN");
  });

  test(".ingress follows the ingress-gateway config entries: named services, the wildcard, gateways without an entry", async () => {
    const c = new Catalog()
      .service("n1", "10.0.0.1", service("web", "web", { Port: 80 }))
      .service("n1", "10.0.0.1", service("admin", "admin", { Port: 81 }))
      .service("gw1", "10.0.0.11", service("edge", "edge", { Kind: "ingress-gateway", Port: 8080 }))
      .service("gw2", "10.0.0.12", service("public", "public", { Kind: "ingress-gateway", Port: 8080 }))
      .service("gw3", "10.0.0.13", service("bare", "bare", { Kind: "ingress-gateway", Port: 8080 }))
      .configEntry({ Kind: "ingress-gateway", Name: "edge", Listeners: [{ Port: 8080, Protocol: "tcp", Services: [{ Name: "web" }] }, { Port: 8081, Protocol: "tcp", Services: [{ Name: "billing" }] }] })
      .configEntry({ Kind: "ingress-gateway", Name: "public", Listeners: [{ Port: 8080, Protocol: "http", Services: [{ Name: "*" }] }] });
    const e = env(c);
    const a = async (name: string) => rows((await ask(e, name, "A")).answers).sort();
    expect(await a("web.ingress.consul")).toEqual(["web.ingress.consul A 10.0.0.11", "web.ingress.consul A 10.0.0.12"]);
    // only the wildcard gateway serves admin; the named billing is served before it registers
    expect(await a("admin.ingress.consul")).toEqual(["admin.ingress.consul A 10.0.0.12"]);
    expect(await a("billing.ingress.consul")).toEqual(["billing.ingress.consul A 10.0.0.11"]);
    // the wildcard covers registered services only, and a gateway without an entry serves nothing
    expect((await ask(e, "ghost.ingress.consul", "A")).rcode).toBe("NXDOMAIN");
    expect((await a("web.ingress.consul")).some((r) => r.endsWith("10.0.0.13"))).toBe(false);
    // a new entry is seen at once
    c.configEntry({ Kind: "ingress-gateway", Name: "bare", Listeners: [{ Port: 9000, Protocol: "tcp", Services: [{ Name: "admin" }] }] });
    expect(await a("admin.ingress.consul")).toEqual(["admin.ingress.consul A 10.0.0.12", "admin.ingress.consul A 10.0.0.13"]);
  });

  test(".virtual answers the virtual IP the servers assigned (not a tagged address a client wrote), with node_ttl", async () => {
    const c = new Catalog()
      .service("n1", "10.0.0.1", service("web", "web", { Port: 80, Connect: { Native: true } }))
      .service("n2", "10.0.0.2", service("api-proxy", "api-sidecar-proxy", { Kind: "connect-proxy", Port: 21000, Proxy: { DestinationServiceName: "api" } }))
      .service("n3", "10.0.0.3", service("plain", "plain", { TaggedAddresses: { "consul-virtual": { Address: "240.0.0.77", Port: 80 } } }));
    const e = env(c, { nodeTtlMs: 12_000 });
    const r = await ask(e, "WEB.virtual.consul", "A");
    expect(rows(r.answers)).toEqual(["WEB.virtual.consul A 240.0.0.1"]);
    expect(ttls(r.answers)).toEqual([12]);
    expect(rows((await ask(e, "api.virtual.consul", "A")).answers)).toEqual(["api.virtual.consul A 240.0.0.2"]);
    // the local datacenter named as a label, or with .dc, answers too; an unknown label is a peer (none exist): no address
    expect(rows((await ask(e, "web.virtual.dc1.consul", "A")).answers)).toEqual(["web.virtual.dc1.consul A 240.0.0.1"]);
    expect(rows((await ask(e, "web.virtual.dc1.dc.consul", "A")).answers)).toEqual(["web.virtual.dc1.dc.consul A 240.0.0.1"]);
    for (const name of ["db.virtual.consul", "plain.virtual.consul", "web.virtual.dc9.consul", "web.virtual.p1.peer.consul"]) {
      const none = await ask(e, name, "A");
      expect(none.rcode).toBe("NOERROR");
      expect(none.answers).toEqual([]);
    }
  });

  test(".query is NXDOMAIN until prepared queries exist", async () => {
    const e = env(webCatalog());
    expect((await ask(e, "web.query.consul", "A")).rcode).toBe("NXDOMAIN");
    expect((await ask(e, "_web._tcp.query.dc1.consul", "SRV")).rcode).toBe("NXDOMAIN");
  });

  test("SOA and NS for the domain, with the server as name server and glue", async () => {
    const c = new Catalog().node("server1", "10.5.0.1").service("web1", "10.0.0.1", service("web", "web"));
    const e = env(c);
    const soa = await ask(e, "consul", "SOA");
    expect(rows(soa.answers)).toEqual(["consul SOA ns.consul hostmaster.consul"]);
    expect(rows(soa.authorities)).toEqual(["consul NS server1.node.dc1.consul"]);
    expect(rows(soa.additionals)).toEqual(["server1.node.dc1.consul A 10.5.0.1"]);
    const ns = await ask(e, "consul", "NS");
    expect(rows(ns.answers)).toEqual(["consul NS server1.node.dc1.consul"]);
    // SOA and NS questions supersede the name they are asked for.
    expect(rows((await ask(e, "web.service.consul", "SOA")).answers)).toEqual(["consul SOA ns.consul hostmaster.consul"]);
    expect((await ask(e, "consul", "AXFR")).rcode).toBe("NOTIMP");
  });

  test("a registered consul service supplies the name servers", async () => {
    const c = new Catalog().service("s1", "10.5.0.1", service("consul", "consul", { Port: 8300 })).service("s2", "10.5.0.2", service("consul", "consul", { Port: 8300 }));
    const ns = await ask(env(c), "consul", "NS");
    expect(rows(ns.answers).sort()).toEqual(["consul NS s1.node.dc1.consul", "consul NS s2.node.dc1.consul"]);
    expect(rows(ns.additionals).sort()).toEqual(["s1.node.dc1.consul A 10.5.0.1", "s2.node.dc1.consul A 10.5.0.2"]);
  });

  test("alt_domain: answers in the domain asked; a custom domain replaces consul.", async () => {
    const e = env(webCatalog(), {}, { altDomain: "test-domain" });
    const r = await ask(e, "web.service.test-domain", "SRV");
    expect(rows(r.answers).sort()[0]).toBe("web.service.test-domain SRV 1 1 80 web1.node.dc1.test-domain");
    expect(rows((await ask(e, "nope.service.test-domain", "A")).authorities)).toEqual(["test-domain SOA ns.test-domain hostmaster.test-domain"]);
    expect((await ask(e, "web.service.consul", "A")).answers).toHaveLength(3);
    const custom = env(webCatalog(), {}, { domain: "example.internal." });
    expect((await ask(custom, "web.service.example.internal", "A")).answers).toHaveLength(3);
    expect((await ask(custom, "web.service.consul", "A")).rcode).toBe("REFUSED");
  });

  test("PTR: a node's address, else a service's own address; otherwise NXDOMAIN", async () => {
    const e = env(webCatalog());
    expect(rows((await ask(e, "2.0.0.10.in-addr.arpa", "PTR")).answers)).toEqual(["2.0.0.10.in-addr.arpa PTR web2.node.dc1.consul"]);
    expect(rows((await ask(e, "3.1.168.192.in-addr.arpa", "PTR")).answers)).toEqual(["3.1.168.192.in-addr.arpa PTR web.service.dc1.consul"]);
    const v6 = env(new Catalog().node("six", "2001:db8::5"));
    expect(rows((await ask(v6, "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "PTR")).answers)).toEqual([
      "5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa PTR six.node.dc1.consul",
    ]);
    const miss = await ask(e, "9.9.9.9.in-addr.arpa", "PTR");
    expect(miss.rcode).toBe("NXDOMAIN");
    expect(rows(miss.authorities)).toEqual(["consul SOA ns.consul hostmaster.consul"]);
  });

  test("names outside the domain are REFUSED without recursors", async () => {
    const r = await ask(env(webCatalog()), "example.com", "A");
    expect(r.rcode).toBe("REFUSED");
    expect(r.flags & AA).toBe(0);
  });

  test("EDNS client subnet is echoed with scope 0 for global answers", async () => {
    const r = await ask(env(webCatalog()), "web.service.consul", "A", { edns: 1232, subnet: "192.0.2.0" });
    const opt = r.additionals!.find((a) => a.type === "OPT") as { options: { code: number; sourcePrefixLength: number; scopePrefixLength: number; ip: string }[] };
    expect(opt.options[0]).toMatchObject({ code: 8, sourcePrefixLength: 24, scopePrefixLength: 0, ip: "192.0.2.0" });
  });
});
