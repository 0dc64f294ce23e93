/**
 * The answer cache: a cached answer is the answer a fresh build gives (byte
 * for byte, with the same random draws), shuffled answers are dealt again per
 * response, and any catalog write, restore or new second invalidates.
 */
import { describe, expect, test } from "bun:test";
import { AnswerCache, type CachedAnswer, queryHash } from "../../src/dns/answer_cache.ts";
import { handleDns, StateDnsLookup, type DnsContext, type Transport } from "../../src/dns/mod.ts";
import { set } from "../state/helpers.ts";
import { Catalog, check, decode, env, NOW_MS, type QType, queryBytes, rows, seeded, service } from "./_fixture.ts";

function mixedCatalog(): Catalog {
  return new Catalog()
    .service("web1", "10.0.0.1", service("web", "web", { Port: 80, Tags: ["blue"] }), [], { NodeMeta: { rack: "r1" } })
    .service("web2", "10.0.0.2", service("web", "web", { Port: 81, Tags: ["green"] }))
    .service("web3", "10.0.0.3", service("web", "web", { Port: 82, Address: "192.168.1.3" }))
    .service("web4", "10.0.0.4", service("web-b", "web", { Port: 83, Address: "fd00::4" }))
    .service("web5", "10.0.0.5", service("web", "web", { Port: 84 }), [check("web5", "w5", { Status: "critical", ServiceID: "web" })])
    .service("web6", "10.0.0.6", service("web", "web", { Port: 85 }), [check("web6", "w6", { Status: "warning", ServiceID: "web" })])
    .service("db1", "10.0.1.1", service("db", "db", { Port: 5432 }))
    .service("db2", "10.0.1.1", service("db", "db", { Port: 5432 }))
    .service("ext1", "10.0.2.1", service("ext", "ext", { Port: 443, Address: "web.service.consul" }))
    .service("ext2", "10.0.2.2", service("ext", "ext", { Port: 443, Address: "db.service.consul" }))
    .node("host1", "web.service.consul")
    .service("many1", "10.0.3.1", service("many", "many"))
    .service("many2", "10.0.3.2", service("many", "many"))
    .service("many3", "10.0.3.3", service("many", "many"))
    .service("many4", "10.0.3.4", service("many", "many"))
    .service("many5", "10.0.3.5", service("many", "many"));
}

function ctxFor(store: Catalog["store"], config: DnsContext["config"], transport: Transport, cache: AnswerCache | null, now: () => number, random: () => number): DnsContext {
  return { config, lookup: new StateDnsLookup(store, { datacenter: "dc1", selfNode: "server1" }), transport, cache, random, now };
}

const QUESTIONS: [string, QType][] = [
  ["web.service.consul", "A"],
  ["web.service.consul", "AAAA"],
  ["web.service.consul", "SRV"],
  ["web.service.consul", "ANY"],
  ["_web._tcp.service.consul", "SRV"],
  ["blue.web.service.consul", "A"],
  ["db.service.consul", "A"],
  ["db.service.consul", "SRV"],
  ["ext.service.consul", "A"],
  ["ext.service.consul", "SRV"],
  ["host1.node.consul", "A"],
  ["web1.node.consul", "ANY"],
  ["many.service.consul", "A"],
  ["many.service.consul", "SRV"],
  ["nope.service.consul", "A"],
  ["0a000001.addr.dc1.consul", "A"],
  ["consul", "SOA"],
  ["consul", "NS"],
  ["1.0.0.10.in-addr.arpa", "PTR"],
];

describe("answer cache", () => {
  test("cached answers are byte-identical to fresh builds with the same random draws, over UDP, EDNS and TCP", async () => {
    const catalog = mixedCatalog();
    const cases: { transport: Transport; edns?: number; limits: Record<string, number> }[] = [
      { transport: "udp", limits: {} },
      { transport: "udp", edns: 4096, limits: { a_record_limit: 2 } },
      { transport: "udp", limits: { udp_answer_limit: 2 } },
      { transport: "tcp", limits: {} },
    ];
    for (const c of cases) {
      const e = env(catalog, c.limits as never);
      const cache = new AnswerCache();
      const fresh = ctxFor(catalog.store, e.config, c.transport, null, () => NOW_MS, seeded(7));
      const cached = ctxFor(catalog.store, e.config, c.transport, cache, () => NOW_MS, seeded(7));
      for (let round = 0; round < 4; round++) {
        for (const [name, type] of QUESTIONS) {
          const q = queryBytes(name, type, { id: 1000 + round, edns: c.edns });
          const a = await handleDns(q, fresh, "127.0.0.1");
          const b = await handleDns(q, cached, "127.0.0.1");
          expect(b === null ? null : [...b]).toEqual(a === null ? null : [...a]);
        }
      }
      // Every question after the first round was answered from the cache, except the ones that chase CNAMEs into shuffled services.
      expect(cache.hits).toBeGreaterThanOrEqual(3 * (QUESTIONS.length - 4));
    }
  });

  test("a kept answer takes the query's ID, and a shuffled one is shuffled again for each response", async () => {
    const catalog = mixedCatalog();
    const e = env(catalog);
    const cache = new AnswerCache();
    const ctx = ctxFor(catalog.store, e.config, "tcp", cache, () => NOW_MS, seeded(3));
    const orders = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = decode((await handleDns(queryBytes("many.service.consul", "A", { id: 7000 + i }), ctx)) as Uint8Array);
      expect(r.id).toBe(7000 + i);
      expect(rows(r.answers).sort()).toEqual([1, 2, 3, 4, 5].map((n) => `many.service.consul A 10.0.3.${n}`));
      orders.add(rows(r.answers).join(","));
    }
    expect(cache.hits).toBe(29);
    expect(orders.size).toBeGreaterThan(10);
    const one = decode((await handleDns(queryBytes("blue.web.service.consul", "A", { id: 1 }), ctx)) as Uint8Array);
    const again = decode((await handleDns(queryBytes("blue.web.service.consul", "A", { id: 65535 }), ctx)) as Uint8Array);
    expect(again.id).toBe(65535);
    expect(rows(again.answers)).toEqual(rows(one.answers));
  });

  test("writes, health changes and restores invalidate kept answers", async () => {
    const catalog = new Catalog().service("a1", "10.1.0.1", service("api", "api"));
    const e = env(catalog);
    const cache = new AnswerCache();
    const ctx = ctxFor(catalog.store, e.config, "udp", cache, () => NOW_MS, seeded(5));
    const answers = async () => rows(decode((await handleDns(queryBytes("api.service.consul", "A"), ctx)) as Uint8Array).answers).sort();
    expect(await answers()).toEqual(["api.service.consul A 10.1.0.1"]);
    expect(await answers()).toEqual(["api.service.consul A 10.1.0.1"]);
    expect(cache.hits).toBe(1);
    const snapshot = catalog.store.snapshot();
    catalog.service("a2", "10.1.0.2", service("api", "api"));
    expect(await answers()).toEqual(["api.service.consul A 10.1.0.1", "api.service.consul A 10.1.0.2"]);
    catalog.checks("a1", "10.1.0.1", [check("a1", "serfHealth", { Status: "critical" })]);
    expect(await answers()).toEqual(["api.service.consul A 10.1.0.2"]);
    expect(await answers()).toEqual(["api.service.consul A 10.1.0.2"]);
    // A write elsewhere (KV) also moves the version: correctness over hit rate.
    const hits = cache.hits;
    set(catalog.store, catalog.store.lastApplied + 1, "some/key", "v");
    expect(await answers()).toEqual(["api.service.consul A 10.1.0.2"]);
    expect(cache.hits).toBe(hits);
    catalog.store.restore(snapshot);
    expect(await answers()).toEqual(["api.service.consul A 10.1.0.1"]);
  });

  test("the SOA serial of a kept negative answer follows the clock", async () => {
    const catalog = mixedCatalog();
    const e = env(catalog);
    let now = NOW_MS;
    const cache = new AnswerCache();
    const ctx = ctxFor(catalog.store, e.config, "udp", cache, () => now, seeded(1));
    const serial = async () => {
      const r = decode((await handleDns(queryBytes("nope.service.consul", "A"), ctx)) as Uint8Array);
      expect(r.rcode).toBe("NXDOMAIN");
      return (r.authorities[0] as { data: { serial: number } }).data.serial;
    };
    expect(await serial()).toBe(NOW_MS / 1000);
    now += 999;
    expect(await serial()).toBe(NOW_MS / 1000);
    expect(cache.hits).toBe(1);
    now += 1;
    expect(await serial()).toBe(NOW_MS / 1000 + 1);
  });

  test("a state that cannot tell its last applied index is never cached", async () => {
    const catalog = mixedCatalog();
    const e = env(catalog);
    const cache = new AnswerCache();
    const store = catalog.store;
    const lookup = new StateDnsLookup({ get t() { return store.t; } }, { datacenter: "dc1", selfNode: "server1" });
    const ctx: DnsContext = { config: e.config, lookup, transport: "udp", cache, random: seeded(1), now: () => NOW_MS };
    for (let i = 0; i < 3; i++) await handleDns(queryBytes("web.service.consul", "A"), ctx);
    expect(cache.hits).toBe(0);
    expect(cache.size).toBe(0);
  });

  test("a large service asked in many spellings stays within the byte budget", async () => {
    const catalog = new Catalog();
    for (let i = 1; i <= 100; i++) catalog.service(`big${i}`, `10.2.${i >> 8}.${i & 255}`, service("big", "big", { Port: 1000 + i }));
    const e = env(catalog);
    const cache = new AnswerCache(2048, 64 * 1024);
    const ctx = ctxFor(catalog.store, e.config, "tcp", cache, () => NOW_MS, seeded(9));
    const spell = (i: number) => [..."big.service.consul"].map((ch, k) => ((i >> (k % 10)) & 1 ? ch.toUpperCase() : ch)).join("");
    for (let i = 0; i < 60; i++) {
      const r = decode((await handleDns(queryBytes(spell(i), "SRV"), ctx)) as Uint8Array);
      expect(r.answers).toHaveLength(100);
      expect(cache.weight).toBeLessThanOrEqual(64 * 1024);
    }
    expect(cache.size).toBeGreaterThan(0);
    expect(cache.size).toBeLessThan(60);
    // A kept entry still answers.
    const last = spell(59);
    const before = cache.hits;
    await handleDns(queryBytes(last, "SRV"), ctx);
    expect(cache.hits).toBe(before + 1);
  });

  test("keys tell every byte value apart and leave out the ID", () => {
    const cache = new AnswerCache();
    const kept = (b: number): CachedAnswer => ({ kind: "bytes", version: 1, second: 1, bytes: new Uint8Array([b]) });
    const q = (b: number, id = 0) => new Uint8Array([id, id, 1, b, 7]);
    for (let b = 0; b < 256; b++) cache.set(q(b), queryHash(q(b)), kept(b));
    for (let b = 0; b < 256; b++) expect(cache.get(q(b, 9), queryHash(q(b, 9)), 1, 1)).toEqual(kept(b));
    expect(queryHash(new Uint8Array([1, 2, 3, 4]))).toBe(queryHash(new Uint8Array([9, 9, 3, 4])));
    // Two questions whose hashes collide never answer for each other: the bytes are compared.
    const other = new Uint8Array([0, 0, 1, 0, 8]);
    expect(cache.get(other, queryHash(q(0)), 1, 1)).toBeUndefined();
    // A later question with the same hash replaces the earlier one.
    cache.set(other, queryHash(q(0)), kept(300));
    expect(cache.get(q(0), queryHash(q(0)), 1, 1)).toBeUndefined();
    expect(cache.get(other, queryHash(q(0)), 1, 1)).toEqual(kept(300));
  });

  test("the cache is bounded, dropping its oldest entries", async () => {
    const catalog = mixedCatalog();
    const e = env(catalog);
    const cache = new AnswerCache(8);
    const ctx = ctxFor(catalog.store, e.config, "udp", cache, () => NOW_MS, seeded(1));
    for (let i = 0; i < 50; i++) await handleDns(queryBytes(`n${i}.service.consul`, "A"), ctx);
    expect(cache.size).toBe(8);
    await handleDns(queryBytes("n49.service.consul", "A"), ctx);
    expect(cache.hits).toBe(1);
    await handleDns(queryBytes("n0.service.consul", "A"), ctx);
    expect(cache.hits).toBe(1);
    expect(() => new AnswerCache(0)).toThrow(RangeError);
    expect(() => new AnswerCache(8, 0)).toThrow(RangeError);
  });
});
