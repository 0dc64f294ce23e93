/**
 * The direct lane for `PUT /v1/catalog/register` (src/http/direct_register.ts):
 * every answer it gives must be the one the app gives for the same request
 * (status, every header, body), good and bad bodies alike; what it writes must
 * be what the app writes (same indexes, same wakeups); and what it does not
 * take whole it must hand on (null) without touching the body.
 * test/http/direct_register_wire.test.ts compares the two lanes on a socket.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Hono } from "hono";
import { type ApiContext, createApp, directRegister, RequestMetrics } from "../../src/http/mod.ts";
import type { DirectHandler, DirectRequest } from "../../src/runtime/mod.ts";
import { type AclHarness, ROOT, startAclHarness } from "../acl/_acl_harness.ts";
import { type Harness, startHarness } from "./_harness.ts";
import { type Seen, seenDirect, seenResponse } from "./_direct_seen.ts";
import { registerCases } from "./_register_cases.ts";

const PATH = "/v1/catalog/register";

/** A body the client never finishes sending. */
const NEVER = Symbol("never");
type Body = string | Uint8Array | typeof NEVER;

const bytesOf = (b: string | Uint8Array): Uint8Array => (typeof b === "string" ? new TextEncoder().encode(b) : b);

function withLength(headers: Record<string, string>, body: Body): Record<string, string> {
  if (Object.keys(headers).some((k) => k.toLowerCase() === "content-length")) return headers;
  return { ...headers, "Content-Length": String(body === NEVER ? 10 : bytesOf(body).length) };
}

function request(target: string, body: Body, headers: Record<string, string> = {}, method = "PUT"): DirectRequest & { read: number } {
  const lower = Object.fromEntries(Object.entries(withLength(headers, body)).map(([k, v]) => [k.toLowerCase(), v]));
  const r = {
    read: 0,
    method,
    target,
    header: (name: string) => lower[name],
    remoteAddress: () => "127.0.0.1",
    whenGone: () => {},
    body: (deadlineMs: number) => {
      r.read++;
      if (body === NEVER) return new Promise<null>((resolve) => setTimeout(resolve, deadlineMs, null));
      return Promise.resolve(bytesOf(body));
    },
  };
  return r;
}

const viaDirect = (direct: DirectHandler, target: string, body: Body, headers?: Record<string, string>): Promise<Seen | null> =>
  seenDirect(direct, request(target, body, headers));

async function viaApp(app: Hono, target: string, body: Body, headers: Record<string, string> = {}, readTimeoutMs = 30_000): Promise<Seen> {
  const stream = body === NEVER ? new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new Uint8Array([0x7b])) }) : bytesOf(body);
  const init = { method: "PUT", headers: withLength(headers, body), body: stream as BodyInit, ...(body === NEVER ? { duplex: "half" } : {}) } as RequestInit;
  return seenResponse(await app.request(`http://consul.test${target}`, init, { readTimeoutMs }));
}

/** The direct answer, which must exist and equal the app's (the direct lane goes first). */
async function same(app: Hono, direct: DirectHandler, target: string, body: Body, headers?: Record<string, string>): Promise<Seen> {
  const d = await viaDirect(direct, target, body, headers);
  const a = await viaApp(app, target, body, headers);
  expect(d).not.toBeNull();
  expect(d!).toEqual(a);
  return d!;
}

describe("direct registration, no ACLs", () => {
  let h: Harness;
  let dev: Harness;
  let direct: DirectHandler;
  let devDirect: DirectHandler;
  beforeAll(async () => {
    h = await startHarness();
    dev = await startHarness({ devMode: true });
    direct = directRegister(h.api, new RequestMetrics());
    devDirect = directRegister(dev.api, new RequestMetrics());
  });
  afterAll(async () => {
    await h.stop();
    await dev.stop();
  });

  test("good and bad bodies answer as the app does", async () => {
    const statuses = new Set<number>();
    for (const c of registerCases()) {
      const d = await same(h.app, direct, c.target ?? PATH, c.body, c.headers);
      expect([c.name, d.status]).toEqual([c.name, c.status]);
      statuses.add(d.status);
    }
    expect([...statuses].sort()).toEqual([200, 400, 500]);
  });

  test("a -dev agent's answer is indented in both lanes", async () => {
    const d = await same(dev.app, devDirect, PATH, JSON.stringify({ Node: "dev-1", Address: "10.0.0.1" }));
    expect(d.body).toBe("true\n");
    expect((await same(h.app, direct, `${PATH}?pretty`, JSON.stringify({ Node: "dev-1", Address: "10.0.0.1" }))).body).toBe("true\n");
  });

  test("a long error text is gzipped for a client that takes gzip, as the app does", async () => {
    // Names of 3-byte characters make the text longer than gzip's minimum in bytes.
    const body = JSON.stringify({ Node: "€".repeat(400), Address: "10.0.0.1", Check: { Node: "ü".repeat(400), Name: "c" } });
    const d = await same(h.app, direct, PATH, body, { "Accept-Encoding": "gzip" });
    expect(d.status).toBe(500);
    expect(d.headers["content-encoding"]).toBe("gzip");
    expect(d.body).toContain(`Node '${"ü".repeat(400)}' for check 'c' doesn't match`);
    expect((await same(h.app, direct, PATH, body)).headers["content-encoding"]).toBeUndefined();
  });

  test("a body that does not arrive in time is answered 408 and the connection closed, as the app does", async () => {
    const quick = directRegister(h.api, new RequestMetrics(), { readTimeoutMs: 50 });
    const d = await viaDirect(quick, PATH, NEVER);
    const a = await viaApp(h.app, PATH, NEVER, {}, 50);
    expect(d).toEqual(a);
    expect(d!.status).toBe(408);
    expect(d!.headers["connection"]).toBe("close");
  });

  test("what the lane does not take whole goes to the app with its body unread", async () => {
    const good = JSON.stringify({ Node: "n", Address: "10.0.0.1" });
    const passed: [string, DirectRequest & { read: number }][] = [
      ["another method", request(PATH, good, {}, "POST")],
      ["GET", request(PATH, good, {}, "GET")],
      ["a neighbour path", request("/v1/catalog/registers", good)],
      ["a trailing slash", request(`${PATH}/`, good)],
      ["a fragment", request(`${PATH}?dc=dc1#x`, good)],
      ["a quote the URL parser escapes", request(`${PATH}?filter='x'`, good)],
      ["a space", request(`${PATH}?a b`, good)],
      ["no Content-Length (chunked)", request(PATH, good, { "Content-Length": "", "Transfer-Encoding": "chunked" })],
      ["Transfer-Encoding with a length", request(PATH, good, { "Transfer-Encoding": "chunked" })],
      ["a length that is not a number", request(PATH, good, { "Content-Length": "12abc" })],
      ["two lengths", request(PATH, good, { "Content-Length": "5, 5" })],
      ["a length past the limit", request(PATH, good, { "Content-Length": String(64 * 1024 * 1024 + 1) })],
      ["a bad index", request(`${PATH}?index=abc`, good)],
      ["a bad wait", request(`${PATH}?wait=forever`, good)],
      ["conflicting modes", request(`${PATH}?stale&consistent`, good)],
      ["a blocking write to another datacenter", request(`${PATH}?index=3&dc=dc2`, good)],
    ];
    for (const [why, r] of passed) {
      expect([why, direct(r), r.read]).toEqual([why, null, 0]);
    }
    h.authorizer.deny = true;
    try {
      const r = request(PATH, good);
      expect(direct(r)).toBeNull();
      expect(r.read).toBe(0);
    } finally {
      h.authorizer.deny = false;
    }
  });

  test("the authorizer sees the request's token from the query, the header or a bearer", async () => {
    const body = JSON.stringify({ Node: "tok", Address: "10.0.0.1" });
    const before = h.authorizer.seen.length;
    await viaDirect(direct, `${PATH}?token=q-token`, body, { "X-Consul-Token": "ignored" });
    await viaDirect(direct, PATH, body, { "X-Consul-Token": "h-token" });
    await viaDirect(direct, PATH, body, { Authorization: "Bearer b-token extra" });
    expect(h.authorizer.seen.slice(before)).toEqual([
      { token: "q-token", method: "PUT", path: PATH },
      { token: "h-token", method: "PUT", path: PATH },
      { token: "b-token", method: "PUT", path: PATH },
    ]);
  });

  test("a write through the lane is the app's write: same indexes, same catalog, parked reads woken", async () => {
    const other = await startHarness();
    try {
      const otherDirect = directRegister(other.api, new RequestMetrics());
      const bodies = [
        { Node: "w-1", Address: "10.0.0.1", NodeMeta: { rack: "a" }, Service: { ID: "web-1", Service: "web", Port: 80, Tags: ["v1"] }, Check: { CheckID: "service:web-1", Name: "alive", Status: "passing", ServiceID: "web-1" } },
        { Node: "w-1", Address: "10.0.0.1", Service: { ID: "db-1", Service: "db", Port: 5432 }, Checks: [{ Name: "disk", Status: "warning" }] },
        { Node: "w-2", Address: "10.0.0.2", SkipNodeUpdate: true, TaggedAddresses: { wan: "1.2.3.4" } },
      ];
      const start = Number((await other.get("/v1/catalog/nodes")).headers.get("X-Consul-Index"));
      expect(Number((await h.get("/v1/catalog/nodes")).headers.get("X-Consul-Index"))).toBeGreaterThan(0);
      const parked = other.get(`/v1/catalog/service/web?index=${start}&wait=30s`);
      let woke = false;
      void parked.then(() => (woke = true));
      await new Promise((r) => setTimeout(r, 30));
      expect(woke).toBe(false);
      const fresh = await startHarness();
      try {
        for (const b of bodies) {
          const d = await viaDirect(otherDirect, PATH, JSON.stringify(b));
          const a = await fresh.put(PATH, b);
          expect(d).toEqual(await seenResponse(a));
        }
        const woken = await parked;
        expect(Number(woken.headers.get("X-Consul-Index"))).toBeGreaterThan(start);
        for (const read of ["/v1/catalog/nodes", "/v1/catalog/node/w-1", "/v1/catalog/services", "/v1/health/node/w-1", "/v1/catalog/service/web", "/v1/health/service/db"]) {
          const x = await other.get(read);
          const y = await fresh.get(read);
          expect([read, x.headers.get("X-Consul-Index"), await x.text()]).toEqual([read, y.headers.get("X-Consul-Index"), await y.text()]);
        }
      } finally {
        await fresh.stop();
      }
    } finally {
      await other.stop();
    }
  });

  test("registrations answered directly are timed under the router's label", async () => {
    const metrics = new RequestMetrics();
    const app = createApp({ ...h.api, metrics } satisfies ApiContext);
    const body = JSON.stringify({ Node: "m", Address: "10.0.0.1" });
    await viaApp(app, PATH, body);
    await viaDirect(directRegister(h.api, metrics), PATH, body);
    await viaDirect(directRegister(h.api, metrics), PATH, "{bad");
    const samples = metrics.samples();
    expect(samples).toHaveLength(1);
    expect(samples[0]!.Count).toBe(3);
    expect(samples[0]!.Labels).toEqual({ method: "PUT", path: "v1_catalog_register" });
  });
});

describe("direct registration with ACLs (default deny)", () => {
  let h: AclHarness;
  let direct: DirectHandler;
  let webToken: string;
  beforeAll(async () => {
    h = await startAclHarness();
    direct = directRegister(h.api, new RequestMetrics());
    const p = await h.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "web", Rules: 'node_prefix "web-" { policy = "write" }\nservice "web" { policy = "write" }' } });
    webToken = (await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { Policies: [{ ID: p.ID }] } })).SecretID;
  });
  afterAll(() => h.stop());

  test("tokens from the header, the query or a bearer are enforced by the server as in the app", async () => {
    const web = JSON.stringify({ Node: "web-1", Address: "10.0.0.1", Service: { Service: "web", Port: 80 } });
    const db = JSON.stringify({ Node: "web-1", Address: "10.0.0.1", Service: { Service: "db", Port: 5432 } });
    const other = JSON.stringify({ Node: "db-1", Address: "10.0.0.2" });
    const cases: [string, string, Record<string, string>, number][] = [
      [PATH, web, { "X-Consul-Token": webToken }, 200],
      [`${PATH}?token=${webToken}`, web, {}, 200],
      [PATH, web, { Authorization: `Bearer ${webToken}` }, 200],
      [PATH, web, { Authorization: `bearer   ${webToken}` }, 200],
      [PATH, db, { "X-Consul-Token": webToken }, 403],
      [PATH, other, { "X-Consul-Token": webToken }, 403],
      [PATH, web, {}, 403],
      [PATH, web, { "X-Consul-Token": "not-a-token" }, 403],
      [`${PATH}?token=`, web, { "X-Consul-Token": ROOT }, 200],
      [PATH, other, { "X-Consul-Token": ROOT }, 200],
    ];
    for (const [target, body, headers, status] of cases) {
      const d = await same(h.app, direct, target, body, headers);
      expect([target, headers, d.status]).toEqual([target, headers, status]);
      expect(d.headers["x-consul-default-acl-policy"]).toBe("deny");
    }
  });
});
