/**
 * The direct lane (src/http/direct.ts) answers KV reads ahead of the router:
 * each answer it gives must be the one the app gives for the same request
 * (status, every header, body), and what it does not take whole it must hand
 * on (null) before doing anything.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ApiContext, createApp, directReads, RequestMetrics } from "../../src/http/mod.ts";
import { type DirectAnswer, type DirectHandler, type DirectRequest, LaterAnswer } from "../../src/runtime/mod.ts";
import { type Harness, startHarness } from "./_harness.ts";
import { type Seen, seen, seenDirect, seenResponse } from "./_direct_seen.ts";
import { decodeBody, encodeFrame } from "../../src/rpc/codec.ts";
import { type AclHarness, ROOT, startAclHarness } from "../acl/_acl_harness.ts";
import type { Hono } from "hono";

function request(target: string, headers: Record<string, string> = {}, method = "GET"): DirectRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return { method, target, header: (name) => lower[name], remoteAddress: () => "127.0.0.1", whenGone: () => {}, body: () => Promise.resolve(new Uint8Array(0)) };
}

const viaDirect = (direct: DirectHandler, target: string, headers?: Record<string, string>): Promise<Seen | null> => seenDirect(direct, request(target, headers));

async function viaApp(app: Hono, target: string, headers?: Record<string, string>): Promise<Seen> {
  return seenResponse(await app.request(`http://consul.test${target}`, headers ? { headers } : undefined));
}

/** The direct answer, which must exist and equal the app's. */
async function same(app: Hono, direct: DirectHandler, target: string, headers?: Record<string, string>): Promise<Seen> {
  const d = await viaDirect(direct, target, headers);
  const a = await viaApp(app, target, headers);
  expect(d).not.toBeNull();
  expect(d!).toEqual(a);
  return d!;
}

describe("direct lane, no ACLs", () => {
  let h: Harness;
  let dev: Harness;
  let direct: DirectHandler;
  let devDirect: DirectHandler;
  beforeAll(async () => {
    h = await startHarness();
    dev = await startHarness({ devMode: true });
    direct = directReads(h.api, new RequestMetrics());
    devDirect = directReads(dev.api, new RequestMetrics());
    for (const x of [h, dev]) {
      await x.putJson("/v1/kv/app/a", "1");
      await x.putJson("/v1/kv/app/b?flags=18446744073709551615", "two");
      await x.putJson("/v1/kv/app/sub/c", new Uint8Array([0, 255, 10, 13]));
      await x.putJson("/v1/kv/app/empty");
      for (let i = 0; i < 40; i++) await x.putJson(`/v1/kv/big/key-${String(i).padStart(3, "0")}`, "v".repeat(60));
    }
  });
  afterAll(async () => {
    await h.stop();
    await dev.stop();
  });

  test("single keys, raw values, missing keys, listings and consistency modes answer as the app does", async () => {
    const targets = [
      "/v1/kv/app/a",
      "/v1/kv/app/b",
      "/v1/kv/app/empty",
      "/v1/kv/app/sub/c?raw",
      "/v1/kv/app/a?raw",
      "/v1/kv/app/missing",
      "/v1/kv/app/missing?raw",
      "/v1/kv/app/?recurse",
      "/v1/kv/?recurse",
      "/v1/kv/nothing/?recurse",
      "/v1/kv/app/?keys",
      "/v1/kv/app/?keys&separator=/",
      "/v1/kv/?keys&seperator=/",
      "/v1/kv/nothing/?keys",
      "/v1/kv/app/a?stale",
      "/v1/kv/app/a?consistent",
      "/v1/kv/app/a?max_stale=5s",
      "/v1/kv/app/a?leader",
      "/v1/kv/app/a?pretty",
      "/v1/kv/app/?recurse&pretty",
      "/v1/kv/app/a?dc=dc1",
      "/v1/kv/app/a?index=0",
      "/v1/kv/app/a?",
      "/v1/kv/app/a?token=whatever",
    ];
    for (const t of targets) await same(h.app, direct, t);
    const one = await same(h.app, direct, "/v1/kv/app/b");
    expect(JSON.parse(one.body.replace(/"Flags":(\d+)/, '"Flags":"$1"'))[0].Flags).toBe("18446744073709551615");
    expect(one.headers["x-consul-index"]).toMatch(/^[1-9]\d*$/);
    expect(one.headers["vary"]).toBe("Accept-Encoding");
    expect((await same(h.app, direct, "/v1/kv/app/missing")).status).toBe(404);
  });

  test("a -dev agent's answers are indented in both lanes", async () => {
    for (const t of ["/v1/kv/app/a", "/v1/kv/app/?recurse", "/v1/kv/app/?keys", "/v1/kv/app/a?raw"]) await same(dev.app, devDirect, t);
    expect((await same(dev.app, devDirect, "/v1/kv/app/a")).body).toEndWith("}\n]\n");
  });

  test("gzip for a client that accepts it, past 1400 bytes only", async () => {
    const zipped = await same(h.app, direct, "/v1/kv/big/?recurse", { "Accept-Encoding": "gzip, deflate" });
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(JSON.parse(zipped.body)).toHaveLength(40);
    const small = await same(h.app, direct, "/v1/kv/big/key-001", { "Accept-Encoding": "gzip" });
    expect(small.headers["content-encoding"]).toBeUndefined();
    const refused = await same(h.app, direct, "/v1/kv/big/?recurse", { "Accept-Encoding": "gzip;q=0, identity" });
    expect(refused.headers["content-encoding"]).toBeUndefined();
  });

  test("what the lane does not take whole goes to the app untouched", async () => {
    const passed = [
      ["/v1/kv/app/a?index=1&dc=dc2", "a blocking read of another datacenter"],
      ["/v1/kv/app/a?index=abc", "a bad index"],
      ["/v1/kv/app/a?stale&consistent", "conflicting modes"],
      ["/v1/kv/", "no key"],
      ["/v1/kv//app/a", "a path ServeMux redirects"],
      ["/v1/kv/app/./a", "a dot segment"],
      ["/v1/kv/app/../a", "a dot-dot segment"],
      ["/v1/kv/app%2Fa", "a percent-escape"],
      ["/v1/kv/app/a b", "a character the URL parser encodes"],
      ["/v1/kv/ app", "a padded key"],
      ["/v1/catalog/services", "another endpoint"],
      ["/v1/kvx", "a neighbour path"],
    ] as const;
    for (const [target, why] of passed) expect([why, direct(request(target))]).toEqual([why, null]);
    for (const method of ["PUT", "DELETE", "HEAD", "POST"]) expect(direct(request("/v1/kv/app/a", {}, method))).toBeNull();
    h.authorizer.deny = true;
    try {
      expect(direct(request("/v1/kv/app/a"))).toBeNull();
    } finally {
      h.authorizer.deny = false;
    }
  });

  test("a blocking read parks until a write moves the index past it, then answers as the app does", async () => {
    const index = Number((await viaApp(h.app, "/v1/kv/app/a")).headers["x-consul-index"]);
    const target = `/v1/kv/app/a?index=${index}&wait=30s`;
    let settled = false;
    const parked = direct(request(target));
    expect(parked).toBeInstanceOf(LaterAnswer);
    const direct1 = new Promise<DirectAnswer>((r) => (parked as LaterAnswer).onAnswer(r));
    void direct1.then(() => (settled = true));
    const app1 = viaApp(h.app, target);
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    await h.putJson("/v1/kv/app/a", "changed");
    const answer = await direct1;
    const body = typeof answer.body === "string" ? answer.body : "";
    expect(await seen(answer.status, Object.entries(answer.headers), new TextEncoder().encode(body))).toEqual(await app1);
    expect(Number(answer.headers["X-Consul-Index"])).toBeGreaterThan(index);
    expect(atob(JSON.parse(body)[0].Value)).toBe("changed");
  });

  test("the authorizer sees the request's token from the query, the header or a bearer", async () => {
    const seenBefore = h.authorizer.seen.length;
    await viaDirect(direct, "/v1/kv/app/a?token=q-token");
    await viaDirect(direct, "/v1/kv/app/a", { "X-Consul-Token": "h-token" });
    await viaDirect(direct, "/v1/kv/app/a", { Authorization: "Bearer b-token" });
    expect(h.authorizer.seen.slice(seenBefore)).toEqual([
      { token: "q-token", method: "GET", path: "/v1/kv/app/a" },
      { token: "h-token", method: "GET", path: "/v1/kv/app/a" },
      { token: "b-token", method: "GET", path: "/v1/kv/app/a" },
    ]);
  });

  test("requests answered directly are timed under the router's label", async () => {
    const metrics = new RequestMetrics();
    const app = createApp({ ...h.api, metrics } satisfies ApiContext);
    await viaApp(app, "/v1/kv/app/a");
    await viaDirect(directReads(h.api, metrics), "/v1/kv/app/a");
    const samples = metrics.samples();
    expect(samples).toHaveLength(1);
    expect(samples[0]!.Count).toBe(2);
    expect(samples[0]!.Labels).toEqual({ method: "GET", path: "v1_kv__" });
  });
});

describe("direct lane with ACLs (default deny)", () => {
  let h: AclHarness;
  let direct: DirectHandler;
  let appToken: string;
  beforeAll(async () => {
    h = await startAclHarness();
    direct = directReads(h.api, new RequestMetrics());
    const p = await h.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "app", Rules: 'key_prefix "app/" { policy = "read" }' } });
    appToken = (await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { Policies: [{ ID: p.ID }] } })).SecretID;
    for (const k of ["app/a", "app/b", "secret/x"]) expect((await h.req("PUT", `/v1/kv/${k}`, { token: ROOT, body: "v" })).status).toBe(200);
  });
  afterAll(() => h.stop());

  test("reads carry the token and the default policy; listings are filtered with the header; refusals match", async () => {
    const app = (t: string) => ({ "X-Consul-Token": t });
    const root = await same(h.app, direct, "/v1/kv/app/a", app(ROOT));
    expect(root.headers["x-consul-default-acl-policy"]).toBe("deny");
    await same(h.app, direct, "/v1/kv/app/a", app(appToken));
    const listed = await same(h.app, direct, "/v1/kv/?recurse", app(appToken));
    expect(JSON.parse(listed.body).map((e: { Key: string }) => e.Key)).toEqual(["app/a", "app/b"]);
    expect(listed.headers["x-consul-results-filtered-by-acls"]).toBe("true");
    await same(h.app, direct, "/v1/kv/?keys", app(appToken));
    await same(h.app, direct, `/v1/kv/app/b?token=${appToken}`);
    // A refusal either goes to the app (thrown at once) or is answered as the app answers it.
    for (const [target, headers] of [["/v1/kv/secret/x", app(appToken)], ["/v1/kv/app/a", {}]] as const) {
      const d = await viaDirect(direct, target, headers);
      const a = await viaApp(h.app, target, headers);
      expect(a.status).toBe(403);
      if (d !== null) expect(d).toEqual(a);
    }
  });
});

describe("reads of another datacenter (?dc=)", () => {
  // Every answer of another datacenter arrives as new objects, as the wire codec makes them.
  let h: Harness;
  let direct: DirectHandler;
  let remoteCalls = 0;
  beforeAll(async () => {
    h = await startHarness({
      rpc: (rpc) => ({
        call: (method, args, opts) => {
          if (opts.datacenter !== "dc2") return rpc.call(method, args, opts);
          remoteCalls++;
          return Promise.resolve(rpc.call(method, args, { ...opts, datacenter: "dc1" })).then((r) => (decodeBody(encodeFrame({ i: 1, r }).subarray(4)) as { r: never }).r);
        },
      }),
    });
    direct = directReads(h.api, new RequestMetrics());
    await h.putJson("/v1/kv/far/a?flags=18446744073709551615", "één");
    await h.putJson("/v1/kv/far/b", new Uint8Array([0, 255, 10, 13]));
    await h.putJson("/v1/kv/far/empty");
  });
  afterAll(() => h.stop());

  test("answer as the same read answered here, in both lanes, read after read", async () => {
    const variants = ["", "?pretty", "?raw", "?recurse", "?recurse&pretty", "?keys"];
    for (const key of ["far/a", "far/b", "far/empty", "far/missing", "far/"]) {
      for (const v of variants) {
        const local = await same(h.app, direct, `/v1/kv/${key}${v}`);
        const before = remoteCalls;
        for (let round = 0; round < 2; round++) {
          const remote = await same(h.app, direct, `/v1/kv/${key}${v}${v === "" ? "?" : "&"}dc=dc2`);
          expect(remote).toEqual(local);
        }
        expect(remoteCalls - before).toBe(4);
      }
    }
  });
});
