/**
 * `<query>.query[.<dc>].consul` with dig, through a server agent's DNS (its
 * own state, PreparedQuery.Execute in process) and a client agent's (the
 * question goes to the server over the RPC port).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import dnsPacket from "dns-packet";
import { Buffer } from "node:buffer";
import { AnswerCache, defaultDnsOptions, handleDns, QueryingLookup, resolveDnsConfig, rpcQueryRunner, type RunningDns, StateDnsLookup, startAgentDns } from "../../src/dns/mod.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { defaultOptions, inProcessRpc, listenRpc, type Rpc, type RpcListener, ServerRouter, staticServers } from "../../src/rpc/mod.ts";
import { Server } from "../../src/server/mod.ts";
import { decodePreparedQuery } from "../../src/structs/prepared_query.ts";
import { freePort } from "../e2e/_agent.ts";
import { digAt } from "./_dig.ts";

let server: Server;
let rpc: Rpc;
let listener: RpcListener;
let router: ServerRouter;
let serverDns: RunningDns;
let clientDns: RunningDns;

const o = defaultOptions("dc1");

function dnsConfig(node: string) {
  return resolveDnsConfig({
    domain: "consul.",
    altDomain: "",
    datacenter: "dc1",
    nodeName: node,
    recursors: [],
    translateWanAddrs: false,
    options: { ...defaultDnsOptions(), serviceTtlMs: { "*": 5000 } },
  });
}

async function register(node: string, addr: string, service: string, port: number, status = "passing", tags: string[] = []): Promise<void> {
  await rpc.call(
    "Catalog.Register",
    {
      ID: "",
      Node: node,
      Address: addr,
      Datacenter: "dc1",
      TaggedAddresses: {},
      NodeMeta: {},
      Service: { Kind: "", ID: service, Service: service, Tags: tags, Address: "", TaggedAddresses: {}, Meta: {}, Port: port, SocketPath: "", Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {}, Locality: null },
      Checks: [{ Node: node, CheckID: `svc:${service}`, Name: "c", Status: status, Notes: "", Output: "", ServiceID: service, ServiceName: service, ServiceTags: [], Type: "", Interval: "", Timeout: "", ExposedPort: 0, Definition: {} }],
      SkipNodeUpdate: false,
    } as never,
    o,
  );
}

async function createQuery(body: Record<string, unknown>): Promise<string> {
  return await rpc.call("PreparedQuery.Apply", { Op: "create", Query: decodePreparedQuery(body) }, o);
}

beforeAll(async () => {
  server = new Server({ datacenter: "dc1", nodeName: "srv", nodeId: crypto.randomUUID(), advertiseAddr: "127.0.0.1", serverPort: 8300, log: new MemoryLog() });
  await server.start();
  rpc = inProcessRpc(server);
  listener = await listenRpc({ host: "127.0.0.1", port: 0, server });
  router = new ServerRouter({ source: staticServers([{ name: "srv", host: "127.0.0.1", port: listener.port }]) });
  await register("db-a", "10.0.0.1", "db", 5432);
  await register("db-b", "10.0.0.2", "db", 5433);
  await register("db-c", "10.0.0.3", "db", 5434, "critical");
  await register("db-d", "10.0.0.4", "db", 5435, "warning");
  await register("v6", "fd00::1", "db6", 7000);
  await register("rep", "10.0.0.9", "db-replica", 6000);
  await createQuery({ Name: "db", Service: { Service: "db", OnlyPassing: true }, DNS: { TTL: "42s" } });
  await createQuery({ Name: "db6", Service: { Service: "db6" } });
  await createQuery({ Name: "nottl", Service: { Service: "db", IgnoreCheckIDs: ["svc:db"] } });
  await createQuery({ Name: "geo-", Template: { Type: "name_prefix_match", Regexp: "^geo-(.*)$" }, Service: { Service: "${match(1)}" } });
  await createQuery({ Name: "tiered", Service: { Service: "db", Tags: ["none"], Tiers: [{ Service: "db-replica", Tags: [] }] } });
  const runner = rpcQueryRunner(rpc, (dc) => ({ ...defaultOptions(dc), consistency: "stale" }), "dc1");
  serverDns = (await startAgentDns({ host: "127.0.0.1", port: await freePort(), config: dnsConfig("srv"), state: server.state, queries: runner, serverPort: 8300 }))!;
  clientDns = (await startAgentDns({ host: "127.0.0.1", port: await freePort(), config: dnsConfig("client1"), rpc: router, serverPort: 8300 }))!;
});

afterAll(async () => {
  await serverDns?.stop();
  await clientDns?.stop();
  router?.close();
  await listener?.stop();
  await server?.stop();
});

const dig = digAt;

const answers = (out: string, type: string): string[][] =>
  out
    .split("\n")
    .filter((l) => !l.startsWith(";") && new RegExp(`\\sIN\\s+${type}\\s`).test(l))
    .map((l) => l.trim().split(/\s+/));
const rdata = (out: string, type: string): string[] => answers(out, type).map((f) => f.slice(4).join(" ")).sort();

for (const side of ["server", "client"] as const) {
  describe(`${side} agent`, () => {
    const port = () => (side === "server" ? serverDns : clientDns).port;

    test("A with the query's health rules and DNS TTL; .query.dc1 too; unknown names NXDOMAIN", async () => {
      const a = await dig(port(), "db.query.consul", "A");
      expect(a).toContain("status: NOERROR");
      expect(rdata(a, "A")).toEqual(["10.0.0.1", "10.0.0.2"]);
      for (const line of answers(a, "A")) expect(line[1]).toBe("42");
      expect(rdata(await dig(port(), "db.query.dc1.consul", "A"), "A")).toEqual(["10.0.0.1", "10.0.0.2"]);
      expect(await dig(port(), "nope.query.consul", "A")).toContain("status: NXDOMAIN");
      expect(await dig(port(), "db.query.dc9.consul", "A")).toContain("status: NXDOMAIN");
    });

    test("without a query TTL the service TTL applies; IgnoreCheckIDs lets a failing check's instances answer", async () => {
      const a = await dig(port(), "nottl.query.consul", "A");
      expect(rdata(a, "A")).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]);
      for (const line of answers(a, "A")) expect(line[1]).toBe("5");
    });

    test("SRV with ports and targets' addresses; AAAA; templates and tiers", async () => {
      const srv = await dig(port(), "db.query.consul", "SRV");
      expect(rdata(srv, "SRV").map((r) => r.split(" ").slice(0, 3).join(" "))).toEqual(["1 1 5432", "1 1 5433"]);
      expect(srv).toMatch(/ADDITIONAL SECTION:[\s\S]*IN\s+A\s+10\.0\.0\.1/);
      expect(rdata(await dig(port(), "db6.query.consul", "AAAA"), "AAAA")).toEqual(["fd00::1"]);
      expect(rdata(await dig(port(), "geo-db-replica.query.consul", "A"), "A")).toEqual(["10.0.0.9"]);
      expect(rdata(await dig(port(), "tiered.query.consul", "A"), "A")).toEqual(["10.0.0.9"]);
    });
  });
}

test("a local answer without near is cached until the state changes; a query with near is run every time", async () => {
  await createQuery({ Name: "cached", Service: { Service: "db", OnlyPassing: true } });
  await createQuery({ Name: "near", Service: { Service: "db", OnlyPassing: true, Near: "db-b" } });
  // In process with a fixed clock (the cache keeps an answer within one second): each question's runs are counted.
  let count = 0;
  const base = rpcQueryRunner(rpc, (dc) => defaultOptions(dc), "dc1");
  const lookup = new QueryingLookup(new StateDnsLookup(server.state, { datacenter: "dc1", selfNode: "srv" }), (...a) => (count++, base(...a)), "srv");
  const ctx = { config: dnsConfig("srv"), lookup, transport: "udp" as const, cache: new AnswerCache(), now: () => 1_700_000_000_000 };
  const ask = (name: string): string[] => {
    const reply = lookup.answer(() => handleDns(dnsPacket.encode({ type: "query", id: 7, questions: [{ type: "A", name }] }), ctx));
    const msg = dnsPacket.decode(Buffer.from(reply as Uint8Array));
    return (msg.answers ?? []).map((a) => String((a as { data?: unknown }).data));
  };
  expect(ask("cached.query.consul").sort()).toEqual(["10.0.0.1", "10.0.0.2"]);
  for (let i = 0; i < 5; i++) expect(ask("cached.query.consul").sort()).toEqual(["10.0.0.1", "10.0.0.2"]);
  expect(count).toBe(1);
  // Any write moves the state on: the next answer is built again and sees it.
  await register("db-e", "10.0.0.5", "db", 5436);
  expect(ask("cached.query.consul").sort()).toEqual(["10.0.0.1", "10.0.0.2", "10.0.0.5"]);
  expect(count).toBe(2);
  for (let i = 0; i < 4; i++) expect(ask("near.query.consul")[0]).toBe("10.0.0.2");
  expect(count).toBe(6);
});
