/**
 * `/v1/catalog/gateway-services/:gateway`: the services a terminating or
 * ingress gateway is linked to, in Consul's GatewayService shape, following
 * registrations (wildcard links) and entries by blocking query.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { index, register, sleep, startHarness, track } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

const svc = (node: string, service: Record<string, unknown>) => register(h, { Node: node, Address: "10.0.0.9", Service: service });
const config = async (body: unknown) => expect((await h.put("/v1/config", JSON.stringify(body))).status).toBe(200);

interface Row {
  Service: { Name: string };
  [k: string]: unknown;
}

beforeAll(async () => {
  await svc("ext", { Service: "billing", Port: 443 });
  await svc("n1", { Service: "api", Port: 80 });
  await svc("n1", { Service: "web", Port: 8080 });
  await svc("n1", { Kind: "connect-proxy", Service: "web-sidecar-proxy", Port: 21000, Proxy: { DestinationServiceName: "web" } });
});

test("no gateway entry of that name: null; no name: 400 Missing gateway name", async () => {
  const r = await h.get("/v1/catalog/gateway-services/nowhere");
  expect(r.status).toBe(200);
  expect(await r.json()).toBeNull();
  expect(index(r)).toBeGreaterThan(0);
  const missing = await h.get("/v1/catalog/gateway-services/");
  expect(missing.status).toBe(400);
  expect(await missing.text()).toBe("Missing gateway name");
});

test("a terminating gateway: named links with their TLS settings, the wildcard over registered typical services (a named link overrides it)", async () => {
  await config({
    Kind: "terminating-gateway",
    Name: "tgw",
    Services: [
      { Name: "billing", CAFile: "/etc/billing/ca.pem", CertFile: "/etc/billing/cert.pem", KeyFile: "/etc/billing/key.pem", SNI: "billing.example.com" },
      { Name: "*" },
      { Name: "ghost" },
    ],
  });
  const { ModifyIndex, CreateIndex } = await h.getJson<{ ModifyIndex: number; CreateIndex: number }>("/v1/config/terminating-gateway/tgw");
  const rows = await h.getJson<Row[]>("/v1/catalog/gateway-services/tgw");
  expect(rows.map((r) => r.Service.Name)).toEqual(["api", "billing", "ghost", "web"]);
  expect(rows[1]).toEqual({
    Gateway: { Name: "tgw" },
    Service: { Name: "billing" },
    GatewayKind: "terminating-gateway",
    CAFile: "/etc/billing/ca.pem",
    CertFile: "/etc/billing/cert.pem",
    KeyFile: "/etc/billing/key.pem",
    SNI: "billing.example.com",
    ServiceKind: "service",
    CreateIndex,
    ModifyIndex,
  });
  expect(rows[0]).toEqual({ Gateway: { Name: "tgw" }, Service: { Name: "api" }, GatewayKind: "terminating-gateway", FromWildcard: true, ServiceKind: "service", CreateIndex, ModifyIndex });
  // A named service that is not registered has no ServiceKind.
  expect(rows[2]).toEqual({ Gateway: { Name: "tgw" }, Service: { Name: "ghost" }, GatewayKind: "terminating-gateway", CreateIndex, ModifyIndex });
});

test("a blocking read wakes when a registration joins the wildcard", async () => {
  const first = await h.get("/v1/catalog/gateway-services/tgw");
  const parked = track(h.getJson<Row[]>(`/v1/catalog/gateway-services/tgw?index=${index(first)}&wait=5s`));
  await sleep(50);
  expect(parked.settled).toBe(false);
  await svc("n2", { Service: "late", Port: 81 });
  const rows = await parked.promise;
  expect(rows.map((r) => r.Service.Name)).toEqual(["api", "billing", "ghost", "late", "web"]);
  expect(rows.find((r) => r.Service.Name === "late")).toMatchObject({ FromWildcard: true, ServiceKind: "service" });
});

test("an ingress gateway: each listener's services with Port, Protocol and Hosts; its wildcard covers Connect-enabled services only", async () => {
  for (const name of ["api", "web"]) await config({ Kind: "service-defaults", Name: name, Protocol: "http" });
  await config({ Kind: "ingress-gateway", Name: "edge", Listeners: [{ Port: 8080, Protocol: "http", Services: [{ Name: "api", Hosts: ["api.example.com"] }, { Name: "*" }] }] });
  const rows = await h.getJson<Row[]>("/v1/catalog/gateway-services/edge");
  expect(rows.map((r) => [r.Service.Name, r.GatewayKind, r.Port, r.Protocol, r.Hosts ?? null, r.FromWildcard ?? false])).toEqual([
    ["api", "ingress-gateway", 8080, "http", ["api.example.com"], false],
    ["web", "ingress-gateway", 8080, "http", null, true],
  ]);
});
