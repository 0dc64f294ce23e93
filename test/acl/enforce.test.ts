/** Default deny, enforced: KV, catalog, health, agent, intentions, config entries, snapshots, events, keyring, operator; reads filtered with the header. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type AclHarness, ROOT, startAclHarness } from "./_acl_harness.ts";

const ANON_SUFFIX = ". The anonymous token is used implicitly when a request does not specify a token.";

describe("enforcement with default_policy deny", () => {
  let h: AclHarness;
  let app: { SecretID: string; AccessorID: string };
  beforeAll(async () => {
    h = await startAclHarness();
    const p = await h.json("PUT", "/v1/acl/policy", {
      token: ROOT,
      body: {
        Name: "app",
        Rules: `
key_prefix "app/" { policy = "write" }
service "web" { policy = "read" }
node_prefix "" { policy = "read" }
`,
      },
    });
    app = await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { Policies: [{ ID: p.ID }] } });
    for (const [node, svc] of [["n1", "web"], ["n2", "db"]] as const) {
      await h.json("PUT", "/v1/catalog/register", { token: ROOT, body: { Node: node, Address: "10.0.0.1", Service: { Service: svc, Port: 80 }, Check: { CheckID: `${svc}-ok`, Name: "ok", Status: "passing", ServiceID: svc } } });
    }
  });
  afterAll(() => h.stop());

  test("anonymous reads and writes are refused with 403 and Consul's message", async () => {
    const cases: [string, string, unknown, string][] = [
      ["PUT", "/v1/kv/app/x", "v", `Permission denied: anonymous token lacks permission 'key:write' on "app/x"${ANON_SUFFIX}`],
      ["GET", "/v1/kv/app/x", undefined, `Permission denied: anonymous token lacks permission 'key:read' on "app/x"${ANON_SUFFIX}`],
      ["PUT", "/v1/catalog/register", { Node: "evil", Address: "1.2.3.4" }, `Permission denied: anonymous token lacks permission 'node:write' on "evil"${ANON_SUFFIX}`],
      ["PUT", "/v1/agent/service/register", { Name: "web" }, `Permission denied: anonymous token lacks permission 'service:write' on "web"${ANON_SUFFIX}`],
      ["PUT", "/v1/connect/intentions/exact?source=a&destination=web", { Action: "allow" }, `Permission denied: anonymous token lacks permission 'intention:write' on "web"${ANON_SUFFIX}`],
      ["PUT", "/v1/config", { Kind: "service-defaults", Name: "web", Protocol: "http" }, `Permission denied: anonymous token lacks permission 'service:write' on "web"${ANON_SUFFIX}`],
      ["PUT", "/v1/config", { Kind: "proxy-defaults", Name: "global" }, `Permission denied: anonymous token lacks permission 'mesh:write'${ANON_SUFFIX}`],
      ["GET", "/v1/snapshot", undefined, `Permission denied: anonymous token lacks permission 'acl:write'${ANON_SUFFIX}`],
      ["PUT", "/v1/event/fire/deploy", "", `Permission denied: anonymous token lacks permission 'event:write' on "deploy"${ANON_SUFFIX}`],
      ["GET", "/v1/operator/raft/configuration", undefined, `Permission denied: anonymous token lacks permission 'operator:read'${ANON_SUFFIX}`],
      ["GET", "/v1/agent/self", undefined, `Permission denied: anonymous token lacks permission 'agent:read' on "node1"${ANON_SUFFIX}`],
      ["PUT", "/v1/session/create", { Node: "n1" }, `Permission denied: anonymous token lacks permission 'session:write' on "n1"${ANON_SUFFIX}`],
      ["POST", "/v1/query", { Name: "q1", Service: { Service: "web" } }, `Permission denied: anonymous token lacks permission 'query:write' on "q1"${ANON_SUFFIX}`],
      ["GET", "/v1/connect/ca/configuration", undefined, `Permission denied: anonymous token lacks permission 'operator:read'${ANON_SUFFIX}`],
    ];
    for (const [method, path, body, text] of cases) {
      const res = await h.req(method, path, body === undefined ? {} : { body });
      expect({ path, status: res.status, text: await res.text() }).toEqual({ path, status: 403, text });
    }
    expect(h.server.state.t.kvs.get("app/x")).toBeUndefined();
    expect(h.server.state.t.nodes.get("evil")).toBeUndefined();
  });

  test("a token with key_prefix app/ write writes app/x but not other/x; recursive delete outside its prefix is refused", async () => {
    expect(await h.json("PUT", "/v1/kv/app/x", { token: app.SecretID, body: "1" })).toBe(true);
    const other = await h.req("PUT", "/v1/kv/other/x", { token: app.SecretID, body: "1" });
    expect(other.status).toBe(403);
    expect(await other.text()).toBe(`Permission denied: token with AccessorID '${app.AccessorID}' lacks permission 'key:write' on "other/x"`);
    // The three ways of sending a token.
    expect((await h.req("GET", `/v1/kv/app/x?token=${app.SecretID}`)).status).toBe(200);
    expect((await h.req("GET", "/v1/kv/app/x", { headers: { Authorization: `Bearer ${app.SecretID}` } })).status).toBe(200);
    expect((await h.req("DELETE", "/v1/kv/?recurse", { token: app.SecretID })).status).toBe(403);
    expect((await h.req("DELETE", "/v1/kv/app/?recurse", { token: app.SecretID })).status).toBe(200);
    const txn = await h.req("PUT", "/v1/txn", { token: app.SecretID, body: [{ KV: { Verb: "set", Key: "other/y", Value: "eA==" } }] });
    expect(txn.status).toBe(403);
  });

  test("KV listings only show readable keys, with the filtered header", async () => {
    await h.json("PUT", "/v1/kv/app/a", { token: ROOT, body: "1" });
    await h.json("PUT", "/v1/kv/secret/b", { token: ROOT, body: "1" });
    const res = await h.req("GET", "/v1/kv/?keys", { token: app.SecretID });
    expect(await res.json()).toEqual(["app/a"]);
    expect(res.headers.get("X-Consul-Results-Filtered-By-ACLs")).toBe("true");
    const all = await h.req("GET", "/v1/kv/?keys", { token: ROOT });
    expect(await all.json()).toEqual(["app/a", "secret/b"]);
    expect(all.headers.get("X-Consul-Results-Filtered-By-ACLs")).toBeNull();
  });

  test("catalog and health reads are filtered, with the header", async () => {
    const res = await h.req("GET", "/v1/catalog/services", { token: app.SecretID });
    expect(Object.keys(await res.json())).toEqual(["web"]);
    expect(res.headers.get("X-Consul-Results-Filtered-By-ACLs")).toBe("true");
    const db = await h.req("GET", "/v1/health/service/db", { token: app.SecretID });
    expect(await db.json()).toEqual([]);
    expect(db.headers.get("X-Consul-Results-Filtered-By-ACLs")).toBe("true");
    const web = await h.json("GET", "/v1/health/service/web", { token: app.SecretID });
    expect(web.map((r: { Node: { Node: string } }) => r.Node.Node)).toEqual(["n1"]);
    const node = await h.json("GET", "/v1/catalog/node/n2", { token: app.SecretID });
    expect(Object.keys(node.Services ?? {})).toEqual([]);
    // Anonymous sees nothing and gets no header (Consul sets it only for authenticated requests).
    const anon = await h.req("GET", "/v1/catalog/services");
    expect(await anon.json()).toEqual({});
    expect(anon.headers.get("X-Consul-Results-Filtered-By-ACLs")).toBeNull();
  });

  test("a blocking query whose result loses visibility returns the filtered result", async () => {
    // The token may not see node n3 (an exact deny beats node_prefix "" read).
    const p = await h.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "hide-n3", Rules: 'node "n3" { policy = "deny" }' } });
    await h.json("PUT", `/v1/acl/token/${app.AccessorID}`, { token: ROOT, body: { Policies: [{ Name: "app" }, { ID: p.ID }] } });
    const first = await h.req("GET", "/v1/health/service/web", { token: app.SecretID });
    expect((await first.json()).length).toBe(1);
    const index = first.headers.get("X-Consul-Index");
    const pending = h.req("GET", `/v1/health/service/web?index=${index}&wait=5s`, { token: app.SecretID });
    // Move the only instance of web to n3: the query wakes to an answer it may not see.
    // One transaction, so the query wakes once, to a result with nothing it may see.
    await h.json("PUT", "/v1/txn", {
      token: ROOT,
      body: [
        { Node: { Verb: "set", Node: { Node: "n3", Address: "10.0.0.3" } } },
        { Service: { Verb: "set", Node: "n3", Service: { ID: "web", Service: "web", Port: 80 } } },
        { Service: { Verb: "delete", Node: "n1", Service: { ID: "web" } } },
      ],
    });
    const res = await pending;
    expect(Number(res.headers.get("X-Consul-Index"))).toBeGreaterThan(Number(index));
    expect(await res.json()).toEqual([]);
    expect(res.headers.get("X-Consul-Results-Filtered-By-ACLs")).toBe("true");
  });

  test("prepared queries: listed only with query:read on their name; execution filtered by the query's stored token", async () => {
    const created = await h.json("POST", "/v1/query", { token: ROOT, body: { Name: "webq", Token: app.SecretID, Service: { Service: "db" } } });
    expect(await h.json("GET", "/v1/query", { token: app.SecretID })).toEqual([]);
    const listed = await h.json("GET", "/v1/query", { token: ROOT });
    expect(listed.map((q: { ID: string }) => q.ID)).toEqual([created.ID]);
    // The stored token may not read db, so its execution answers no instances even for the management token.
    const exec = await h.json("GET", `/v1/query/${created.ID}/execute`, { token: ROOT });
    expect(exec.Nodes).toEqual([]);
    const open = await h.json("POST", "/v1/query", { token: ROOT, body: { Name: "dbq", Service: { Service: "db" } } });
    expect((await h.json("GET", `/v1/query/${open.ID}/execute`, { token: ROOT })).Nodes.length).toBe(1);
  });

  test("the management token may do everything; the agent's default token stands in for requests without one", async () => {
    expect((await h.req("GET", "/v1/snapshot", { token: ROOT })).status).toBe(200);
    expect((await h.req("GET", "/v1/operator/raft/configuration", { token: ROOT })).status).toBe(200);
    const withDefault = await startAclHarness({ tokens: { default: ROOT } });
    expect((await withDefault.req("PUT", "/v1/kv/any", { body: "x" })).status).toBe(200);
    await withDefault.stop();
  });
});

describe("default_policy allow", () => {
  test("what no rule covers is allowed, except the ACL system; an explicit deny still refuses", async () => {
    const h = await startAclHarness({ defaultPolicy: "allow" });
    try {
      expect((await h.req("PUT", "/v1/kv/x", { body: "1" })).status).toBe(200);
      expect((await h.req("GET", "/v1/acl/tokens")).status).toBe(403);
      expect((await h.req("GET", "/v1/kv/x")).headers.get("X-Consul-Default-ACL-Policy")).toBe("allow");
      const p = await h.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "no-secret", Rules: 'key_prefix "secret/" { policy = "deny" }' } });
      const t = await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { Policies: [{ ID: p.ID }] } });
      expect((await h.req("PUT", "/v1/kv/secret/a", { token: t.SecretID, body: "1" })).status).toBe(403);
      expect((await h.req("PUT", "/v1/kv/public/a", { token: t.SecretID, body: "1" })).status).toBe(200);
    } finally {
      await h.stop();
    }
  });
});
