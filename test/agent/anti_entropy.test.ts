import { afterEach, expect, test } from "bun:test";
import { AntiEntropy, scaleFactor } from "../../src/agent/anti_entropy.ts";
import { type CatalogRpc, inProcessCatalog } from "../../src/agent/catalog_rpc.ts";
import { LocalState, type ServiceDef } from "../../src/agent/local_state.ts";
import { createLogger } from "../../src/agent/logger.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { Server } from "../../src/server/mod.ts";
import { catalogRead } from "../../src/state/mod.ts";
import { FakeClock } from "../_fake_clock.ts";

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

function svc(id: string, port: number, extra: Partial<ServiceDef> = {}): ServiceDef {
  return {
    Kind: "", ID: id, Service: id, Tags: [], Address: "", TaggedAddresses: {}, Meta: {}, Port: port, SocketPath: "",
    Weights: { Passing: 1, Warning: 1 }, EnableTagOverride: false, Proxy: {}, Connect: {}, Locality: null, ...extra,
  };
}

async function setup(opts: { rpc?: (real: CatalogRpc) => CatalogRpc } = {}) {
  const clock = new FakeClock();
  const server = new Server({ datacenter: "dc1", nodeName: "srv", nodeId: crypto.randomUUID(), advertiseAddr: "127.0.0.1", serverPort: 8300, log: new MemoryLog(), clock });
  await server.start();
  stops.push(() => server.stop());
  const local = new LocalState(() => clock.now());
  const real = inProcessCatalog(server);
  const ae = new AntiEntropy({
    local,
    rpc: opts.rpc ? opts.rpc(real) : real,
    identity: { node: "agent1", id: "11111111-2222-3333-4444-555555555555", address: "10.0.0.9", datacenter: "dc1", taggedAddresses: {}, meta: {} },
    clock,
    random: () => 0,
    logger: createLogger("error"),
    intervalMs: 60_000,
    retryMinMs: 1000,
    retryMaxMs: 8000,
  });
  ae.start();
  stops.push(() => ae.stop());
  const catalog = () => catalogRead.nodeWithServices(server.state.t, "agent1").value;
  return { clock, server, local, ae, catalog };
}

test("pushes local services and checks, and repairs drift within one sync interval", async () => {
  const { clock, server, local, ae, catalog } = await setup();
  local.addService(svc("web", 80));
  local.addCheck({ CheckID: "web-alive", Name: "web alive", Status: "passing", Notes: "", Output: "", ServiceID: "web", ServiceName: "", ServiceTags: [], Type: "ttl", Interval: "", Timeout: "", ExposedPort: 0, Definition: {} });
  await clock.advance(10);
  expect(catalog()?.services.map((s) => s.ID)).toEqual(["web"]);
  expect(catalogRead.nodeChecks(server.state.t, "agent1").value.map((c) => c.CheckID)).toEqual(["web-alive"]);
  expect(ae.state).toBe("partialSync");

  // Someone deletes the service behind the agent's back, and registers one the agent does not own.
  await server.mustWrite({ Type: 1, Now: clock.now(), Req: { Node: "agent1", ServiceID: "web", CheckID: "" } });
  await server.mustWrite({
    Type: 0, Now: clock.now(),
    Req: { ID: "", Node: "agent1", Address: "10.0.0.9", Datacenter: "dc1", TaggedAddresses: {}, NodeMeta: {}, Service: svc("stray", 1), Checks: [], SkipNodeUpdate: true },
  });
  expect(catalog()?.services.map((s) => s.ID)).toEqual(["stray"]);
  await clock.advance(120_000); // interval + maximal stagger
  expect(catalog()?.services.map((s) => s.ID)).toEqual(["web"]);
  expect(catalogRead.nodeChecks(server.state.t, "agent1").value.map((c) => c.CheckID)).toEqual(["web-alive"]);
  expect(ae.stats.fullSyncs).toBeGreaterThanOrEqual(2);
});

test("a local change syncs at once (partial sync), removals included", async () => {
  const { clock, local, catalog } = await setup();
  await clock.advance(10);
  local.addService(svc("api", 9000, { Tags: ["v1"] }));
  await clock.advance(1);
  expect(catalog()?.services.map((s) => [s.ID, s.Tags])).toEqual([["api", ["v1"]]]);
  local.removeService("api");
  await clock.advance(1);
  expect(catalog()?.services).toEqual([]);
  expect(local.services.size).toBe(0);
});

test("retries with doubling backoff while the server is unreachable, losing nothing", async () => {
  let down = true;
  let calls = 0;
  const flaky = (real: CatalogRpc): CatalogRpc => ({
    nodeState: (n) => (calls++, down ? Promise.reject(new Error("connection refused")) : real.nodeState(n)),
    register: (r) => (down ? Promise.reject(new Error("connection refused")) : real.register(r)),
    deregister: (r) => (down ? Promise.reject(new Error("connection refused")) : real.deregister(r)),
  });
  const { clock, local, ae, catalog } = await setup({ rpc: flaky });
  local.addService(svc("db", 5432));
  await clock.advance(0);
  expect(ae.state).toBe("retryFullSync");
  // Attempts after 1s, then 2s, 4s (random = 0: no stagger): none early, one on time.
  expect(calls).toBe(1);
  for (const gap of [1000, 2000, 4000]) {
    const before = calls;
    await clock.advance(gap - 1);
    expect(calls).toBe(before);
    await clock.advance(1);
    expect(calls).toBe(before + 1);
  }
  expect(catalog()).toBeNull();
  local.addService(svc("cache", 6379));
  down = false;
  await clock.advance(10_000);
  expect(catalog()?.services.map((s) => s.ID)).toEqual(["cache", "db"]);
  expect(ae.state).toBe("partialSync");
});

test("sync interval scales with cluster size like Consul's", () => {
  expect(scaleFactor(1)).toBe(1);
  expect(scaleFactor(128)).toBe(1);
  expect(scaleFactor(256)).toBe(2);
  expect(scaleFactor(1024)).toBe(4);
});

test("a service the server refuses does not hold up the others", async () => {
  const picky = (real: CatalogRpc): CatalogRpc => ({
    ...real,
    register: (r) => (r.Service?.ID === "bad" ? Promise.reject(new Error("refused")) : real.register(r)),
  });
  const { clock, local, ae, catalog } = await setup({ rpc: picky });
  local.addService(svc("bad", 1));
  local.addService(svc("web", 80));
  local.addService(svc("zzz", 81));
  await clock.advance(10);
  expect(catalog()?.services.map((s) => s.ID)).toEqual(["web", "zzz"]);
  expect(ae.stats.failures).toBeGreaterThanOrEqual(1);
  expect(local.services.get("bad")?.inSync).toBe(false);
});

test("the virtual IP the servers add (consul-virtual) is taken into the local definition, not pushed back at every full sync", async () => {
  const { clock, server, local, ae, catalog } = await setup();
  local.addService(svc("web", 80, { Connect: { Native: true }, TaggedAddresses: { lan: { Address: "10.0.0.9", Port: 80 } } }));
  await clock.advance(10);
  expect(catalog()?.services[0]!.TaggedAddresses["consul-virtual"]).toEqual({ Address: "240.0.0.1", Port: 80 });
  const writes = server.state.lastApplied;
  await clock.advance(120_000); // full syncs: the local copy adopts the server's reserved address, nothing is written
  await clock.advance(120_000);
  expect(ae.stats.fullSyncs).toBeGreaterThanOrEqual(2);
  expect(local.services.get("web")!.service.TaggedAddresses).toEqual({ lan: { Address: "10.0.0.9", Port: 80 }, "consul-virtual": { Address: "240.0.0.1", Port: 80 } });
  expect(server.state.lastApplied).toBe(writes);
});
