import { afterAll, expect, test } from "bun:test";
import { ROOT, startAclHarness } from "../acl/_acl_harness.ts";

const h = await startAclHarness({ defaultPolicy: "deny", tokens: { initial_management: ROOT } });
afterAll(() => h.stop());

for (const [node, svc] of [["n1", "web"], ["n2", "secret"]] as const) {
  await h.json("PUT", "/v1/catalog/register", {
    token: ROOT,
    body: { Node: node, Address: "10.0.0.1", Service: { Service: svc, Port: 80 }, Checks: [{ CheckID: `${svc}-up`, Name: "up", Status: "passing", ServiceID: svc }] },
  });
}
const policy = await h.json<{ ID: string }>("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "web-reader", Rules: 'service "web" { policy = "read" }\nnode_prefix "" { policy = "read" }' } });
const token = await h.json<{ SecretID: string }>("PUT", "/v1/acl/token", { token: ROOT, body: { Policies: [{ ID: policy.ID }] } });

test("the UI's summaries show only what the token may read, and say so", async () => {
  const res = await h.req("GET", "/v1/internal/ui/services", { token: token.SecretID });
  expect(res.status).toBe(200);
  expect(res.headers.get("X-Consul-Results-Filtered-By-ACLs")).toBe("true");
  expect(((await res.json()) as { Name: string }[]).map((s) => s.Name)).toEqual(["web"]);
  const all = await h.json<{ Name: string }[]>("GET", "/v1/internal/ui/services", { token: ROOT });
  expect(all.map((s) => s.Name)).toEqual(["consul", "secret", "web"]);

  const nodes = await h.json<{ Node: string; Services: { Service: string }[]; Checks: { CheckID: string }[] }[]>("GET", "/v1/internal/ui/nodes", { token: token.SecretID });
  const n2 = nodes.find((n) => n.Node === "n2")!;
  expect([n2.Services, n2.Checks]).toEqual([[], []]);
  expect(await h.json("GET", "/v1/internal/ui/services")).toEqual([]);
});

test("a topology or gateway read of a service the token may not read is refused", async () => {
  expect((await h.req("GET", "/v1/internal/ui/service-topology/secret?kind=", { token: token.SecretID })).status).toBe(403);
  expect((await h.req("GET", "/v1/internal/ui/service-topology/web?kind=", { token: token.SecretID })).status).toBe(200);
  expect((await h.req("GET", "/v1/internal/ui/gateway-services-nodes/secret", { token: token.SecretID })).status).toBe(403);
});
