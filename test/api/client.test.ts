/** The client's wire behaviour, checked against a recording fake transport. */
import { expect, test } from "bun:test";
import { ApiConfigError, ApiConnectionError, ApiError, Client, InvalidKeyError, LOCK_FLAG_VALUE, parseQueryMeta } from "../../src/api/mod.ts";

interface Seen {
  method: string;
  url: URL;
  headers: Headers;
  body: Uint8Array;
}

function fake(reply: (seen: Seen) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const fetch = async (req: Request) => {
    const s = { method: req.method, url: new URL(req.url), headers: req.headers, body: new Uint8Array(await req.arrayBuffer()) };
    seen.push(s);
    return reply(s);
  };
  return { seen, fetch };
}

const json = (body: unknown, headers: Record<string, string> = {}, status = 200) =>
  new Response(typeof body === "string" ? body : JSON.stringify(body), { status, headers });

test("address forms: host:port, http://, https://, path prefix; bad schemes are refused", () => {
  expect(new Client().baseUrl).toBe("http://127.0.0.1:8500");
  expect(new Client({ address: "10.0.0.1:8501" }).baseUrl).toBe("http://10.0.0.1:8501");
  expect(new Client({ address: "10.0.0.1:8501", https: true }).baseUrl).toBe("https://10.0.0.1:8501");
  const prefixed = new Client({ address: "http://proxy:80/consul/" });
  expect([prefixed.baseUrl, prefixed.pathPrefix]).toEqual(["http://proxy:80", "/consul"]);
  expect(prefixed.url({ method: "GET", path: "/v1/kv/a b?c" })).toBe("http://proxy:80/consul/v1/kv/a%20b%3Fc");
  expect(() => new Client({ address: "ftp://x:1" })).toThrow(ApiConfigError);
  expect(() => new Client({ address: "unix:///tmp/sock" })).toThrow("Unix socket addresses are not supported");
});

test("query options become Consul's parameters and the token header", async () => {
  const t = fake(() => json([], { "X-Consul-Index": "42", "X-Consul-KnownLeader": "true", "X-Consul-LastContact": "7" }));
  const c = new Client({ address: "h:1", token: "default-token", datacenter: "dc1", fetch: t.fetch });
  const [, meta] = await c.catalog().nodes({
    dc: "dc2",
    index: 41,
    wait: 15_000,
    stale: true,
    filter: 'Meta.rack == "r1"',
    near: "_agent",
    nodeMeta: { rack: "r1" },
    token: "override",
  });
  const s = t.seen[0];
  expect(s?.method).toBe("GET");
  expect(s?.url.pathname).toBe("/v1/catalog/nodes");
  expect(Object.fromEntries(s?.url.searchParams ?? [])).toEqual({
    dc: "dc2",
    index: "41",
    wait: "15000ms",
    stale: "",
    filter: 'Meta.rack == "r1"',
    near: "_agent",
    "node-meta": "rack:r1",
  });
  expect(s?.headers.get("X-Consul-Token")).toBe("override");
  expect(meta).toMatchObject({ lastIndex: 42, knownLeader: true, lastContact: 7 });
  await c.catalog().nodes();
  expect(t.seen[1]?.url.search).toBe("?dc=dc1");
  expect(t.seen[1]?.headers.get("X-Consul-Token")).toBe("default-token");
});

test("QueryMeta reads every header the Go client reads", () => {
  const h = new Headers({
    "X-Consul-Index": "9007199254740991",
    "X-Consul-KnownLeader": "false",
    "X-Consul-LastContact": "12",
    "X-Consul-ContentHash": "abc",
    "X-Consul-Translate-Addresses": "true",
    "X-Consul-Default-ACL-Policy": "deny",
    "X-Consul-Results-Filtered-By-ACLs": "true",
    "X-Cache": "HIT",
    Age: "3",
  });
  expect(parseQueryMeta(h, 5)).toEqual({
    lastIndex: 9007199254740991,
    lastContentHash: "abc",
    lastContact: 12,
    knownLeader: false,
    addressTranslationEnabled: true,
    defaultACLPolicy: "deny",
    resultsFilteredByACLs: true,
    cacheHit: true,
    cacheAge: 3,
    requestTime: 5,
  });
  expect(parseQueryMeta(new Headers(), 0)).toMatchObject({ lastIndex: 0, knownLeader: false, defaultACLPolicy: "" });
});

test("KV values travel as raw bytes out and base64 back; flags above 2^53 survive both ways", async () => {
  const t = fake((s) =>
    s.method === "PUT"
      ? json("true")
      : json(
          '[{"LockIndex":1,"Key":"k","Flags":3304740253564472344,"Value":"AP8=","Session":"s1","CreateIndex":3,"ModifyIndex":4}]',
          { "X-Consul-Index": "4" },
        ),
  );
  const kv = new Client({ fetch: t.fetch }).kv();
  expect(await kv.acquire({ Key: "k", Value: new Uint8Array([0, 255]), Flags: LOCK_FLAG_VALUE, Session: "s1" })).toBe(true);
  const put = t.seen[0];
  expect(put?.url.search).toBe("?acquire=s1&flags=3304740253564472344");
  expect(put?.body).toEqual(new Uint8Array([0, 255]));
  const [pair, meta] = await kv.get("k", { consistent: true });
  expect(t.seen[1]?.url.search).toBe("?consistent=");
  expect(pair).toEqual({
    Key: "k",
    CreateIndex: 3,
    ModifyIndex: 4,
    LockIndex: 1,
    Flags: 3304740253564472344n,
    Value: new Uint8Array([0, 255]),
    Session: "s1",
  });
  expect(meta.lastIndex).toBe(4);
});

test("KV: 404 is a missing key, not an error; keys, list, cas and delete use Consul's parameters", async () => {
  const t = fake((s) => {
    if (s.method === "GET" && s.url.pathname === "/v1/kv/missing") return new Response("", { status: 404, headers: { "X-Consul-Index": "9" } });
    if (s.url.searchParams.has("keys")) return json(["a/", "b"]);
    if (s.url.searchParams.has("recurse") && s.method === "GET") return json([{ Key: "a/x", Value: null, Flags: 0 }]);
    return json(s.method === "DELETE" && s.url.searchParams.get("cas") === "7" ? "false" : "true");
  });
  const kv = new Client({ fetch: t.fetch }).kv();
  const [missing, meta] = await kv.get("missing");
  expect(missing).toBeNull();
  expect(meta.lastIndex).toBe(9);
  expect((await kv.keys("a", "/"))[0]).toEqual(["a/", "b"]);
  expect(t.seen.at(-1)?.url.search).toBe("?keys=&separator=%2F");
  const [list] = await kv.list("a");
  expect(list[0]?.Value).toBeNull();
  expect(await kv.cas({ Key: "a", Value: "v", ModifyIndex: 0 })).toBe(true);
  expect(t.seen.at(-1)?.url.search).toBe("?cas=0");
  expect(await kv.deleteCAS({ Key: "a", ModifyIndex: 7 })).toBe(false);
  expect(await kv.deleteTree("a")).toBe(true);
  expect(t.seen.at(-1)?.url.search).toBe("?recurse=");
  await expect(kv.put({ Key: "/abs", Value: "x" })).rejects.toThrow(InvalidKeyError);
});

test("non-200 answers become ApiError with status and plain-text body", async () => {
  const t = fake(() => new Response("Invalid Session TTL '1000000', must be between [10s=24h0m0s]\n", { status: 500 }));
  const c = new Client({ fetch: t.fetch });
  const err = await c
    .session()
    .create({ TTL: "1ms" })
    .then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect(err).toMatchObject({
    status: 500,
    body: "Invalid Session TTL '1000000', must be between [10s=24h0m0s]",
    isServerError: true,
    message: "Unexpected response code: 500 (Invalid Session TTL '1000000', must be between [10s=24h0m0s])",
  });
});

test("sessions: create sends only set fields, renew maps 404 to null", async () => {
  const t = fake((s) => {
    if (s.url.pathname.startsWith("/v1/session/create")) return json({ ID: "sid" });
    if (s.url.pathname === "/v1/session/renew/gone") return new Response("Session id 'gone' not found", { status: 404 });
    return json([{ ID: "sid", TTL: "20s", LockDelay: 15_000_000_000 }]);
  });
  const sessions = new Client({ fetch: t.fetch }).session();
  expect(await sessions.create({ Name: "n", TTL: "15s", LockDelay: 1500, Behavior: "delete" })).toBe("sid");
  expect(JSON.parse(new TextDecoder().decode(t.seen[0]?.body))).toEqual({ Name: "n", TTL: "15s", LockDelay: "1500ms", Behavior: "delete" });
  await sessions.createNoChecks({ Name: "p" });
  expect(JSON.parse(new TextDecoder().decode(t.seen[1]?.body))).toEqual({ Checks: [], Name: "p" });
  expect(await sessions.renew("gone")).toBeNull();
  expect((await sessions.renew("sid"))?.TTL).toBe("20s");
});

test("txn encodes KV values as base64 and flags exactly; 409 means rolled back, not an exception", async () => {
  const t = fake((s) => {
    const body = JSON.parse(new TextDecoder().decode(s.body)) as unknown[];
    if (body.length === 2) return json({ Results: null, Errors: [{ OpIndex: 1, What: "failed index check" }] }, {}, 409);
    return json('{"Results":[{"KV":{"Key":"a","Flags":16210313421097356768,"Value":"eA==","CreateIndex":5,"ModifyIndex":5}}],"Errors":null}');
  });
  const txn = new Client({ fetch: t.fetch }).txn();
  const ok = await txn.apply([{ KV: { Verb: "set", Key: "a", Value: "x", Flags: 0xe0f69a2baa414de0n } }]);
  expect(new TextDecoder().decode(t.seen[0]?.body)).toBe(
    '[{"KV":{"Verb":"set","Key":"a","Value":"eA==","Flags":16210313421097356768,"Index":0,"Session":""}}]',
  );
  expect(ok.ok).toBe(true);
  const first = ok.Results[0];
  expect(first && "KV" in first ? first.KV.Flags : null).toBe(16210313421097356768n);
  const rolled = await txn.apply([
    { KV: { Verb: "get", Key: "a" } },
    { KV: { Verb: "check-index", Key: "a", Index: 1 } },
  ]);
  expect(rolled).toMatchObject({ ok: false, Results: [], Errors: [{ OpIndex: 1, What: "failed index check" }] });
});

test("an unreachable agent is an ApiConnectionError naming the request", async () => {
  const c = new Client({
    address: "127.0.0.1:9",
    fetch: async () => {
      throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNREFUSED" } });
    },
  });
  const err = await c
    .status()
    .leader()
    .then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiConnectionError);
  expect((err as Error).message).toBe('Get "http://127.0.0.1:9/v1/status/leader": connect: connection refused');
});

test("an aborted blocking query rejects with the abort, not a connection error", async () => {
  const c = new Client({
    fetch: (req) =>
      new Promise((_, reject) => req.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")))),
  });
  const ctl = new AbortController();
  const pending = c.kv().get("k", { index: 5, signal: ctl.signal });
  ctl.abort();
  const err = await pending.then(() => null, (e: unknown) => e);
  expect(err).not.toBeInstanceOf(ApiConnectionError);
  expect((err as Error).name).toBe("AbortError");
});
