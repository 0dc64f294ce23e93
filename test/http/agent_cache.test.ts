/**
 * `?cached` reads through the HTTP pipeline (Consul's api-docs/features/caching.mdx):
 * X-Cache and Age, background refresh for catalog and health reads, simple
 * caching with Cache-Control for prepared queries and datacenters, and
 * stale-if-error while the servers cannot be reached.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { register, sleep, startHarness } from "./_harness.ts";
import { RequestCache } from "../../src/agent/request_cache.ts";
import { NoServersError, type Rpc } from "../../src/rpc/mod.ts";
import { systemClock } from "../../src/server/mod.ts";

/** The servers, as the agent reaches them: `down` makes every call fail as a client agent's does with none known. */
const link = { down: false };
const cache = new RequestCache({ clock: systemClock, random: Math.random });
const h = await startHarness({
  cache,
  rpc: (inner): Rpc => ({
    call: (method, args, opts) => {
      if (link.down) throw new NoServersError();
      return inner.call(method, args, opts);
    },
  }),
});
afterAll(() => h.stop());

const web = (node: string, address: string) => ({ Node: node, Address: address, Service: { ID: "web", Service: "web", Port: 80 } });
await register(h, web("n1", "10.0.0.1"));
const queryId = ((await h.request("/v1/query", { method: "POST", body: JSON.stringify({ Name: "web-q", Service: { Service: "web" } }) }).then((r) => r.json())) as { ID: string }).ID;

const cacheHeaders = (res: Response) => [res.headers.get("X-Cache"), res.headers.get("Age")];

/** Polls `path` until `ok` holds for its body (the background refresh is asynchronous). */
async function until<T>(path: string, ok: (body: T, res: Response) => boolean): Promise<{ body: T; res: Response }> {
  for (let i = 0; i < 1000; i++) {
    const res = await h.get(path);
    const body = (await res.json()) as T;
    if (ok(body, res)) return { body, res };
    await sleep(10);
  }
  throw new Error(`${path}: condition never held`);
}

describe("background refresh reads", () => {
  test("catalog/services: MISS, then HIT with Age 0; a new service shows up through the refresh, still a hit", async () => {
    const plain = await h.get("/v1/catalog/services");
    expect(plain.headers.get("X-Cache")).toBeNull();
    const miss = await h.get("/v1/catalog/services?cached");
    expect(cacheHeaders(miss)).toEqual(["MISS", null]);
    expect(Object.keys((await miss.json()) as object)).not.toContain("api");
    const hit = await h.get("/v1/catalog/services?cached");
    expect(cacheHeaders(hit)).toEqual(["HIT", "0"]);
    expect(hit.headers.get("X-Consul-Index")).toBe(miss.headers.get("X-Consul-Index"));
    await register(h, { Node: "n9", Address: "10.0.0.9", Service: { ID: "api", Service: "api", Port: 81 } });
    const { res } = await until<Record<string, string[]>>("/v1/catalog/services?cached", (b) => "api" in b);
    expect(cacheHeaders(res)).toEqual(["HIT", "0"]);
    expect(cache.refreshing).toBeGreaterThanOrEqual(1);
  });

  test("health/service: a blocking ?cached read wakes when the refresh brings a change", async () => {
    const first = await h.get("/v1/health/service/web?cached");
    expect(first.headers.get("X-Cache")).toBe("MISS");
    const index = Number(first.headers.get("X-Consul-Index"));
    const waiting = h.get(`/v1/health/service/web?cached&index=${index}&wait=20s`);
    await sleep(50);
    await register(h, web("n2", "10.0.0.2"));
    const woke = await waiting;
    expect(Number(woke.headers.get("X-Consul-Index"))).toBeGreaterThan(index);
    expect(woke.headers.get("X-Cache")).toBe("MISS");
    expect(((await woke.json()) as unknown[]).length).toBe(2);
  });

  test("catalog/service keys entries by the read: another service is its own miss", async () => {
    expect((await h.get("/v1/catalog/service/web?cached")).headers.get("X-Cache")).toBe("MISS");
    expect((await h.get("/v1/catalog/service/web?cached")).headers.get("X-Cache")).toBe("HIT");
    expect((await h.get("/v1/catalog/service/api?cached")).headers.get("X-Cache")).toBe("MISS");
  });
});

describe("simple reads and Cache-Control", () => {
  test("prepared query execute: HIT keeps the old answer; Age grows; max-age and must-revalidate refetch", async () => {
    const path = `/v1/query/${queryId}/execute?cached`;
    const miss = await h.get(path);
    expect(cacheHeaders(miss)).toEqual(["MISS", null]);
    const before = ((await miss.json()) as { Nodes: unknown[] }).Nodes.length;
    await register(h, web("n3", "10.0.0.3"));
    const hit = await h.get(path);
    expect(hit.headers.get("X-Cache")).toBe("HIT");
    expect(((await hit.json()) as { Nodes: unknown[] }).Nodes.length).toBe(before);
    await sleep(1_100);
    const older = await h.get(path, { "Cache-Control": "max-age=30" });
    expect(older.headers.get("X-Cache")).toBe("HIT");
    expect(Number(older.headers.get("Age"))).toBeGreaterThanOrEqual(1);
    const refetched = await h.get(path, { "Cache-Control": "max-age=0" });
    expect(cacheHeaders(refetched)).toEqual(["MISS", null]);
    expect(((await refetched.json()) as { Nodes: unknown[] }).Nodes.length).toBe(before + 1);
    const revalidated = await h.get(path, { "Cache-Control": "must-revalidate" });
    expect(revalidated.headers.get("X-Cache")).toBe("MISS");
  });

  test("with the servers unreachable: a 500 for a fresh answer, the cached one with stale-if-error", async () => {
    const path = "/v1/catalog/datacenters?cached";
    expect(cacheHeaders(await h.get(path))).toEqual(["MISS", null]);
    link.down = true;
    try {
      const failed = await h.get(path, { "Cache-Control": "max-age=0" });
      expect(failed.status).toBe(500);
      const stale = await h.get(path, { "Cache-Control": "max-age=0, stale-if-error=600" });
      expect(stale.status).toBe(200);
      expect(stale.headers.get("X-Cache")).toBe("HIT");
      expect(await stale.json()).toEqual(["dc1"]);
      // A background refresh entry keeps answering from the cache as it is.
      expect((await h.get("/v1/catalog/services?cached")).status).toBe(200);
    } finally {
      link.down = false;
    }
  });

  test("a Cache-Control value that is not a number is a 400, as in Consul", async () => {
    const res = await h.get("/v1/catalog/datacenters?cached", { "Cache-Control": "max-age=soon" });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("Invalid Cache-Control header.");
  });
});

describe("connect/authorize", () => {
  const uri = (svc: string) => `spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/${svc}`;
  const authorize = (source: string) =>
    h.request("/v1/agent/connect/authorize", { method: "POST", body: JSON.stringify({ Target: "billing", ClientCertURI: uri(source) }) });

  test("answers from the intention-match cache without ?cached, as Consul's agent does; a new intention arrives by the refresh", async () => {
    const first = await authorize("web");
    expect(cacheHeaders(first)).toEqual(["MISS", null]);
    expect(((await first.json()) as { Authorized: boolean }).Authorized).toBe(true);
    const again = await authorize("web");
    expect(cacheHeaders(again)).toEqual(["HIT", "0"]);
    const made = await h.request("/v1/connect/intentions/exact?source=web&destination=billing", { method: "PUT", body: JSON.stringify({ Action: "deny" }) });
    expect(made.status).toBe(200);
    for (let i = 0; ; i++) {
      const res = await authorize("web");
      const body = (await res.json()) as { Authorized: boolean; Reason: string };
      if (!body.Authorized) {
        expect(res.headers.get("X-Cache")).toBe("HIT");
        expect(body.Reason).toContain("DENY");
        break;
      }
      if (i > 500) throw new Error("the deny never reached the cached match");
      await sleep(10);
    }
  });
});

describe("http_config.use_cache = false", () => {
  test("?cached reads go to the servers: no X-Cache, fresh answers", async () => {
    const off = new RequestCache({ clock: systemClock, random: Math.random });
    const h2 = await startHarness({ cache: off, httpUseCache: false });
    try {
      const res = await h2.get("/v1/catalog/services?cached");
      expect(res.status).toBe(200);
      expect(res.headers.get("X-Cache")).toBeNull();
      expect(off.refreshing).toBe(0);
    } finally {
      await h2.stop();
    }
  });
});
