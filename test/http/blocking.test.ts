import { afterAll, describe, expect, test } from "bun:test";
import { createSession, type Harness, index, register, sleep, startHarness, track } from "./_harness.ts";
import { effectiveWait } from "../../src/server/mod.ts";

const h = await startHarness();
afterAll(() => h.stop());

/** Long enough for a request to reach its park point and for a wrong wake-up to show. */
const SETTLE_MS = 40;

async function currentIndex(path: string): Promise<number> {
  return index(await h.get(path));
}

/**
 * Parks `path` at its current index, checks that `unrelated` does not wake it,
 * then that `relevant` does, with a higher index.
 */
async function expectWakesOnlyOn(path: string, unrelated: () => Promise<unknown>, relevant: () => Promise<unknown>): Promise<Response> {
  const before = await currentIndex(path);
  const sep = path.includes("?") ? "&" : "?";
  const parked = track(h.get(`${path}${sep}index=${before}&wait=5s`));
  await sleep(SETTLE_MS);
  expect(parked.settled).toBe(false);
  await unrelated();
  await sleep(SETTLE_MS);
  expect(parked.settled).toBe(false);
  const started = Date.now();
  await relevant();
  const res = await parked.promise;
  expect(Date.now() - started).toBeLessThan(1000);
  expect(index(res)).toBeGreaterThan(before);
  return res;
}

const web = (node: string, address: string, extra: Record<string, unknown> = {}) => ({
  Node: node,
  Address: address,
  Service: { Service: "web", ID: `web-${node}`, Port: 80 },
  ...extra,
});

describe("a blocking query waits for a relevant write", () => {
  test("KV key: another key does not wake it, a write to the key does", async () => {
    await h.putJson("/v1/kv/watch/key", "v1");
    const res = await expectWakesOnlyOn(
      "/v1/kv/watch/key",
      () => h.putJson("/v1/kv/watch/other", "x"),
      () => h.putJson("/v1/kv/watch/key", "v2"),
    );
    const [e] = (await res.json()) as { Value: string }[];
    expect(atob(e!.Value)).toBe("v2");
  });

  test("KV key that does not exist yet: the 404 blocks until the key appears", async () => {
    const res = await expectWakesOnlyOn(
      "/v1/kv/watch/later",
      () => h.putJson("/v1/kv/watch/later2", "x"),
      () => h.putJson("/v1/kv/watch/later", "now"),
    );
    expect(res.status).toBe(200);
  });

  test("KV key: a delete wakes it with a 404", async () => {
    await h.putJson("/v1/kv/watch/del", "v");
    const res = await expectWakesOnlyOn(
      "/v1/kv/watch/del",
      () => h.putJson("/v1/kv/watch/dex", "x"),
      () => h.del("/v1/kv/watch/del"),
    );
    expect(res.status).toBe(404);
  });

  test("KV prefix (recurse): a sibling prefix does not wake it, a key under it does", async () => {
    await h.putJson("/v1/kv/pre/a", "1");
    const res = await expectWakesOnlyOn(
      "/v1/kv/pre/?recurse",
      async () => {
        await h.putJson("/v1/kv/prex", "x");
        await h.putJson("/v1/kv/other/pre/a", "x");
      },
      () => h.putJson("/v1/kv/pre/b/c", "2"),
    );
    expect(((await res.json()) as { Key: string }[]).map((e) => e.Key)).toEqual(["pre/a", "pre/b/c"]);
  });

  test("KV keys listing: a delete under the prefix wakes it", async () => {
    await h.putJson("/v1/kv/kp/a", "1");
    await h.putJson("/v1/kv/kp/b", "1");
    const res = await expectWakesOnlyOn(
      "/v1/kv/kp/?keys",
      () => h.putJson("/v1/kv/kq/a", "x"),
      () => h.del("/v1/kv/kp/a"),
    );
    expect(await res.json()).toEqual(["kp/b"]);
  });

  test("catalog service: another service does not wake it, a new instance does", async () => {
    await register(h, web("n1", "10.0.0.1"));
    const res = await expectWakesOnlyOn(
      "/v1/catalog/service/web",
      async () => {
        await register(h, { Node: "n9", Address: "10.0.0.9", Service: { Service: "db", Port: 5432 } });
        await h.putJson("/v1/kv/noise", "x");
      },
      () => register(h, web("n2", "10.0.0.2")),
    );
    expect(((await res.json()) as { Node: string }[]).map((r) => r.Node)).toEqual(["n1", "n2"]);
  });

  test("health service: another service's check does not wake it, its own check does", async () => {
    await register(h, web("n3", "10.0.0.3", { Check: { CheckID: "c-n3", Name: "c", Status: "passing", ServiceID: "web-n3" } }));
    const res = await expectWakesOnlyOn(
      "/v1/health/service/web?passing",
      () => register(h, { Node: "n9", Address: "10.0.0.9", Check: { CheckID: "db-c", Name: "db", Status: "critical", ServiceID: "db" } }),
      () => register(h, web("n3", "10.0.0.3", { Check: { CheckID: "c-n3", Name: "c", Status: "critical", ServiceID: "web-n3" } })),
    );
    const nodes = ((await res.json()) as { Node: { Node: string } }[]).map((r) => r.Node.Node);
    expect(nodes).not.toContain("n3");
  });

  test("health service: a node-level check on one of its nodes wakes it", async () => {
    await expectWakesOnlyOn(
      "/v1/health/service/web",
      () => register(h, { Node: "n9", Address: "10.0.0.9", Check: { CheckID: "n9-node", Name: "node", Status: "critical" } }),
      () => register(h, { Node: "n1", Address: "10.0.0.1", Check: { CheckID: "n1-node", Name: "node", Status: "warning" } }),
    );
  });

  test("sessions list: a KV write does not wake it, a new session does", async () => {
    const res = await expectWakesOnlyOn(
      "/v1/session/list",
      () => h.putJson("/v1/kv/noise2", "x"),
      () => createSession(h, { Name: "woke" }),
    );
    expect(((await res.json()) as { Name: string }[]).map((s) => s.Name)).toContain("woke");
  });

  test("session info: a KV write does not wake it, destroying the session does", async () => {
    const id = await createSession(h);
    const res = await expectWakesOnlyOn(
      `/v1/session/info/${id}`,
      () => h.putJson("/v1/kv/noise3", "x"),
      () => h.put(`/v1/session/destroy/${id}`),
    );
    expect(await res.json()).toEqual([]);
  });

  test("index=0 and an index behind the current one answer at once", async () => {
    const now = await currentIndex("/v1/kv/watch/key");
    for (const q of ["index=0&wait=5s", `index=${now - 1}&wait=5s`]) {
      const started = Date.now();
      const res = await h.get(`/v1/kv/watch/key?${q}`);
      expect(res.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(200);
    }
  });
});

describe("wait", () => {
  test("a short wait returns the same index after about that long", async () => {
    const path = "/v1/kv/watch/key";
    const before = await currentIndex(path);
    const started = Date.now();
    const res = await h.get(`${path}?index=${before}&wait=200ms`);
    const elapsed = Date.now() - started;
    expect(res.status).toBe(200);
    expect(index(res)).toBe(before);
    expect(elapsed).toBeGreaterThanOrEqual(190);
    // wait + jitter (≤ wait/16) + one 50 ms deadline bucket, plus scheduling slack.
    expect(elapsed).toBeLessThanOrEqual(200 + 200 / 16 + 50 + 250);
  });

  test("the wait bound applies to catalog and session reads too", async () => {
    for (const path of ["/v1/catalog/service/web", "/v1/session/list", "/v1/health/state/any"]) {
      const before = await currentIndex(path);
      const started = Date.now();
      const res = await h.get(`${path}?index=${before}&wait=100ms`);
      expect(index(res)).toBe(before);
      expect(Date.now() - started).toBeGreaterThanOrEqual(90);
      expect(Date.now() - started).toBeLessThanOrEqual(100 + 100 / 16 + 50 + 250);
    }
  });

  test("the effective wait defaults to 5m, caps at 10m and adds at most wait/16 jitter", () => {
    expect(effectiveWait(0, () => 0)).toBe(300_000);
    expect(effectiveWait(3_600_000, () => 0)).toBe(600_000);
    expect(effectiveWait(1_600, () => 0.999999)).toBe(1_600 + 99);
    expect(effectiveWait(1_600, () => 0)).toBe(1_600);
  });

  test("invalid index or wait is 400", async () => {
    for (const [q, msg] of [
      ["index=abc", "Invalid index"],
      ["index=-1", "Invalid index"],
      ["index=1.5", "Invalid index"],
      ["wait=forever", "Invalid wait time"],
      ["wait=5", "Invalid wait time"],
      ["index=1&wait=1x", "Invalid wait time"],
    ] as const) {
      for (const path of ["/v1/kv/watch/key", "/v1/catalog/services", "/v1/session/list", "/v1/health/service/web"]) {
        const res = await h.get(`${path}?${q}`);
        expect({ path, q, status: res.status }).toEqual({ path, q, status: 400 });
        expect(await res.text()).toBe(msg);
      }
    }
  });
});

describe("many watchers", () => {
  test("2,000 parked requests on one key all wake on one write", async () => {
    const fresh: Harness = await startHarness();
    try {
      await fresh.putJson("/v1/kv/hot", "0");
      const before = index(await fresh.get("/v1/kv/hot"));
      const parked = Array.from({ length: 2000 }, () => track(fresh.get(`/v1/kv/hot?index=${before}&wait=30s`)));
      await sleep(100);
      expect(parked.filter((p) => p.settled)).toHaveLength(0);
      // One topic is watched however many requests wait on it.
      expect(fresh.server.state.hub.watchedTopics).toBe(1);
      await fresh.putJson("/v1/kv/unrelated", "x");
      await sleep(SETTLE_MS);
      expect(parked.filter((p) => p.settled)).toHaveLength(0);
      const started = Date.now();
      await fresh.putJson("/v1/kv/hot", "1");
      const responses = await Promise.all(parked.map((p) => p.promise));
      expect(Date.now() - started).toBeLessThan(5000);
      expect(responses.every((r) => r.status === 200 && index(r) > before)).toBe(true);
      const bodies = await Promise.all(responses.slice(0, 5).map((r) => r.json() as Promise<{ Value: string }[]>));
      expect(bodies.every((b) => atob(b[0]!.Value) === "1")).toBe(true);
    } finally {
      await fresh.stop();
    }
  });

  test("stopping the server releases parked requests", async () => {
    const fresh = await startHarness();
    await fresh.putJson("/v1/kv/k", "v");
    const before = index(await fresh.get("/v1/kv/k"));
    const parked = track(fresh.get(`/v1/kv/k?index=${before}&wait=60s`));
    await sleep(SETTLE_MS);
    expect(parked.settled).toBe(false);
    await fresh.stop();
    const res = await parked.promise;
    expect(res.status).toBe(200);
  });
});
