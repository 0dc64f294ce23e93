/** dns_config parsing and the agent config keys for DNS. */
import { expect, test } from "bun:test";
import { defaultConfig, mergeConfigObject } from "../../src/agent/mod.ts";
import { DatagramQueue, DnsConfigError, defaultDnsOptions, mergeDnsOptions, recursorAddress, resolveDnsConfig, serviceTtlSeconds } from "../../src/dns/mod.ts";

test("dns_config keys, with durations and the soa block", () => {
  const o = mergeDnsOptions(defaultDnsOptions(), {
    allow_stale: false,
    max_stale: "10s",
    node_ttl: "30s",
    service_ttl: { "*": "5s", web: "1m" },
    udp_answer_limit: 5,
    a_record_limit: 2,
    enable_truncate: true,
    only_passing: true,
    recursor_timeout: "500ms",
    recursor_strategy: "random",
    disable_compression: true,
    enable_additional_node_meta_txt: false,
    soa: { min_ttl: 60, refresh: 1 },
    prefer_namespace: false,
  });
  expect(o).toMatchObject({
    allowStale: false,
    maxStaleMs: 10_000,
    nodeTtlMs: 30_000,
    serviceTtlMs: { "*": 5000, web: 60_000 },
    udpAnswerLimit: 5,
    aRecordLimit: 2,
    enableTruncate: true,
    onlyPassing: true,
    recursorTimeoutMs: 500,
    recursorStrategy: "random",
    disableCompression: true,
    nodeMetaTxt: false,
    soa: { refresh: 1, retry: 600, expire: 86400, minTtl: 60 },
  });
  expect(serviceTtlSeconds(o, "web")).toBe(60);
  expect(serviceTtlSeconds(o, "db")).toBe(5);
  expect(() => mergeDnsOptions(defaultDnsOptions(), { node_ttl: 10 })).toThrow(DnsConfigError);
  expect(() => mergeDnsOptions(defaultDnsOptions(), { recursor_strategy: "fastest" })).toThrow('dns_config.recursor_strategy must be "sequential" or "random"');
});

test("agent config files carry domain, alt_domain, recursors and dns_config", () => {
  const cfg = defaultConfig();
  mergeConfigObject(cfg, { domain: "example", alt_domain: "alt.test", recursors: ["8.8.8.8"], dns_config: { enable_truncate: true } }, "a.json");
  expect(cfg.domain).toBe("example");
  expect(cfg.recursors).toEqual(["8.8.8.8"]);
  expect(cfg.dns.enableTruncate).toBe(true);
  expect(() => mergeConfigObject(cfg, { dns_config: { a_record_limit: -1 } }, "b.json")).toThrow("b.json: dns_config.a_record_limit must be a non-negative integer, got -1");
  const resolved = resolveDnsConfig({ domain: cfg.domain, altDomain: cfg.altDomain, datacenter: "DC1", nodeName: "n", recursors: cfg.recursors });
  expect(resolved).toMatchObject({ domain: "example.", altDomain: "alt.test.", datacenter: "dc1", recursors: ["8.8.8.8:53"] });
});

test("recursor addresses get port 53 when they have none", () => {
  expect(recursorAddress("1.2.3.4")).toBe("1.2.3.4:53");
  expect(recursorAddress("1.2.3.4:5353")).toBe("1.2.3.4:5353");
  expect(recursorAddress("::1")).toBe("[::1]:53");
  expect(recursorAddress("[::1]:5300")).toBe("[::1]:5300");
  expect(() => recursorAddress("resolver.example")).toThrow(DnsConfigError);
});

test("the datagram queue keeps the newest datagrams, each with its sender and arrival", () => {
  const q = new DatagramQueue(3);
  for (let i = 1; i <= 5; i++) q.push(new Uint8Array([i]), 5000 + i, `127.0.0.${i}`, 100 * i);
  expect(q.dropped).toBe(2);
  expect(q.highWater).toBe(3);
  expect(q.length).toBe(3);
  const seen: string[] = [];
  const take = (msg: Uint8Array, port: number, address: string, at: number) => seen.push(`${msg[0]} ${address}:${port} @${at}`);
  while (q.shift(take));
  expect(seen).toEqual(["3 127.0.0.3:5003 @300", "4 127.0.0.4:5004 @400", "5 127.0.0.5:5005 @500"]);
  expect(q.shift(take)).toBe(false);
  // Wraps around its ring and clears.
  for (let i = 6; i <= 7; i++) q.push(new Uint8Array([i]), 1, "::1", i);
  q.clear();
  expect(q.length).toBe(0);
  expect(q.shift(take)).toBe(false);
  expect(() => new DatagramQueue(0)).toThrow(RangeError);
});
