/**
 * The agent as a real process: an HTTP check against a loopback server that
 * flips to 500, anti-entropy repairing the catalog, a restart on the same
 * data dir, and DeregisterCriticalServiceAfter.
 */
import { afterAll, expect, test } from "bun:test";
import { cleanupAll, flippingServer, newDir, startLocalAgent, waitUntil } from "./_local_agent.ts";

afterAll(cleanupAll);

interface Entry {
  Service: { ID: string; Port: number; Tags: string[] };
  Checks: { CheckID: string; Status: string; Output: string }[];
}

test("an HTTP check failing changes /v1/health/service/web?passing within one interval, and a blocking query on it wakes", async () => {
  const target = flippingServer();
  const a = await startLocalAgent(["-dev", "-node", "e2e-http"]);
  const reg = await a.put("/v1/agent/service/register", {
    Name: "web",
    Port: 8080,
    Check: { CheckID: "web-http", HTTP: target.url, Interval: "1s", Timeout: "500ms" },
  });
  expect(reg.status).toBe(200);
  // HTTP checks start critical and pass after their first probe.
  await waitUntil(async () => (await a.get<Entry[]>("/v1/health/service/web?passing")).body.length === 1, 5_000, "web to pass");
  const before = await a.get<Entry[]>("/v1/health/service/web?passing");
  expect(before.body[0]!.Checks.find((c) => c.CheckID === "web-http")).toMatchObject({ Status: "passing" });

  const parked = fetch(`${a.base}/v1/health/service/web?passing&index=${before.index}&wait=30s`);
  await Bun.sleep(100);
  const flippedAt = Date.now();
  target.setStatus(500);
  const woke = await parked;
  const tookMs = Date.now() - flippedAt;
  // One 1s interval, plus scheduling slack on a loaded 2-core machine.
  expect(tookMs).toBeLessThan(1_900);
  expect(Number(woke.headers.get("X-Consul-Index"))).toBeGreaterThan(Number(before.index));
  expect(await woke.json()).toEqual([]);
  const all = await a.get<Entry[]>("/v1/health/service/web");
  expect(all.body[0]!.Checks.find((c) => c.CheckID === "web-http")).toMatchObject({ Status: "critical" });
  expect(all.body[0]!.Checks.find((c) => c.CheckID === "web-http")!.Output).toContain("500");

  target.setStatus(200);
  await waitUntil(async () => (await a.get<Entry[]>("/v1/health/service/web?passing")).body.length === 1, 2_500, "web to pass again");
  expect(await a.stop()).toBe(0);
}, 30_000);

test("anti-entropy restores a service deleted or changed through the catalog API within a sync interval", async () => {
  const a = await startLocalAgent(["-dev", "-node", "e2e-ae"], { ae_interval: "1s" });
  expect((await a.put("/v1/agent/service/register", { ID: "api1", Name: "api", Port: 9000, Tags: ["v1"] })).status).toBe(200);
  const catalog = async () => (await a.get<{ ServiceID: string; ServicePort: number; ServiceTags: string[] }[]>("/v1/catalog/service/api")).body;
  expect(await catalog()).toEqual([expect.objectContaining({ ServiceID: "api1", ServicePort: 9000 })]);

  expect((await a.put("/v1/catalog/deregister", { Node: "e2e-ae", ServiceID: "api1" })).status).toBe(200);
  expect(await catalog()).toEqual([]);
  // ae_interval plus Consul's stagger of up to one more interval.
  const repairedIn = await waitUntil(async () => (await catalog()).length === 1, 2_000 + 1_500, "the service to come back");
  expect(repairedIn).toBeLessThan(3_500);
  expect(await catalog()).toEqual([expect.objectContaining({ ServiceID: "api1", ServicePort: 9000, ServiceTags: ["v1"] })]);

  // A change made by someone else is reverted too.
  await a.put("/v1/catalog/register", { Node: "e2e-ae", Address: "127.0.0.1", Service: { ID: "api1", Service: "api", Port: 1 }, SkipNodeUpdate: true });
  expect((await catalog())[0]!.ServicePort).toBe(1);
  await waitUntil(async () => (await catalog())[0]?.ServicePort === 9000, 3_500, "the port to be restored");
  expect(await a.stop()).toBe(0);
}, 30_000);

test("an agent restarted on the same data dir comes back with its services, checks and maintenance", async () => {
  const dir = await newDir();
  const dataArgs = ["-server", "-bootstrap", "-node", "e2e-restart", "-data-dir", `${dir}/data`];
  const a = await startLocalAgent(dataArgs, {}, dir);
  await a.put("/v1/agent/service/register", { ID: "db1", Name: "db", Port: 5432, Meta: { role: "primary" }, Check: { CheckID: "db-ttl", TTL: "5m" } });
  await a.put("/v1/agent/check/pass/db-ttl?note=replicating");
  await a.put("/v1/agent/check/register", { ID: "disk", Name: "disk", TTL: "5m", Notes: "free space" });
  await a.put("/v1/agent/maintenance?enable=true&reason=kernel%20upgrade");
  const services = (await a.get<Record<string, unknown>>("/v1/agent/services")).body;
  const checks = (await a.get<Record<string, { Status: string; Output: string }>>("/v1/agent/checks")).body;
  expect(Object.keys(checks).sort()).toEqual(["_node_maintenance", "db-ttl", "disk"]);
  expect(await a.stop()).toBe(0);

  const b = await startLocalAgent(dataArgs, {}, dir);
  expect((await b.get("/v1/agent/services")).body).toEqual(services);
  const after = (await b.get<Record<string, { Status: string; Output: string; Notes: string }>>("/v1/agent/checks")).body;
  expect(Object.keys(after).sort()).toEqual(["_node_maintenance", "db-ttl", "disk"]);
  expect(after["db-ttl"]).toMatchObject({ Status: "passing", Output: "replicating" });
  expect(after._node_maintenance).toMatchObject({ Status: "critical", Notes: "kernel upgrade" });
  expect(after.disk).toMatchObject({ Notes: "free space" });
  // Anti-entropy keeps the catalog in step after the restart too.
  const health = await b.get<{ CheckID: string; Status: string }[]>("/v1/health/node/e2e-restart");
  expect(health.body.map((c) => c.CheckID).sort()).toEqual(["_node_maintenance", "db-ttl", "disk", "serfHealth"]);
  expect(await b.stop()).toBe(0);
}, 40_000);

test("DeregisterCriticalServiceAfter removes a service whose check stays critical", async () => {
  const a = await startLocalAgent(["-dev", "-node", "e2e-reap"], { check_reap_interval: "250ms" });
  // Before the registration: the TTL runs from when the agent took it, which a loaded box may answer late.
  const started = Date.now();
  await a.put("/v1/agent/service/register", {
    ID: "batch1",
    Name: "batch",
    Check: { CheckID: "batch-ttl", TTL: "1s", Status: "passing", DeregisterCriticalServiceAfter: "2s" },
  });
  await a.put("/v1/agent/service/register", { ID: "keep", Name: "keep", Check: { TTL: "1s", Status: "passing" } });
  await waitUntil(async () => (await a.get<Record<string, { Status: string }>>("/v1/agent/checks")).body["batch-ttl"]?.Status === "critical", 3_000, "the TTL to expire");
  // Still registered while critical for less than 2s.
  expect(Object.keys((await a.get<object>("/v1/agent/services")).body).sort()).toEqual(["batch1", "keep"]);
  await waitUntil(async () => !("batch1" in (await a.get<object>("/v1/agent/services")).body), 5_000, "batch1 to be reaped");
  expect(Date.now() - started).toBeGreaterThanOrEqual(2_900);
  await waitUntil(async () => (await a.get<unknown[]>("/v1/catalog/service/batch")).body.length === 0, 2_000, "batch to leave the catalog");
  // A critical check without the option keeps its service.
  expect(Object.keys((await a.get<object>("/v1/agent/services")).body)).toEqual(["keep"]);
  expect(await a.stop()).toBe(0);
}, 30_000);
