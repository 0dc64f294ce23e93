import { afterAll, describe, expect, test } from "bun:test";
import { ADDR, DC, NODE, NODE_ID, register, startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

const NODE_KEYS = ["ID", "Node", "Address", "Datacenter", "TaggedAddresses", "Meta", "CreateIndex", "ModifyIndex"];

await register(h, {
  Node: "web-1",
  Address: "10.0.0.1",
  TaggedAddresses: { lan: "10.0.0.1", wan: "198.18.0.1" },
  NodeMeta: { rack: "r1", env: "prod" },
  Service: { Service: "web", ID: "web-a", Port: 8080, Tags: ["v1", "primary"], Meta: { version: "1" } },
});
await register(h, {
  Node: "web-2",
  Address: "10.0.0.2",
  NodeMeta: { rack: "r2", env: "prod" },
  Service: { Service: "web", ID: "web-b", Port: 8080, Tags: ["v2"], Meta: { version: "2" }, Address: "10.0.0.22" },
});
await register(h, { Node: "db-1", Address: "10.0.1.1", NodeMeta: { rack: "r1", env: "dev" }, Service: { Service: "db", Port: 5432 } });

describe("register and the read shapes", () => {
  test("nodes: every node with Consul's fields, sorted by name, the server first registered", async () => {
    const nodes = await h.getJson<Record<string, unknown>[]>("/v1/catalog/nodes");
    expect(nodes.map((n) => n.Node)).toEqual(["db-1", NODE, "web-1", "web-2"]);
    for (const n of nodes) expect(Object.keys(n)).toEqual(NODE_KEYS);
    const self = nodes.find((n) => n.Node === NODE)!;
    expect(self).toMatchObject({ ID: NODE_ID, Address: ADDR, Datacenter: DC });
    const web1 = nodes.find((n) => n.Node === "web-1")!;
    expect(web1).toMatchObject({ Address: "10.0.0.1", TaggedAddresses: { lan: "10.0.0.1", wan: "198.18.0.1" }, Meta: { rack: "r1", env: "prod" } });
  });

  test("services: name -> union of tags; the server's consul service is listed", async () => {
    const services = await h.getJson<Record<string, string[]>>("/v1/catalog/services");
    expect(Object.keys(services).sort()).toEqual(["consul", "db", "web"]);
    expect(services.consul).toEqual([]);
    expect(services.db).toEqual([]);
    expect([...services.web!].sort()).toEqual(["primary", "v1", "v2"]);
  });

  test("service/:name: ServiceNode rows with node and service fields", async () => {
    const rows = await h.getJson<Record<string, unknown>[]>("/v1/catalog/service/web");
    expect(rows.map((r) => r.ServiceID)).toEqual(["web-a", "web-b"]);
    const a = rows[0]!;
    expect(a).toMatchObject({
      Node: "web-1",
      Address: "10.0.0.1",
      Datacenter: DC,
      TaggedAddresses: { lan: "10.0.0.1", wan: "198.18.0.1" },
      NodeMeta: { rack: "r1", env: "prod" },
      ServiceKind: "",
      ServiceID: "web-a",
      ServiceName: "web",
      ServiceTags: ["v1", "primary"],
      ServiceAddress: "",
      ServiceWeights: { Passing: 1, Warning: 1 },
      ServiceMeta: { version: "1" },
      ServicePort: 8080,
      ServiceEnableTagOverride: false,
    });
    for (const k of ["ID", "ServiceProxy", "ServiceConnect", "CreateIndex", "ModifyIndex"]) expect(Object.keys(a)).toContain(k);
    // ServiceTaggedAddresses is omitempty in Consul.
    expect(Object.keys(a)).not.toContain("ServiceTaggedAddresses");
    expect(rows[1]!.ServiceAddress).toBe("10.0.0.22");
  });

  test("service/:name of an unknown service is []", async () => {
    const res = await h.get("/v1/catalog/service/nope");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("[]");
  });

  test("node/:node: {Node, Services: {id: NodeService}}; unknown node is null", async () => {
    const body = await h.getJson<{ Node: Record<string, unknown>; Services: Record<string, Record<string, unknown>> }>("/v1/catalog/node/web-1");
    expect(Object.keys(body.Node)).toEqual(NODE_KEYS);
    expect(Object.keys(body.Services)).toEqual(["web-a"]);
    expect(body.Services["web-a"]).toMatchObject({
      ID: "web-a",
      Service: "web",
      Tags: ["v1", "primary"],
      Address: "",
      Meta: { version: "1" },
      Port: 8080,
      Weights: { Passing: 1, Warning: 1 },
      EnableTagOverride: false,
    });
    const miss = await h.get("/v1/catalog/node/nobody");
    expect(miss.status).toBe(200);
    expect(await miss.text()).toBe("null");
  });

  test("node-services/:node: {Node, Services: [NodeService]}", async () => {
    const body = await h.getJson<{ Node: Record<string, unknown>; Services: Record<string, unknown>[] }>("/v1/catalog/node-services/web-2");
    expect(body.Node.Node).toBe("web-2");
    expect(body.Services.map((s) => s.ID)).toEqual(["web-b"]);
    expect(body.Services[0]!.Address).toBe("10.0.0.22");
  });

  test("datacenters", async () => {
    expect(await h.getJson<string[]>("/v1/catalog/datacenters")).toEqual([DC]);
  });

  test("lowercase and snake_case bodies register the same way", async () => {
    await register(h, {
      node: "lower",
      address: "10.3.0.1",
      node_meta: { k: "v" },
      service: { service: "lowsvc", port: 1, tags: ["t"], enable_tag_override: true },
      check: { name: "lowcheck", status: "passing", service_id: "lowsvc" },
    });
    const [row] = await h.getJson<Record<string, unknown>[]>("/v1/catalog/service/lowsvc");
    expect(row).toMatchObject({ Node: "lower", NodeMeta: { k: "v" }, ServiceTags: ["t"], ServicePort: 1, ServiceEnableTagOverride: true });
    const checks = await h.getJson<Record<string, unknown>[]>("/v1/health/checks/lowsvc");
    expect(checks.map((c) => c.CheckID)).toEqual(["lowcheck"]);
  });

  test("re-registering the same data does not move the indexes", async () => {
    const modifyIndex = async () => (await h.getJson<{ Node: { ModifyIndex: number } }>("/v1/catalog/node/db-1")).Node.ModifyIndex;
    const before = await modifyIndex();
    await register(h, { Node: "db-1", Address: "10.0.1.1", NodeMeta: { rack: "r1", env: "dev" }, Service: { Service: "db", Port: 5432 } });
    expect(await modifyIndex()).toBe(before);
    await register(h, { Node: "db-1", Address: "10.0.1.9", NodeMeta: { rack: "r1", env: "dev" }, Service: { Service: "db", Port: 5432 } });
    expect(await modifyIndex()).toBeGreaterThan(before);
    await register(h, { Node: "db-1", Address: "10.0.1.1", NodeMeta: { rack: "r1", env: "dev" }, Service: { Service: "db", Port: 5432 } });
  });
});

describe("deregister", () => {
  test("a check, then a service (with its checks), then the node", async () => {
    await register(h, {
      Node: "tmp",
      Address: "10.4.0.1",
      Service: { Service: "tmpsvc", Port: 1 },
      Checks: [
        { CheckID: "node-check", Name: "n", Status: "passing" },
        { CheckID: "svc-check", Name: "s", Status: "passing", ServiceID: "tmpsvc" },
      ],
    });
    expect(await h.putJson("/v1/catalog/deregister", { Node: "tmp", CheckID: "node-check" })).toBe(true);
    expect((await h.getJson<{ CheckID: string }[]>("/v1/health/node/tmp")).map((c) => c.CheckID)).toEqual(["svc-check"]);

    expect(await h.putJson("/v1/catalog/deregister", { Node: "tmp", ServiceID: "tmpsvc" })).toBe(true);
    expect(await h.getJson("/v1/catalog/service/tmpsvc")).toEqual([]);
    expect(await h.getJson("/v1/health/node/tmp")).toEqual([]);
    expect(Object.keys(await h.getJson<Record<string, unknown>>("/v1/catalog/services"))).not.toContain("tmpsvc");

    expect(await h.putJson("/v1/catalog/deregister", { Node: "tmp" })).toBe(true);
    expect((await h.getJson<{ Node: string }[]>("/v1/catalog/nodes")).map((n) => n.Node)).not.toContain("tmp");
  });

  test("deregistering what does not exist still answers true", async () => {
    expect(await h.putJson("/v1/catalog/deregister", { Node: "ghost" })).toBe(true);
    expect(await h.putJson("/v1/catalog/deregister", { Node: "web-1", ServiceID: "ghost" })).toBe(true);
  });

  test("deregister without a node is refused", async () => {
    const res = await h.put("/v1/catalog/deregister", { ServiceID: "web-a" });
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("Must provide node");
    expect((await h.getJson<unknown[]>("/v1/catalog/service/web")).length).toBe(2);
  });
});

describe("validation: nothing is stored on a refused registration", () => {
  async function refused(body: unknown, status: number, text: string | RegExp): Promise<void> {
    const before = h.server.lastIndex();
    const res = await h.put("/v1/catalog/register", typeof body === "string" ? body : JSON.stringify(body));
    expect({ body, status: res.status }).toEqual({ body, status });
    const msg = await res.text();
    if (typeof text === "string") expect(msg).toBe(text);
    else expect(msg).toMatch(text);
    expect(h.server.lastIndex()).toBe(before);
  }

  test("required fields (Consul answers these from the RPC layer: 500)", async () => {
    await refused({ Address: "10.9.0.1" }, 500, "Must provide node");
    await refused({ Node: "bad-1" }, 500, "Must provide address if SkipNodeUpdate is not set");
    await refused({ Node: "bad-1", Address: "10.9.0.1", Service: { ID: "x", Port: 1 } }, 500, "Must provide service name (Service.Service) when service ID is provided");
    await refused(
      { Node: "bad-1", Address: "10.9.0.1", Check: { Node: "other", CheckID: "c", Name: "c" } },
      500,
      "Node 'other' for check 'c' doesn't match register request node 'bad-1'",
    );
  });

  test("SkipNodeUpdate allows a missing address for an existing node", async () => {
    expect(await h.putJson("/v1/catalog/register", { Node: "web-1", SkipNodeUpdate: true, Service: { Service: "extra", Port: 9 } })).toBe(true);
    const [row] = await h.getJson<Record<string, unknown>[]>("/v1/catalog/service/extra");
    expect(row!.Address).toBe("10.0.0.1");
  });

  test("malformed JSON and wrong JSON types are 400 Request decode failed", async () => {
    await refused("{", 400, /^Request decode failed: /);
    await refused("[1,2]", 400, /^Request decode failed: /);
    await refused({ Node: 7, Address: "10.9.0.1" }, 400, /^Request decode failed: /);
    await refused({ Node: "bad-2", Address: "10.9.0.1", NodeMeta: { k: 1 } }, 400, /^Request decode failed: /);
    await refused({ Node: "bad-2", Address: "10.9.0.1", Service: { Service: "s", Port: "80" } }, 400, /^Request decode failed: /);
    await refused({ Node: "bad-2", Address: "10.9.0.1", Service: { Service: "s", Tags: "a,b" } }, 400, /^Request decode failed: /);
    await refused({ Node: "bad-2", Address: "10.9.0.1", Service: "web" }, 400, /^Request decode failed: /);
    await refused({ Node: "bad-2", Address: "10.9.0.1", Checks: { CheckID: "x" } }, 400, /^Request decode failed: /);
    await refused({ Node: "bad-2", Address: "10.9.0.1", Service: { Service: "s", EnableTagOverride: "yes" } }, 400, /^Request decode failed: /);
    // Go decodes ports and weights into an int: a fraction or a value past 64 bits is refused.
    await refused({ Node: "bad-2", Address: "10.9.0.1", Service: { Service: "s", Port: 184467440737095516160 } }, 400, "Request decode failed: Port must be an integer, got 184467440737095500000");
    await refused({ Node: "bad-2", Address: "10.9.0.1", Service: { Service: "s", Port: 80.5 } }, 400, "Request decode failed: Port must be an integer, got 80.5");
    await refused({ Node: "bad-2", Address: "10.9.0.1", Service: { Service: "s", Weights: { Passing: 1e300, Warning: 1 } } }, 400, /^Request decode failed: Passing must be an integer/);
    expect((await h.getJson<{ Node: string }[]>("/v1/catalog/nodes")).map((n) => n.Node)).not.toContain("bad-2");
  });

  test("an empty body is refused", async () => {
    const res = await h.put("/v1/catalog/register", "");
    expect(res.status).toBeGreaterThanOrEqual(400);
  });
});

describe("query parameters", () => {
  test("tag filters case-insensitively; repeated tags must all match", async () => {
    const ids = async (q: string) => (await h.getJson<{ ServiceID: string }[]>(`/v1/catalog/service/web?${q}`)).map((r) => r.ServiceID);
    expect(await ids("tag=v1")).toEqual(["web-a"]);
    expect(await ids("tag=V2")).toEqual(["web-b"]);
    expect(await ids("tag=v1&tag=primary")).toEqual(["web-a"]);
    expect(await ids("tag=v1&tag=v2")).toEqual([]);
  });

  test("node-meta filters nodes, services and service rows (all pairs must match)", async () => {
    const nodes = (await h.getJson<{ Node: string }[]>("/v1/catalog/nodes?node-meta=rack:r1")).map((n) => n.Node);
    expect(nodes).toEqual(["db-1", "web-1"]);
    const both = (await h.getJson<{ Node: string }[]>("/v1/catalog/nodes?node-meta=rack:r1&node-meta=env:prod")).map((n) => n.Node);
    expect(both).toEqual(["web-1"]);
    const services = await h.getJson<Record<string, string[]>>("/v1/catalog/services?node-meta=env:dev");
    expect(Object.keys(services)).toEqual(["db"]);
    const rows = (await h.getJson<{ Node: string }[]>("/v1/catalog/service/web?node-meta=rack:r2")).map((r) => r.Node);
    expect(rows).toEqual(["web-2"]);
  });

  test("filter on service rows, nodes, and a node's services", async () => {
    const ids = (await h.getJson<{ ServiceID: string }[]>(`/v1/catalog/service/web?filter=${encodeURIComponent('ServiceMeta.version == "2"')}`)).map(
      (r) => r.ServiceID,
    );
    expect(ids).toEqual(["web-b"]);
    const nodes = (await h.getJson<{ Node: string }[]>(`/v1/catalog/nodes?filter=${encodeURIComponent('Meta.env == "dev"')}`)).map((n) => n.Node);
    expect(nodes).toEqual(["db-1"]);
    const svcs = await h.getJson<Record<string, string[]>>(`/v1/catalog/services?filter=${encodeURIComponent('ServiceName == "db"')}`);
    expect(Object.keys(svcs)).toEqual(["db"]);
    const node = await h.getJson<{ Services: Record<string, unknown> }>(`/v1/catalog/node/web-1?filter=${encodeURIComponent('Service == "web"')}`);
    expect(Object.keys(node.Services)).toEqual(["web-a"]);
  });

  test("a filter naming an unknown field is 400 Failed to create boolean expression evaluator", async () => {
    for (const path of ["/v1/catalog/service/web", "/v1/catalog/nodes", "/v1/catalog/services", "/v1/catalog/node/web-1"]) {
      const res = await h.get(`${path}?filter=${encodeURIComponent("NoSuchField == 1")}`);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(await res.text()).toStartWith("Failed to create boolean expression evaluator");
    }
    const syntax = await h.get(`/v1/catalog/nodes?filter=${encodeURIComponent("Node ==")}`);
    expect(syntax.status).toBe(400);
  });

  test("near is accepted (sorting is a no-op without coordinates)", async () => {
    for (const near of ["_agent", "web-1", "unknown-node"]) {
      const rows = await h.getJson<{ ServiceID: string }[]>(`/v1/catalog/service/web?near=${near}`);
      expect(rows.map((r) => r.ServiceID).sort()).toEqual(["web-a", "web-b"]);
      const nodes = await h.getJson<unknown[]>(`/v1/catalog/nodes?near=${near}`);
      expect(nodes.length).toBeGreaterThan(2);
    }
  });
});
