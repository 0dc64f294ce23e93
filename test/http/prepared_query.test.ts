import { afterAll, describe, expect, test } from "bun:test";
import { createSession, NODE, register, startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

interface Definition {
  ID: string;
  Name: string;
  Session: string;
  Token: string;
  Template: { Type: string; Regexp: string; RemoveEmptyTags: boolean };
  Service: Record<string, unknown> & { Service: string };
  DNS: { TTL: string };
  CreateIndex: number;
  ModifyIndex: number;
}

interface Executed {
  Service: string;
  Nodes: { Node: { Node: string; Address: string }; Service: { ID: string; Service: string; Tags: string[] }; Checks: { CheckID: string; Status: string }[] }[];
  DNS: { TTL: string };
  Datacenter: string;
  Failovers: number;
}

async function post(body: unknown): Promise<Response> {
  return h.request("/v1/query", { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });
}

async function create(body: Record<string, unknown>): Promise<string> {
  const res = await post(body);
  if (res.status !== 200) throw new Error(`create: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { ID: string }).ID;
}

const execute = (idOrName: string, params = "") => h.getJson<Executed>(`/v1/query/${idOrName}/execute${params}`);
const nodesOf = (r: Executed): string[] => r.Nodes.map((n) => n.Node.Node).sort();
const sorted = (...names: string[]): string[] => names.sort();

// Five instances of "db" with different tags, metadata and health; a connect proxy for it; "db-replica" elsewhere.
const check = (node: string, id: string, status: string, serviceId = "") => ({ Node: node, CheckID: id, Name: id, Status: status, ServiceID: serviceId });
await register(h, { Node: NODE, Address: "10.1.2.3", Service: { ID: "db", Service: "db", Tags: ["primary", "v1"], Meta: { tier: "gold" }, Port: 5432 } });
await register(h, { Node: "n2", Address: "10.0.0.2", NodeMeta: { rack: "a" }, Service: { ID: "db", Service: "db", Tags: ["primary", "Experimental"], Port: 5432 } });
await register(h, { Node: "n3", Address: "10.0.0.3", NodeMeta: { rack: "b" }, Service: { ID: "db", Service: "db", Tags: ["replica"], Meta: { tier: "gold" }, Port: 5432 }, Check: check("n3", "slow", "warning") });
await register(h, { Node: "n4", Address: "10.0.0.4", NodeMeta: { rack: "a" }, Service: { ID: "db", Service: "db", Tags: ["replica"], Port: 5432 }, Check: check("n4", "flaky", "critical", "db") });
await register(h, { Node: "n5", Address: "10.0.0.5", Service: { ID: "db", Service: "db", Tags: [], Port: 5432 }, Check: check("n5", "serfHealth", "critical") });
await register(h, { Node: "n6", Address: "10.0.0.6", Service: { ID: "db-proxy", Service: "db-sidecar-proxy", Kind: "connect-proxy", Port: 21000, Proxy: { DestinationServiceName: "db" } } });
await register(h, { Node: "n7", Address: "10.0.0.7", Service: { ID: "db-replica", Service: "db-replica", Port: 5433 } });

describe("create, read, list, update, delete", () => {
  test("create answers {ID}; read is a list of one with Consul's fields; update keeps CreateIndex; delete removes it", async () => {
    const id = await create({ Name: "my-query", Token: "tok", Service: { Service: "db", Failover: { NearestN: 3, Datacenters: ["dc1", "dc2"] }, Tags: ["primary", "!experimental"] }, DNS: { TTL: "10s" } });
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const [q] = await h.getJson<Definition[]>(`/v1/query/${id}`);
    expect(Object.keys(q!)).toEqual(["ID", "Name", "Session", "Token", "Template", "Service", "DNS", "CreateIndex", "ModifyIndex"]);
    expect(q).toMatchObject({ ID: id, Name: "my-query", Session: "", Token: "tok", Template: { Type: "", Regexp: "", RemoveEmptyTags: false }, DNS: { TTL: "10s" } });
    expect(q!.Service).toEqual({
      Service: "db",
      SamenessGroup: "",
      Failover: { NearestN: 3, Datacenters: ["dc1", "dc2"], Targets: null },
      OnlyPassing: false,
      IgnoreCheckIDs: null,
      Near: "",
      Tags: ["primary", "!experimental"],
      NodeMeta: null,
      ServiceMeta: null,
      Peer: "",
      Connect: false,
    });
    expect(q!.CreateIndex).toBe(q!.ModifyIndex);

    const upd = await h.put(`/v1/query/${id}`, { Name: "my-query", Service: { Service: "db", OnlyPassing: true } });
    expect(upd.status).toBe(200);
    const [after] = await h.getJson<Definition[]>(`/v1/query/${id}`);
    expect(after!.Service.OnlyPassing).toBe(true);
    expect(after!.CreateIndex).toBe(q!.CreateIndex);
    expect(after!.ModifyIndex).toBeGreaterThan(q!.ModifyIndex);

    const list = await h.getJson<Definition[]>("/v1/query");
    expect(list.map((x) => x.ID)).toContain(id);

    expect((await h.del(`/v1/query/${id}`)).status).toBe(200);
    const gone = await h.get(`/v1/query/${id}`);
    expect(gone.status).toBe(404);
    expect(await gone.text()).toBe("Query not found");
  });

  test("Consul's refusals: anonymous without a session, no service, a taken name, a redacted token, a bad TTL, an unknown ID", async () => {
    const refused = async (body: unknown, text: string) => {
      const res = await post(body);
      expect(await res.text()).toContain(text);
      expect(res.status).toBe(500);
    };
    await refused({ Service: { Service: "db" } }, "Invalid prepared query: Must be bound to a session");
    await refused({ Name: "x" }, "Must provide a Service name to query");
    await refused({ Name: "x", Token: "<hidden>", Service: { Service: "db" } }, "it looks like a query definition with a redacted token was submitted");
    await refused({ Name: "x", Service: { Service: "db" }, DNS: { TTL: "soon" } }, "Bad DNS TTL 'soon'");
    await refused({ Name: "x", Service: { Service: "db", Failover: { NearestN: -1 } } }, "Bad NearestN '-1', must be >= 0");
    await refused({ ID: "abc", Name: "x", Service: { Service: "db" } }, "ID must be empty when creating a new prepared query");
    await create({ Name: "taken", Service: { Service: "db" } });
    await refused({ Name: "TAKEN", Service: { Service: "db" } }, "name 'TAKEN' aliases an existing query name");
    await refused({ Name: "x", Session: "4ce4d0c7-1c02-4fd8-a9c3-5ef0d7d1c4a1", Service: { Service: "db" } }, 'invalid session "4ce4d0c7-1c02-4fd8-a9c3-5ef0d7d1c4a1"');
    const upd = await h.put("/v1/query/4ce4d0c7-1c02-4fd8-a9c3-5ef0d7d1c4a1", { Name: "y", Service: { Service: "db" } });
    expect(upd.status).toBe(500);
    expect(await upd.text()).toBe("Cannot modify non-existent prepared query: '4ce4d0c7-1c02-4fd8-a9c3-5ef0d7d1c4a1'");
    expect((await h.get("/v1/query/nope/execute")).status).toBe(404);
  });

  test("bad bodies get 400 and nothing is written: not JSON, wrong types, too large, deeply nested", async () => {
    const before = (await h.getJson<Definition[]>("/v1/query")).length;
    for (const body of ["{", '{"Name": 5}', '{"Service": {"Tags": "a"}}', '{"Service": {"Failover": {"NearestN": "3"}}}', "[]"]) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(await res.text()).toStartWith("Request decode failed");
    }
    const huge = await post(JSON.stringify({ Name: "big", Service: { Service: "db", Tags: Array(200_000).fill("t") } }));
    expect(huge.status).toBe(413);
    const deep = await post(`{"Name":"deep","Service":{"Service":"db","NodeMeta":${"[".repeat(5000)}${"]".repeat(5000)}}}`);
    expect(deep.status).toBe(400);
    expect((await h.getJson<Definition[]>("/v1/query")).length).toBe(before);
  });

  test("a query bound to a session disappears when the session is destroyed", async () => {
    const session = await createSession(h);
    const id = await create({ Session: session, Service: { Service: "db" } });
    expect((await h.get(`/v1/query/${id}`)).status).toBe(200);
    expect((await h.put(`/v1/session/destroy/${session}`)).status).toBe(200);
    expect((await h.get(`/v1/query/${id}`)).status).toBe(404);
  });
});

describe("execute", () => {
  test("healthy instances only (critical node or service checks rule out; warning allowed); shape of Consul's reply", async () => {
    const id = await create({ Name: "all-db", Service: { Service: "db" }, DNS: { TTL: "7s" } });
    const r = await execute(id);
    expect(Object.keys(r)).toEqual(["Service", "Nodes", "DNS", "Datacenter", "PeerName", "Failovers", "Index", "LastContact", "KnownLeader", "ConsistencyLevel", "NotModified", "Backend"]);
    expect(r).toMatchObject({ Service: "db", DNS: { TTL: "7s" }, Datacenter: "dc1", Failovers: 0 });
    expect(nodesOf(r)).toEqual(sorted(NODE, "n2", "n3"));
    expect(Object.keys(r.Nodes[0]!)).toEqual(["Node", "Service", "Checks"]);
    // By name too, case-insensitively.
    expect(nodesOf(await execute("ALL-DB"))).toEqual(sorted(NODE, "n2", "n3"));
  });

  test("OnlyPassing drops warnings; IgnoreCheckIDs brings back what an ignored check ruled out", async () => {
    expect(nodesOf(await execute(await create({ Name: "passing-db", Service: { Service: "db", OnlyPassing: true } })))).toEqual(sorted(NODE, "n2"));
    const ignoring = await create({ Name: "ignoring-db", Service: { Service: "db", IgnoreCheckIDs: ["serfHealth", "flaky"] } });
    expect(nodesOf(await execute(ignoring))).toEqual(sorted(NODE, "n2", "n3", "n4", "n5"));
  });

  test("Tags (case-insensitive, ! excludes), NodeMeta and ServiceMeta", async () => {
    expect(nodesOf(await execute(await create({ Name: "t1", Service: { Service: "db", Tags: ["primary", "!experimental"] } })))).toEqual([NODE]);
    expect(nodesOf(await execute(await create({ Name: "t2", Service: { Service: "db", Tags: ["PRIMARY"] } })))).toEqual(sorted(NODE, "n2"));
    expect(nodesOf(await execute(await create({ Name: "t3", Service: { Service: "db", NodeMeta: { rack: "a" }, IgnoreCheckIDs: ["flaky"] } })))).toEqual(["n2", "n4"]);
    expect(nodesOf(await execute(await create({ Name: "t4", Service: { Service: "db", ServiceMeta: { tier: "gold" } } })))).toEqual(sorted(NODE, "n3"));
  });

  test("?limit trims after shuffling; a bad limit is refused", async () => {
    const r = await execute("all-db", "?limit=1");
    expect(r.Nodes.length).toBe(1);
    const bad = await h.get("/v1/query/all-db/execute?limit=x");
    expect(bad.status).toBe(500);
    expect(await bad.text()).toContain("Bad limit");
  });

  test("?near=_agent puts the agent's own node first; ?near=_ip the node with the caller's address; Near in the query does the same", async () => {
    for (let i = 0; i < 5; i++) expect((await execute("all-db", "?near=_agent")).Nodes[0]!.Node.Node).toBe(NODE);
    const viaIp = await h.get("/v1/query/all-db/execute?near=_ip", { "X-Forwarded-For": "10.0.0.3, 1.2.3.4" });
    for (let i = 0; i < 3; i++) expect(((await viaIp.clone().json()) as Executed).Nodes[0]!.Node.Node).toBe("n3");
    await create({ Name: "near-n2", Service: { Service: "db", Near: "n2" } });
    for (let i = 0; i < 5; i++) expect((await execute("near-n2")).Nodes[0]!.Node.Node).toBe("n2");
  });

  test("?connect=true (or Connect in the query) answers the service's Connect endpoints", async () => {
    expect(nodesOf(await execute("all-db", "?connect=true"))).toEqual(["n6"]);
    expect((await execute(await create({ Name: "mesh-db", Service: { Service: "db", Connect: true } }))).Nodes.map((n) => n.Service.ID)).toEqual(["db-proxy"]);
  });

  test("no healthy instance and nowhere to fail over: an empty list from the local datacenter", async () => {
    const r = await execute(await create({ Name: "ghost", Service: { Service: "ghost", Failover: { Datacenters: ["dc9"] } } }));
    expect(r).toMatchObject({ Service: "ghost", Nodes: [], Datacenter: "dc1", Failovers: 0 });
  });
});

describe("templates and explain", () => {
  test("the longest prefix wins, exact names beat templates, the catch-all takes the rest; explain shows the rendered query", async () => {
    await create({ Name: "", Template: { Type: "name_prefix_match" }, Service: { Service: "${name.full}" } });
    await create({ Name: "geo-", Template: { Type: "name_prefix_match", Regexp: "^geo-(.*?)-(.*)$" }, Service: { Service: "${match(1)}", Tags: ["${match(2)}"] } });
    await create({ Name: "geo-db-", Template: { Type: "name_prefix_match" }, Service: { Service: "db-replica" } });
    const explain = async (name: string) => (await h.getJson<{ Query: Definition }>(`/v1/query/${name}/explain`)).Query;
    expect((await explain("geo-db-primary")).Service).toMatchObject({ Service: "db-replica" });
    expect((await explain("geo-db-primary")).Name).toBe("geo-db-");
    expect((await explain("geo-web-replica")).Service).toMatchObject({ Service: "web", Tags: ["replica"] });
    expect((await explain("db")).Service.Service).toBe("db");
    expect((await explain("all-db")).Name).toBe("all-db");
    // Executing a template runs the rendered query.
    expect(nodesOf(await execute("geo-db-x"))).toEqual(["n7"]);
    expect(nodesOf(await execute("db"))).toEqual(sorted(NODE, "n2", "n3"));
    const res = await post({ Name: "", Template: { Type: "name_prefix_match" }, Service: { Service: "${name.full}" } });
    expect(await res.text()).toContain("a query template with an empty name already exists");
  });

  test("a template's errors are refused at create; a template is not resolved by ID", async () => {
    const bad = await post({ Name: "bad-", Template: { Type: "name_prefix_match" }, Service: { Service: "${name.nope}" } });
    expect(bad.status).toBe(500);
    expect(await bad.text()).toContain("failed compiling template: Bad evaluation for '${name.nope}' in Service.Service: unknown variable accessed: name.nope");
    const kind = await post({ Name: "bad-", Template: { Type: "regexp_match" }, Service: { Service: "x" } });
    expect(await kind.text()).toContain("Bad Template.Type 'regexp_match'");
    const id = await create({ Name: "tmpl-", Template: { Type: "name_prefix_match" }, Service: { Service: "x" } });
    const byId = await h.get(`/v1/query/${id}/execute`);
    expect(byId.status).toBe(500);
    expect(await byId.text()).toContain("prepared query templates can only be resolved up by name, not by ID");
  });
});

describe("beyond Consul, within one datacenter", () => {
  test("extra fields read back only when set", async () => {
    const id = await create({ Name: "extras", Service: { Service: "db", SkipLocal: false, MinHealthy: 2, Tiers: [{ Service: "db-replica" }] } });
    const [q] = await h.getJson<Definition[]>(`/v1/query/${id}`);
    expect(q!.Service).toMatchObject({ SkipLocal: false, MinHealthy: 2, Tiers: [{ Service: "db-replica" }] });
    const [plain] = await h.getJson<Definition[]>(`/v1/query/${await create({ Name: "plain", Service: { Service: "db" } })}`);
    expect(Object.keys(plain!.Service)).not.toContain("Tiers");
  });

  test("tiers: a later tier answers only when the ones before have nothing healthy", async () => {
    await create({ Name: "tiered", Service: { Service: "ghost", Tiers: [{ Service: "db", Tags: ["nope"] }, { Service: "db-replica" }, { Service: "db" }] } });
    const r = await execute("tiered");
    expect(r.Service).toBe("db-replica");
    expect(nodesOf(r)).toEqual(["n7"]);
  });

  test("MinHealthy: with fewer passing instances the next tier is used; with none meeting it, the first that had any", async () => {
    await create({ Name: "min3", Service: { Service: "db", OnlyPassing: true, MinHealthy: 3, Tiers: [{ Service: "db-replica" }] } });
    expect(nodesOf(await execute("min3"))).toEqual(sorted(NODE, "n2"));
    await create({ Name: "min2", Service: { Service: "db", OnlyPassing: true, Tags: ["v1"], MinHealthy: 2, Tiers: [{ Service: "db", Tags: [] }] } });
    expect(nodesOf(await execute("min2"))).toEqual(sorted(NODE, "n2"));
  });

  test("SkipLocal never answers from the local datacenter", async () => {
    const r = await execute(await create({ Name: "skip", Service: { Service: "db", SkipLocal: true } }));
    expect(r).toMatchObject({ Nodes: [], Failovers: 0 });
  });
});
