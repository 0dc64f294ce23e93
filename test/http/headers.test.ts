import { afterAll, describe, expect, test } from "bun:test";
import { createSession, NODE, register, startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

await register(h, {
  Node: "web-1",
  Address: "10.0.0.1",
  Service: { Service: "web", Port: 80, Tags: ["v1"] },
  Check: { CheckID: "web-alive", Name: "alive", Status: "passing", ServiceID: "web" },
});
await h.putJson("/v1/kv/hdr/key", "v");
const sessionId = await createSession(h);

/** Every blocking-capable read, including ones that answer 404. */
const READS = [
  "/v1/kv/hdr/key",
  "/v1/kv/hdr/missing",
  "/v1/kv/hdr/?recurse",
  "/v1/kv/hdr/?keys",
  "/v1/kv/hdr/key?raw",
  "/v1/catalog/nodes",
  "/v1/catalog/services",
  "/v1/catalog/service/web",
  `/v1/catalog/node/${NODE}`,
  "/v1/catalog/node-services/web-1",
  "/v1/health/node/web-1",
  "/v1/health/checks/web",
  "/v1/health/state/any",
  "/v1/health/service/web",
  `/v1/session/info/${sessionId}`,
  `/v1/session/node/${NODE}`,
  "/v1/session/list",
];

describe("meta headers on every read", () => {
  for (const path of READS) {
    test(path, async () => {
      const res = await h.get(path);
      expect([200, 404]).toContain(res.status);
      const idx = res.headers.get("X-Consul-Index");
      expect(idx).toMatch(/^[1-9]\d*$/);
      expect(res.headers.get("X-Consul-KnownLeader")).toBe("true");
      expect(res.headers.get("X-Consul-LastContact")).toMatch(/^\d+$/);
      expect(res.headers.get("X-Consul-Effective-Consistency")).toBe("leader");
      expect(res.headers.get("X-Consul-Default-ACL-Policy")).toBe("allow");

      const sep = path.includes("?") ? "&" : "?";
      const stale = await h.get(`${path}${sep}stale`);
      expect(stale.headers.get("X-Consul-Effective-Consistency")).toBe("stale");
      const consistent = await h.get(`${path}${sep}consistent`);
      expect(consistent.headers.get("X-Consul-Effective-Consistency")).toBe("consistent");
      const explicitLeader = await h.get(`${path}${sep}leader`);
      expect(explicitLeader.headers.get("X-Consul-Effective-Consistency")).toBe("leader");
      const maxStale = await h.get(`${path}${sep}max_stale=10s`);
      expect(maxStale.headers.get("X-Consul-Effective-Consistency")).toBe("stale");

      const both = await h.get(`${path}${sep}stale&consistent`);
      expect(both.status).toBe(400);
      expect(await both.text()).toBe("Cannot specify ?stale with ?consistent, conflicting semantics.");
    });
  }

  test("X-Consul-Index is never 0, even on a store where nothing of that kind was written", async () => {
    const fresh = await startHarness();
    try {
      for (const path of ["/v1/kv/x", "/v1/kv/?keys", "/v1/session/list", "/v1/catalog/service/none", "/v1/health/state/critical"]) {
        const res = await fresh.get(path);
        expect(res.headers.get("X-Consul-Index")).toMatch(/^[1-9]\d*$/);
      }
    } finally {
      await fresh.stop();
    }
  });

  test("the default ACL policy header is sent on writes and errors too", async () => {
    expect((await h.put("/v1/kv/hdr/w", "v")).headers.get("X-Consul-Default-ACL-Policy")).toBe("allow");
    expect((await h.get("/v1/kv/")).headers.get("X-Consul-Default-ACL-Policy")).toBe("allow");
    expect((await h.get("/v1/status/leader")).headers.get("X-Consul-Default-ACL-Policy")).toBe("allow");
  });

  test("presence-only flags: ?stale=false still means stale", async () => {
    const res = await h.get("/v1/kv/hdr/key?stale=false");
    expect(res.headers.get("X-Consul-Effective-Consistency")).toBe("stale");
  });

  test("?cached with ?consistent is 400", async () => {
    const res = await h.get("/v1/catalog/services?cached&consistent");
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("Cannot specify ?cached with ?consistent, conflicting semantics.");
  });

  test("a bad max_stale is 400", async () => {
    const res = await h.get("/v1/kv/hdr/key?max_stale=soon");
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('Invalid max_stale value "soon"');
  });

  test("?pretty indents the JSON", async () => {
    const text = await (await h.get("/v1/catalog/nodes?pretty")).text();
    expect(text).toContain("\n    ");
    const kv = await (await h.get("/v1/kv/hdr/key?pretty")).text();
    expect(kv).toContain("\n");
    expect(JSON.parse(kv)).toHaveLength(1);
  });

  test("an unknown datacenter is refused", async () => {
    const res = await h.get("/v1/kv/hdr/key?dc=elsewhere");
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("No path to datacenter");
  });
});

describe("tokens reach the single authorizer hook", () => {
  const lastToken = () => h.authorizer.seen.at(-1)!.token;

  test("from ?token=", async () => {
    await h.get("/v1/kv/hdr/key?token=from-query");
    expect(lastToken()).toBe("from-query");
    expect(h.authorizer.seen.at(-1)!.path).toBe("/v1/kv/hdr/key");
    expect(h.authorizer.seen.at(-1)!.method).toBe("GET");
  });

  test("from X-Consul-Token", async () => {
    await h.get("/v1/kv/hdr/key", { "X-Consul-Token": "from-header" });
    expect(lastToken()).toBe("from-header");
  });

  test("from Authorization: Bearer, first word only", async () => {
    await h.get("/v1/kv/hdr/key", { Authorization: "Bearer from-bearer" });
    expect(lastToken()).toBe("from-bearer");
    await h.get("/v1/kv/hdr/key", { Authorization: "Bearer   spaced  extra" });
    expect(lastToken()).toBe("spaced");
  });

  test("?token wins over the header, which wins over Bearer", async () => {
    await h.get("/v1/kv/hdr/key?token=q", { "X-Consul-Token": "x", Authorization: "Bearer b" });
    expect(lastToken()).toBe("q");
    await h.get("/v1/kv/hdr/key", { "X-Consul-Token": "x", Authorization: "Bearer b" });
    expect(lastToken()).toBe("x");
  });

  test("other Authorization schemes and no token give the anonymous token", async () => {
    await h.get("/v1/kv/hdr/key", { Authorization: "Basic dXNlcjpwYXNz" });
    expect(lastToken()).toBe("");
    await h.get("/v1/kv/hdr/key");
    expect(lastToken()).toBe("");
  });

  test("writes and txn carry the token too", async () => {
    await h.put("/v1/kv/hdr/tok", "v", { "X-Consul-Token": "writer" });
    expect(lastToken()).toBe("writer");
    await h.put("/v1/txn?token=txn-token", []);
    expect(lastToken()).toBe("txn-token");
  });
});

describe("a denying authorizer yields 403 on every endpoint", () => {
  const ALL: [string, string, unknown?][] = [
    ...READS.map((p): [string, string] => ["GET", p]),
    ["PUT", "/v1/kv/denied", "v"],
    ["DELETE", "/v1/kv/hdr/key"],
    ["PUT", "/v1/txn", [{ KV: { Verb: "set", Key: "denied", Value: "dg==" } }]],
    ["PUT", "/v1/session/create", {}],
    ["PUT", `/v1/session/renew/${sessionId}`],
    ["PUT", `/v1/session/destroy/${sessionId}`],
    ["PUT", "/v1/catalog/register", { Node: "denied", Address: "1.1.1.1" }],
    ["PUT", "/v1/catalog/deregister", { Node: "web-1" }],
    ["GET", "/v1/catalog/datacenters"],
    ["GET", "/v1/status/leader"],
    ["GET", "/v1/status/peers"],
    ["GET", "/v1/agent/self"],
    ["GET", "/v1/agent/members"],
  ];

  test("each endpoint answers 403 Permission denied and changes nothing", async () => {
    const before = h.server.lastIndex();
    h.authorizer.deny = true;
    try {
      for (const [method, path, body] of ALL) {
        const init: RequestInit = { method };
        if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
        const res = await h.request(path, init);
        expect({ path, status: res.status }).toEqual({ path, status: 403 });
        expect(await res.text()).toStartWith("Permission denied");
      }
    } finally {
      h.authorizer.deny = false;
    }
    expect(h.server.lastIndex()).toBe(before);
    expect((await h.get("/v1/kv/hdr/key")).status).toBe(200);
    expect((await h.get("/v1/kv/denied")).status).toBe(404);
  });
});
