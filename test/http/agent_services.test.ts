/** `/v1/agent/services`, `/v1/agent/service/*`: registration, reads, hash blocking, maintenance and refusals. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { type AgentHarness, catalogCheck, catalogService, startAgentHarness } from "./_agent_harness.ts";
import { DC, sleep, track } from "./_harness.ts";

let h: AgentHarness;
beforeEach(async () => {
  h = await startAgentHarness();
});
afterEach(async () => {
  await h.stop();
});

const web = {
  ID: "web1",
  Name: "web",
  Tags: ["blue", "v1"],
  Port: 8080,
  Address: "10.0.0.5",
  Meta: { version: "1.2" },
  Weights: { Passing: 3, Warning: 1 },
  EnableTagOverride: true,
  Check: { CheckID: "web-ttl", Name: "web alive", TTL: "30s" },
};

test("a registered service is listed in Consul's AgentService shape and is in the catalog when the PUT answers", async () => {
  expect(await h.putOk("/v1/agent/service/register", web)).toBe("");
  const services = await h.getJson<Record<string, Record<string, unknown>>>("/v1/agent/services");
  expect(Object.keys(services)).toEqual(["web1"]);
  expect(services.web1).toEqual({
    ID: "web1",
    Service: "web",
    Tags: ["blue", "v1"],
    Meta: { version: "1.2" },
    Port: 8080,
    Address: "10.0.0.5",
    TaggedAddresses: { lan_ipv4: { Address: "10.0.0.5", Port: 8080 }, wan_ipv4: { Address: "10.0.0.5", Port: 8080 } },
    Weights: { Passing: 3, Warning: 1 },
    EnableTagOverride: true,
    Datacenter: DC,
  });
  // Consul syncs before answering: the catalog already has the service and its check.
  expect(catalogService(h, "web1")).toMatchObject({ Service: "web", Port: 8080, Tags: ["blue", "v1"] });
  expect(catalogCheck(h, "web-ttl")).toMatchObject({ ServiceID: "web1", Status: "critical" });
});

test("a service without tags or meta shows [] and {}; ID defaults to the name; Kind and Proxy are carried for proxies", async () => {
  await h.putOk("/v1/agent/service/register", { name: "db" });
  await h.putOk("/v1/agent/service/register", {
    Kind: "connect-proxy",
    Name: "web-sidecar-proxy",
    Port: 21000,
    Proxy: { DestinationServiceName: "web", LocalServicePort: 8080 },
  });
  const services = await h.getJson<Record<string, Record<string, unknown>>>("/v1/agent/services");
  expect(services.db).toMatchObject({ ID: "db", Service: "db", Tags: [], Meta: {}, Port: 0 });
  expect(services.db).not.toHaveProperty("Proxy");
  expect(services["web-sidecar-proxy"]).toMatchObject({
    Kind: "connect-proxy",
    Proxy: { DestinationServiceName: "web", LocalServicePort: 8080 },
  });
});

test("?filter selects services; a bad filter is a 400", async () => {
  await h.putOk("/v1/agent/service/register", web);
  await h.putOk("/v1/agent/service/register", { Name: "db", Tags: ["primary"] });
  const onlyDb = await h.getJson<Record<string, unknown>>(`/v1/agent/services?filter=${encodeURIComponent('"primary" in Tags')}`);
  expect(Object.keys(onlyDb)).toEqual(["db"]);
  const res = await h.get(`/v1/agent/services?filter=${encodeURIComponent("Service ===")}`);
  expect(res.status).toBe(400);
});

test("GET /v1/agent/service/:id answers 404 for an unknown ID and sets X-Consul-ContentHash", async () => {
  const missing = await h.get("/v1/agent/service/nope");
  expect(missing.status).toBe(404);
  expect(await missing.text()).toBe("unknown service ID: nope");

  await h.putOk("/v1/agent/service/register", web);
  const res = await h.get("/v1/agent/service/web1");
  expect(res.status).toBe(200);
  const body = (await res.json()) as { ContentHash: string; Service: string };
  expect(body.Service).toBe("web");
  expect(body.ContentHash).toMatch(/^[0-9a-f]+$/);
  expect(res.headers.get("X-Consul-ContentHash")).toBe(body.ContentHash);
  // The hash is stable while nothing changes.
  expect((await h.get("/v1/agent/service/web1")).headers.get("X-Consul-ContentHash")).toBe(body.ContentHash);
});

test("?hash blocks until the service changes, and returns the same hash when the wait runs out", async () => {
  await h.putOk("/v1/agent/service/register", web);
  const hash = (await h.get("/v1/agent/service/web1")).headers.get("X-Consul-ContentHash")!;

  const started = Date.now();
  const timedOut = await h.get(`/v1/agent/service/web1?hash=${hash}&wait=150ms`);
  expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  expect(timedOut.headers.get("X-Consul-ContentHash")).toBe(hash);

  const parked = track(h.get(`/v1/agent/service/web1?hash=${hash}&wait=10s`));
  await sleep(50);
  expect(parked.settled).toBe(false);
  // A check-only change does not touch the service definition.
  await h.putOk("/v1/agent/check/pass/web-ttl");
  await sleep(50);
  expect(parked.settled).toBe(false);
  await h.putOk("/v1/agent/service/register", { ...web, Tags: ["green"] });
  const woke = await parked.promise;
  expect(woke.headers.get("X-Consul-ContentHash")).not.toBe(hash);
  expect(((await woke.json()) as { Tags: string[] }).Tags).toEqual(["green"]);
});

test("?index on /v1/agent/services blocks until the local services change", async () => {
  const first = await h.get("/v1/agent/services");
  const index = Number(first.headers.get("X-Consul-Index"));
  expect(index).toBeGreaterThan(0);
  const parked = track(h.get(`/v1/agent/services?index=${index}&wait=10s`));
  await sleep(50);
  expect(parked.settled).toBe(false);
  await h.putOk("/v1/agent/service/register", { Name: "late" });
  const res = await parked.promise;
  expect(Number(res.headers.get("X-Consul-Index"))).toBeGreaterThan(index);
  expect(Object.keys((await res.json()) as object)).toEqual(["late"]);
});

test("replace-existing-checks drops the checks the new registration leaves out; without it they stay", async () => {
  const twoChecks = { ID: "api", Name: "api", Checks: [{ CheckID: "a", Name: "a", TTL: "30s" }, { CheckID: "b", Name: "b", TTL: "30s" }] };
  await h.putOk("/v1/agent/service/register", twoChecks);
  await h.putOk("/v1/agent/service/register", { ID: "api", Name: "api", Checks: [{ CheckID: "a", Name: "a", TTL: "30s" }] });
  expect(Object.keys(await h.getJson<object>("/v1/agent/checks")).sort()).toEqual(["a", "b"]);
  await h.putOk("/v1/agent/service/register?replace-existing-checks", { ID: "api", Name: "api", Checks: [{ CheckID: "a", Name: "a", TTL: "30s" }] });
  expect(Object.keys(await h.getJson<object>("/v1/agent/checks"))).toEqual(["a"]);
  expect(catalogCheck(h, "b")).toBeNull();
});

test("deregister removes the service and its checks from the agent and the catalog; an unknown ID is a 404", async () => {
  await h.putOk("/v1/agent/service/register", web);
  await h.putOk("/v1/agent/service/deregister/web1");
  expect(await h.getJson("/v1/agent/services")).toEqual({});
  expect(await h.getJson("/v1/agent/checks")).toEqual({});
  expect(catalogService(h, "web1")).toBeNull();
  expect(catalogCheck(h, "web-ttl")).toBeNull();
  const res = await h.put("/v1/agent/service/deregister/web1");
  expect(res.status).toBe(404);
  expect(await res.text()).toBe('Unknown service ID "web1". Ensure that the service ID is passed, not the service name.');
});

test("service maintenance adds and removes the _service_maintenance check; enable is required and a Go bool", async () => {
  await h.putOk("/v1/agent/service/register", web);
  const missing = await h.put("/v1/agent/service/maintenance/web1");
  expect([missing.status, await missing.text()]).toEqual([400, "Missing value for enable"]);
  const bad = await h.put("/v1/agent/service/maintenance/web1?enable=maybe");
  expect([bad.status, await bad.text()]).toEqual([400, 'Invalid value for enable: "maybe"']);
  const unknown = await h.put("/v1/agent/service/maintenance/nope?enable=true");
  expect([unknown.status, await unknown.text()]).toEqual([404, 'No service registered with ID "nope"']);
  const noId = await h.put("/v1/agent/service/maintenance/?enable=true");
  expect([noId.status, await noId.text()]).toEqual([400, "Missing service ID"]);

  await h.putOk("/v1/agent/service/maintenance/web1?enable=true&reason=upgrading");
  const checks = await h.getJson<Record<string, Record<string, unknown>>>("/v1/agent/checks");
  expect(checks["_service_maintenance:web1"]).toMatchObject({
    Name: "Service Maintenance Mode",
    Status: "critical",
    Notes: "upgrading",
    ServiceID: "web1",
    ServiceName: "web",
  });
  expect(catalogCheck(h, "_service_maintenance:web1")).toMatchObject({ Status: "critical" });
  const passing = await h.getJson<unknown[]>("/v1/health/service/web?passing");
  expect(passing).toEqual([]);

  await h.putOk("/v1/agent/service/maintenance/web1?enable=false");
  expect(Object.keys(await h.getJson<object>("/v1/agent/checks"))).toEqual(["web-ttl"]);
  expect(catalogCheck(h, "_service_maintenance:web1")).toBeNull();
});

/** Asserts a refused registration left no trace anywhere. */
async function expectNothingRegistered(): Promise<void> {
  expect(await h.getJson("/v1/agent/services")).toEqual({});
  expect(await h.getJson("/v1/agent/checks")).toEqual({});
  expect(catalogService(h, "bad")).toBeNull();
}

test.each([
  ["a check with no known type", { Check: { Name: "c", Foo: "bar" } }, "Invalid check: TTL must be > 0 for TTL checks"],
  [
    "a negative interval",
    { Check: { Name: "c", HTTP: "http://127.0.0.1:1/", Interval: "-10s" } },
    "Invalid check: Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks",
  ],
  [
    "a script check while scripts are disabled",
    { Check: { Name: "c", Args: ["/bin/true"], Interval: "10s" } },
    "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true",
  ],
  [
    "two checks with the same ID",
    { Checks: [{ CheckID: "dup", TTL: "10s" }, { CheckID: "dup", TTL: "20s" }] },
    'Duplicate check ID "dup" in service "bad"',
  ],
  ["an OSService check", { Check: { Name: "c", OSService: "sshd", Interval: "10s" } }, "os_service checks are not supported by this agent"],
  ["a check status that is not a status", { Check: { TTL: "10s", Status: "fine" } }, "Status for checks must 'passing', 'warning', 'critical'"],
  ["an unparsable duration", { Check: { TTL: "ten seconds" } }, 'Request decode failed: time: invalid duration "ten seconds"'],
  ["the any address", { Address: "0.0.0.0" }, "Invalid service address"],
  ["a port past 64 bits", { Port: 184467440737095516160 }, "Request decode failed: Port must be an integer, got 184467440737095500000"],
  ["bad meta", { Meta: { "consul-x": "1" } }, "Invalid Service Meta: Key prefix 'consul-' is reserved for internal use"],
])("a registration with %s is a 400 and registers nothing", async (_what, extra, message) => {
  // A valid check goes first: it must not survive the refusal of the one after it.
  const { Check: bad, ...rest } = extra as { Check?: unknown };
  const body: Record<string, unknown> = { ID: "bad", Name: "bad", ...rest };
  if (bad !== undefined) body.Checks = [{ CheckID: "ok", TTL: "10s" }, bad];
  const res = await h.put("/v1/agent/service/register", body);
  expect(await res.text()).toBe(message);
  expect(res.status).toBe(400);
  await expectNothingRegistered();
});

test("a check ID already used by another service is refused and the second service is not registered", async () => {
  await h.putOk("/v1/agent/service/register", { ID: "one", Name: "one", Check: { CheckID: "shared", TTL: "10s" } });
  const res = await h.put("/v1/agent/service/register", { ID: "two", Name: "two", Check: { CheckID: "shared", TTL: "10s" } });
  expect(res.status).toBe(400);
  expect(await res.text()).toBe('Check ID "shared" is already registered for service "one"');
  expect(Object.keys(await h.getJson<object>("/v1/agent/services"))).toEqual(["one"]);
  expect(catalogService(h, "two")).toBeNull();
});

test("bodies that are not a registration: empty, not JSON, no name", async () => {
  const empty = await h.put("/v1/agent/service/register");
  expect([empty.status, await empty.text()]).toEqual([400, "Request decode failed: EOF"]);
  const garbage = await h.put("/v1/agent/service/register", "{nope");
  expect(garbage.status).toBe(400);
  expect(await garbage.text()).toStartWith("Request decode failed:");
  const nameless = await h.put("/v1/agent/service/register", { Port: 80 });
  expect([nameless.status, await nameless.text()]).toEqual([400, "Missing service name"]);
  await expectNothingRegistered();
});
