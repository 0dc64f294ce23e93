/**
 * Failover across datacenters with three servers in this process: dc1's
 * `Server.remote` (what federation/ sets) routes by datacenter to the others'
 * endpoints and lists them in a distance order the test chooses; one more
 * datacenter never answers. The real NATS path is in the federation scenario.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { defaultDnsOptions, resolveDnsConfig, rpcQueryRunner, type RunningDns, startAgentDns } from "../../src/dns/mod.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { defaultOptions, inProcessRpc, NoPathError, type Rpc } from "../../src/rpc/mod.ts";
import type { ExecuteReply } from "../../src/query/execute.ts";
import { Server } from "../../src/server/mod.ts";
import { decodePreparedQuery } from "../../src/structs/prepared_query.ts";
import { freePort } from "../e2e/_agent.ts";
import { digAt } from "../dns/_dig.ts";

const servers = new Map<string, Server>();
const rpcs = new Map<string, Rpc>();
/** Distance order dc1 sees (nearest first, itself first); "dc-dead" is reachable on paper but never answers. */
let order = ["dc1", "dc3", "dc2", "dc-dead"];
let dns: RunningDns;

async function start(dc: string): Promise<Server> {
  const s = new Server({ datacenter: dc, nodeName: `srv-${dc}`, nodeId: crypto.randomUUID(), advertiseAddr: "127.0.0.1", serverPort: 8300, log: new MemoryLog() });
  await s.start();
  servers.set(dc, s);
  rpcs.set(dc, inProcessRpc(s));
  return s;
}

const routed: Rpc = {
  call(method, args, opts) {
    if (opts.datacenter === "dc-dead") return new Promise(() => {});
    const r = rpcs.get(opts.datacenter);
    if (!r) throw new NoPathError();
    return r.call(method, args, opts);
  },
};

async function register(dc: string, node: string, addr: string, service: string, status = "passing"): Promise<void> {
  await rpcs.get(dc)!.call(
    "Catalog.Register",
    {
      ID: "",
      Node: node,
      Address: addr,
      Datacenter: dc,
      TaggedAddresses: {},
      NodeMeta: {},
      Service: { Kind: "", ID: service, Service: service, Tags: [], Address: "", TaggedAddresses: {}, Meta: {}, Port: 80, SocketPath: "", Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {}, Locality: null },
      Checks: [{ Node: node, CheckID: `svc:${service}`, Name: "c", Status: status, Notes: "", Output: "", ServiceID: service, ServiceName: service, ServiceTags: [], Type: "", Interval: "", Timeout: "", ExposedPort: 0, Definition: {} }],
      SkipNodeUpdate: false,
    } as never,
    defaultOptions(dc),
  );
}

async function query(name: string, service: Record<string, unknown>): Promise<void> {
  await rpcs.get("dc1")!.call("PreparedQuery.Apply", { Op: "create", Query: decodePreparedQuery({ Name: name, Service: service }) }, defaultOptions("dc1"));
}

async function execute(name: string): Promise<ExecuteReply> {
  const args = { QueryIDOrName: name, Limit: 0, Connect: false, Source: { Node: "", Ip: "" }, Agent: { Node: "srv-dc1", Datacenter: "dc1", Segment: "" } };
  return (await rpcs.get("dc1")!.call("PreparedQuery.Execute", args, defaultOptions("dc1"))).value;
}

const addrs = (r: ExecuteReply): string[] => r.Nodes.map((n) => n.Node.Address).sort();

beforeAll(async () => {
  const dc1 = await start("dc1");
  await start("dc2");
  await start("dc3");
  dc1.remote = { rpc: routed, datacenters: () => order.map((datacenter, i) => ({ datacenter, rttMs: i * 10 })) };
  for (const i of [1, 2]) await register("dc2", `dc2-api${i}`, `10.2.0.${i}`, "api");
  for (const i of [1, 2]) await register("dc3", `dc3-api${i}`, `10.3.0.${i}`, "api");
  await register("dc1", "dc1-api1", "10.1.0.1", "api", "critical");
  await register("dc1", "dc1-web1", "10.1.0.5", "web");
  await register("dc2", "dc2-web1", "10.2.0.5", "web");
  await register("dc2", "dc2-web2", "10.2.0.6", "web");
  await register("dc3", "dc3-replica", "10.3.0.9", "api-replica");
  await query("api", { Service: "api", Failover: { NearestN: 2 } });
  dns = (await startAgentDns({
    host: "127.0.0.1",
    port: await freePort(),
    config: resolveDnsConfig({ domain: "consul.", altDomain: "", datacenter: "dc1", nodeName: "srv-dc1", recursors: [], translateWanAddrs: false, options: defaultDnsOptions() }),
    state: dc1.state,
    queries: rpcQueryRunner(routed, (dc) => ({ ...defaultOptions(dc), consistency: "stale" })),
    serverPort: 8300,
  }))!;
});

afterAll(async () => {
  await dns?.stop();
  for (const s of servers.values()) await s.stop();
});

describe("Consul's failover", () => {
  test("no healthy local instance: the nearest datacenter answers (HTTP and DNS), then the next when it fails", async () => {
    const r = await execute("api");
    expect(r).toMatchObject({ Service: "api", Datacenter: "dc3", Failovers: 1 });
    expect(addrs(r)).toEqual(["10.3.0.1", "10.3.0.2"]);
    expect((await digAt(dns.port, "api.query.consul", "A", "+short")).trim().split("\n").sort()).toEqual(["10.3.0.1", "10.3.0.2"]);
    for (const i of [1, 2]) await register("dc3", `dc3-api${i}`, `10.3.0.${i}`, "api", "critical");
    const next = await execute("api");
    expect(next).toMatchObject({ Datacenter: "dc2", Failovers: 2 });
    expect(addrs(next)).toEqual(["10.2.0.1", "10.2.0.2"]);
    expect((await digAt(dns.port, "api.query.consul", "A", "+short")).trim().split("\n").sort()).toEqual(["10.2.0.1", "10.2.0.2"]);
    for (const i of [1, 2]) await register("dc3", `dc3-api${i}`, `10.3.0.${i}`, "api");
  });

  test("NearestN first, then listed datacenters in order, each once; unknown ones skipped", async () => {
    await query("listed", { Service: "api", Failover: { Datacenters: ["dc9", "dc2", "dc2", "dc3"] } });
    expect(await execute("listed")).toMatchObject({ Datacenter: "dc2", Failovers: 1 });
    await query("mixed", { Service: "web-nowhere", Failover: { NearestN: 1, Datacenters: ["dc2", "dc3", "dc9"] } });
    // dc3 (nearest), then dc2, then dc3 is not tried again: two failovers, no answer.
    expect(await execute("mixed")).toMatchObject({ Nodes: [], Failovers: 2 });
  });

  test("a datacenter that never answers is skipped within the per-datacenter deadline", async () => {
    order = ["dc1", "dc-dead", "dc3", "dc2"];
    try {
      const started = performance.now();
      const r = await execute("api");
      const took = performance.now() - started;
      expect(r).toMatchObject({ Datacenter: "dc3", Failovers: 2 });
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(5000);
    } finally {
      order = ["dc1", "dc3", "dc2", "dc-dead"];
    }
  });

  test("a healthy local instance answers without failing over", async () => {
    await query("web", { Service: "web", Failover: { NearestN: 3 } });
    expect(await execute("web")).toMatchObject({ Datacenter: "dc1", Failovers: 0 });
  });
});

describe("beyond Consul, across datacenters", () => {
  test("SkipLocal never answers from the local datacenter, even with healthy instances there", async () => {
    await query("web-away", { Service: "web", SkipLocal: true, Failover: { Datacenters: ["dc2"] } });
    const r = await execute("web-away");
    expect(r).toMatchObject({ Datacenter: "dc2", Failovers: 1 });
    expect(addrs(r)).toEqual(["10.2.0.5", "10.2.0.6"]);
  });

  test("MinHealthy fails over while fewer instances pass than asked, not only at zero", async () => {
    await query("web-two", { Service: "web", MinHealthy: 2, Failover: { NearestN: 2 } });
    // dc1 has one, dc3 none, dc2 two.
    expect(await execute("web-two")).toMatchObject({ Datacenter: "dc2", Failovers: 2 });
    await query("web-three", { Service: "web", MinHealthy: 3, Failover: { NearestN: 2 } });
    // Nobody has three: the first answer that had any (the local one), after trying the others.
    expect(await execute("web-three")).toMatchObject({ Datacenter: "dc1", Failovers: 2 });
  });

  test("tiers are walked in order across datacenters: the next tier only when no earlier one has a healthy instance anywhere", async () => {
    await query("tiered", { Service: "api", Tags: ["gold"], Failover: { NearestN: 2 }, Tiers: [{ Service: "api-replica", Tags: [] }, { Service: "api", Tags: [] }] });
    const r = await execute("tiered");
    // Tier 0 (api with tag gold) is nowhere: dc3, dc2 tried. Tier 1 (api-replica): not local, dc3 has it.
    expect(r).toMatchObject({ Service: "api-replica", Datacenter: "dc3", Failovers: 3 });
    expect(addrs(r)).toEqual(["10.3.0.9"]);
  });

  test("failover to another service: db-primary falls back to db-replica", async () => {
    await register("dc2", "dc2-replica", "10.2.0.9", "db-replica");
    await query("db", { Service: "db-primary", Failover: { NearestN: 2 }, Tiers: [{ Service: "db-replica" }] });
    // db-primary: dc3, dc2; then db-replica: not local, not in dc3, dc2 has it. Failovers counts every datacenter asked.
    expect(await execute("db")).toMatchObject({ Service: "db-replica", Datacenter: "dc2", Failovers: 4 });
  });
});
