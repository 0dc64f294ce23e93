/** Consul's ConnectProxyConfig never omits Mode, MeshGateway and Expose: plain services show the empty shape. */
import { afterAll, expect, test } from "bun:test";
import { register, startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

test("ServiceProxy in the catalog and Service.Proxy in health and node results have Consul's empty shape", async () => {
  await register(h, { Node: "n1", Address: "10.0.0.1", Service: { Service: "web", Port: 80 } });
  const empty = { Mode: "", MeshGateway: {}, Expose: {} };
  const [row] = await h.getJson<{ ServiceProxy: unknown }[]>("/v1/catalog/service/web");
  expect(row!.ServiceProxy).toEqual(empty);
  const [entry] = await h.getJson<{ Service: { Proxy: unknown } }[]>("/v1/health/service/web");
  expect(entry!.Service.Proxy).toEqual(empty);
  const node = await h.getJson<{ Services: Record<string, { Proxy: unknown }> }>("/v1/catalog/node/n1");
  expect(node.Services.web!.Proxy).toEqual(empty);
  // A proxy keeps its own settings, with the same fields filled in.
  await register(h, { Node: "n1", Address: "10.0.0.1", Service: { Kind: "connect-proxy", Service: "web-sidecar-proxy", Port: 21000, Proxy: { DestinationServiceName: "web", Mode: "transparent" } } });
  const [proxy] = await h.getJson<{ ServiceProxy: Record<string, unknown> }[]>("/v1/catalog/service/web-sidecar-proxy");
  expect(proxy!.ServiceProxy).toMatchObject({ DestinationServiceName: "web", Mode: "transparent", MeshGateway: {}, Expose: {} });
});
