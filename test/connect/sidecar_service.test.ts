/**
 * `Connect.SidecarService` in agent registrations (Consul's
 * agent/sidecar_service.go), Proxy normalization and validation, and the
 * Connect catalog/health endpoints that the data plane dials through.
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import { type AgentHarness, catalogCheck, catalogService, startAgentHarness } from "../http/_agent_harness.ts";

let h: AgentHarness;
beforeEach(async () => {
  h = await startAgentHarness();
});
afterEach(async () => {
  await h.stop();
});

type Svc = Record<string, unknown> & { Proxy?: Record<string, unknown> };

test("sidecar_service creates <id>-sidecar-proxy: connect-proxy kind, first port of the range, proxy aimed at the service, parent tags and meta", async () => {
  await h.putOk("/v1/agent/service/register", {
    ID: "web1",
    Name: "web",
    Port: 8080,
    Tags: ["v1"],
    Meta: { team: "a" },
    Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: "db", LocalBindPort: 9191 }] } } },
  });
  const services = await h.getJson<Record<string, Svc>>("/v1/agent/services");
  expect(Object.keys(services).sort()).toEqual(["web1", "web1-sidecar-proxy"]);
  expect(services.web1).not.toHaveProperty("Connect");
  const side = services["web1-sidecar-proxy"]!;
  expect(side).toMatchObject({ Kind: "connect-proxy", ID: "web1-sidecar-proxy", Service: "web-sidecar-proxy", Port: 21000, Tags: ["v1"], Meta: { team: "a" } });
  expect(side.Proxy).toEqual({
    DestinationServiceName: "web",
    DestinationServiceID: "web1",
    LocalServiceAddress: "127.0.0.1",
    LocalServicePort: 8080,
    Mode: "",
    MeshGateway: {},
    Expose: {},
    Upstreams: [{ DestinationType: "service", DestinationName: "db", LocalBindPort: 9191, MeshGateway: {} }],
  });
  // The default checks: the proxy's TCP port, and an alias of the service it fronts.
  const tcp = catalogCheck(h, "service:web1-sidecar-proxy:1") as unknown as Record<string, unknown>;
  expect(tcp).toMatchObject({ Name: "Connect Sidecar Listening", ServiceID: "web1-sidecar-proxy", Type: "tcp", Interval: "10s" });
  expect((tcp.Definition as Record<string, unknown>).TCP).toBe("127.0.0.1:21000");
  expect(catalogCheck(h, "service:web1-sidecar-proxy:2")).toMatchObject({ Name: "Connect Sidecar Aliasing web1", ServiceID: "web1-sidecar-proxy" });
  // The catalog never stores the sugar.
  expect((catalogService(h, "web1") as Svc).Connect).toEqual({});
});

test("snake_case sidecar blocks from config files decode the same way; re-registration keeps the port; a second sidecar takes the next", async () => {
  const def = { id: "api", name: "api", port: 7000, connect: { sidecar_service: { proxy: { upstreams: [{ destination_name: "db", local_bind_port: 9000 }] } } } };
  await h.putOk("/v1/agent/service/register", def);
  await h.putOk("/v1/agent/service/register", { Name: "other", Port: 7001, Connect: { SidecarService: {} } });
  await h.putOk("/v1/agent/service/register", def);
  const services = await h.getJson<Record<string, Svc>>("/v1/agent/services");
  expect(services["api-sidecar-proxy"]!.Port).toBe(21000);
  expect(services["other-sidecar-proxy"]!.Port).toBe(21001);
  expect(services["api-sidecar-proxy"]!.Proxy!.Upstreams).toEqual([{ DestinationType: "service", DestinationName: "db", LocalBindPort: 9000, MeshGateway: {} }]);
});

test("a sidecar's given port, checks, name and local service address win over the defaults", async () => {
  await h.putOk("/v1/agent/service/register", {
    Name: "web",
    Port: 8080,
    Address: "10.1.1.1",
    Connect: { SidecarService: { Name: "edge", Port: 30000, Check: { TTL: "10s" }, Proxy: { LocalServiceAddress: "10.0.0.9", LocalServicePort: 9999 } } },
  });
  const side = await h.getJson<Svc>("/v1/agent/service/web-sidecar-proxy");
  expect(side).toMatchObject({ Service: "edge", Port: 30000, Address: "10.1.1.1" });
  expect(side.Proxy).toMatchObject({ LocalServiceAddress: "10.0.0.9", LocalServicePort: 9999 });
  expect(catalogCheck(h, "service:web-sidecar-proxy")).toMatchObject({ Type: "ttl" });
  expect(catalogCheck(h, "service:web-sidecar-proxy:1")).toBeNull();
});

test("deregistering the service removes its sidecar; deregistering the sidecar alone keeps the service", async () => {
  await h.putOk("/v1/agent/service/register", { Name: "web", Port: 8080, Connect: { SidecarService: {} } });
  await h.putOk("/v1/agent/service/deregister/web-sidecar-proxy");
  expect(Object.keys(await h.getJson<Record<string, unknown>>("/v1/agent/services"))).toEqual(["web"]);
  await h.putOk("/v1/agent/service/register", { Name: "web", Port: 8080, Connect: { SidecarService: {} } });
  await h.putOk("/v1/agent/service/deregister/web");
  expect(await h.getJson<Record<string, unknown>>("/v1/agent/services")).toEqual({});
  expect(catalogService(h, "web-sidecar-proxy")).toBeNull();
});

test("invalid connect registrations are refused with Consul's texts and register nothing", async () => {
  const cases: [object, string][] = [
    [{ Name: "p", Kind: "connect-proxy", Port: 1 }, "Proxy.DestinationServiceName must be non-empty for Connect proxy services"],
    [{ Name: "p", Kind: "connect-proxy", Proxy: { DestinationServiceName: "web" } }, "Port or SocketPath must be set for a connect-proxy"],
    [{ Name: "web", Port: 1, Connect: { SidecarService: { ID: "x" } } }, "A SidecarService cannot specify an ID as this is managed by the agent"],
    [{ Name: "web", Connect: { Native: true } }, "Port or SocketPath must be set for a Connect native service."],
    [
      { Name: "web", Port: 1, Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: "db" }] } } } },
      "Invalid SidecarService: 1 error occurred:\n\t* upstream local bind port or local socket path must be defined and nonzero",
    ],
    [
      { Name: "web", Port: 1, Connect: { SidecarService: { Proxy: { Upstreams: [{ DestinationName: "db", LocalBindPort: 5 }, { DestinationName: "cache", LocalBindPort: 5 }] } } } },
      `upstreams cannot contain duplicates by local bind address and port or unix path; "127.0.0.1:5" is specified twice`,
    ],
  ];
  for (const [body, text] of cases) {
    const res = await h.put("/v1/agent/service/register", body);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(text);
  }
  expect(await h.getJson<Record<string, unknown>>("/v1/agent/services")).toEqual({});
});

test("an exhausted sidecar port range refuses the registration, leaving the parent unregistered too", async () => {
  await h.stop();
  h = await startAgentHarness({ agentOptions: { sidecarPorts: { min: 21000, max: 21000 } } });
  await h.putOk("/v1/agent/service/register", { Name: "a", Port: 1, Connect: { SidecarService: {} } });
  const res = await h.put("/v1/agent/service/register", { Name: "b", Port: 2, Connect: { SidecarService: {} } });
  expect(res.status).toBe(400);
  expect(await res.text()).toBe("no port provided for sidecar_service and none left in the configured range [21000, 21000]");
  expect(Object.keys(await h.getJson<Record<string, unknown>>("/v1/agent/services")).sort()).toEqual(["a", "a-sidecar-proxy"]);
});

test("/v1/health/connect and /v1/catalog/connect list the service's proxies and native instances, honour ?passing, and block until a proxy changes", async () => {
  await h.putOk("/v1/agent/service/register", { Name: "db", Port: 5432, Connect: { SidecarService: { Check: { CheckID: "db-proxy-ttl", TTL: "30s" } } } });
  await h.putOk("/v1/agent/service/register", { ID: "db-native", Name: "db", Port: 5433, Connect: { Native: true } });
  await h.putOk("/v1/agent/service/register", { Name: "web", Port: 80, Connect: { SidecarService: {} } });

  const catalog = await h.getJson<Record<string, unknown>[]>("/v1/catalog/connect/db");
  expect(catalog.map((r) => r.ServiceID)).toEqual(["db-native", "db-sidecar-proxy"]);
  expect(catalog[1]).toMatchObject({ ServiceKind: "connect-proxy", ServicePort: 21000, ServiceProxy: { DestinationServiceName: "db", LocalServicePort: 5432 } });

  const all = await h.getJson<{ Service: Svc; Checks: unknown[] }[]>("/v1/health/connect/db");
  expect(all.map((r) => r.Service.ID)).toEqual(["db-native", "db-sidecar-proxy"]);
  // The proxy's TTL check is critical until it reports: ?passing leaves only the native instance.
  const passing = await h.getJson<{ Service: Svc }[]>("/v1/health/connect/db?passing");
  expect(passing.map((r) => r.Service.ID)).toEqual(["db-native"]);
  expect(await h.getJson<unknown[]>("/v1/health/connect/nothing")).toEqual([]);

  const first = await h.get("/v1/health/connect/db?passing");
  const index = Number(first.headers.get("X-Consul-Index"));
  expect(index).toBeGreaterThan(0);
  const blocked = h.get(`/v1/health/connect/db?passing&index=${index}&wait=5s`);
  let woke = false;
  void blocked.then(() => (woke = true));
  await new Promise((r) => setTimeout(r, 50));
  expect(woke).toBe(false);
  await h.putOk("/v1/agent/check/pass/db-proxy-ttl");
  const res = await blocked;
  expect(Number(res.headers.get("X-Consul-Index"))).toBeGreaterThan(index);
  expect(((await res.json()) as { Service: Svc }[]).map((r) => r.Service.ID)).toEqual(["db-native", "db-sidecar-proxy"]);

  // Removing the last proxy never moves the index backwards.
  const before = Number((await h.get("/v1/health/connect/db")).headers.get("X-Consul-Index"));
  await h.putOk("/v1/agent/service/deregister/db");
  const after = await h.get("/v1/health/connect/db");
  expect(Number(after.headers.get("X-Consul-Index"))).toBeGreaterThan(before);
  expect(((await after.json()) as { Service: Svc }[]).map((r) => r.Service.ID)).toEqual(["db-native"]);
});
