/** The API client against a real dev agent. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { ApiError, Client, LOCK_FLAG_VALUE, LockError, SEMAPHORE_FLAG_VALUE } from "../../src/api/mod.ts";
import { startTestAgent, waitFor, type TestAgent } from "./harness.ts";

let agent: TestAgent;
let client: Client;
const text = (b: Uint8Array | null | undefined) => new TextDecoder().decode(b ?? new Uint8Array());

beforeAll(async () => {
  agent = await startTestAgent();
  client = new Client({ address: agent.address });
});

afterAll(async () => {
  await agent?.stop();
});

test("kv: put, get, flags beyond 2^53, keys with separator, list, cas, delete", async () => {
  const kv = client.kv();
  expect(await kv.put({ Key: "e2e/a", Value: "one", Flags: 3304740253564472344n })).toBe(true);
  await kv.put({ Key: "e2e/sub/b", Value: new Uint8Array([0, 1, 254, 255]) });
  const [a, meta] = await kv.get("e2e/a");
  expect(text(a?.Value)).toBe("one");
  expect(a?.Flags).toBe(3304740253564472344n);
  expect(meta.lastIndex).toBeGreaterThan(0);
  expect(meta.knownLeader).toBe(true);
  expect((await kv.get("e2e/sub/b"))[0]?.Value).toEqual(new Uint8Array([0, 1, 254, 255]));
  expect((await kv.keys("e2e/", "/"))[0]).toEqual(["e2e/a", "e2e/sub/"]);
  expect((await kv.list("e2e/"))[0].map((p) => p.Key)).toEqual(["e2e/a", "e2e/sub/b"]);
  expect(await kv.cas({ Key: "e2e/a", Value: "two", ModifyIndex: 1 })).toBe(false);
  expect(await kv.cas({ Key: "e2e/a", Value: "two", ModifyIndex: a?.ModifyIndex ?? 0 })).toBe(true);
  expect(await kv.cas({ Key: "e2e/a", Value: "three", ModifyIndex: 0 })).toBe(false);
  expect(await kv.deleteTree("e2e/sub")).toBe(true);
  expect((await kv.get("e2e/sub/b"))[0]).toBeNull();
  expect(await kv.delete("e2e/a")).toBe(true);
  expect((await kv.list("e2e/"))[0]).toEqual([]);
});

test("kv: a blocking query returns when the key changes", async () => {
  const kv = client.kv();
  await kv.put({ Key: "block/k", Value: "v1" });
  const [, meta] = await kv.get("block/k");
  const started = performance.now();
  const pending = kv.get("block/k", { index: meta.lastIndex, wait: 10_000 });
  setTimeout(() => void kv.put({ Key: "block/k", Value: "v2" }), 300);
  const [pair, after] = await pending;
  const elapsed = performance.now() - started;
  expect(text(pair?.Value)).toBe("v2");
  expect(after.lastIndex).toBeGreaterThan(meta.lastIndex);
  expect(elapsed).toBeGreaterThan(250);
  expect(elapsed).toBeLessThan(5_000);
});

test("sessions: create, info, list, renew, destroy", async () => {
  const s = client.session();
  const id = await s.create({ Name: "e2e", TTL: "30s", Behavior: "delete", LockDelay: "1s" });
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const [info] = await s.info(id);
  expect(info).toMatchObject({ ID: id, Name: "e2e", TTL: "30s", Behavior: "delete", LockDelay: 1_000_000_000 });
  expect((await s.list())[0].some((e) => e.ID === id)).toBe(true);
  expect((await s.renew(id))?.ID).toBe(id);
  await s.destroy(id);
  expect((await s.info(id))[0]).toBeNull();
  expect(await s.renew(id)).toBeNull();
});

test("txn: applies atomically; a failed check rolls back with errors", async () => {
  const txn = client.txn();
  const ok = await txn.apply([
    { KV: { Verb: "set", Key: "txn/a", Value: "A", Flags: 7 } },
    { KV: { Verb: "get", Key: "txn/a" } },
  ]);
  expect(ok.ok).toBe(true);
  const got = ok.Results[1];
  expect(got && "KV" in got ? [got.KV.Key, text(got.KV.Value), got.KV.Flags] : null).toEqual(["txn/a", "A", 7n]);
  const bad = await txn.apply([
    { KV: { Verb: "set", Key: "txn/b", Value: "B" } },
    { KV: { Verb: "check-index", Key: "txn/a", Index: 999_999 } },
  ]);
  expect(bad.ok).toBe(false);
  expect(bad.Errors[0]?.OpIndex).toBe(1);
  expect((await client.kv().get("txn/b"))[0]).toBeNull();
});

test("catalog, health, status and agent endpoints answer with Consul's shapes", async () => {
  await client.catalog().register({
    Node: "ext1",
    Address: "10.9.9.9",
    NodeMeta: { rack: "r9" },
    Service: { ID: "web-1", Service: "web", Tags: ["v1", "blue"], Port: 8080 },
  });
  const [services] = await client.catalog().services();
  expect(services.web?.sort()).toEqual(["blue", "v1"]);
  const [web] = await client.catalog().service("web", "v1");
  expect(web.map((s) => [s.Node, s.ServiceID, s.ServicePort])).toEqual([["ext1", "web-1", 8080]]);
  const [nodes] = await client.catalog().nodes({ filter: 'Meta.rack == "r9"' });
  expect(nodes.map((n) => n.Node)).toEqual(["ext1"]);
  const [node] = await client.catalog().node("ext1");
  expect(Object.keys(node?.Services ?? {})).toEqual(["web-1"]);
  const [entries] = await client.health().service("web");
  expect(entries[0]?.Service.ID).toBe("web-1");
  expect(entries[0]?.Node.Node).toBe("ext1");
  expect(await client.catalog().datacenters()).toEqual(["dc1"]);
  const self = await client.agent().self();
  expect(typeof self.Config?.NodeName).toBe("string");
  expect(await client.agent().nodeName()).toBe(String(self.Config?.NodeName));
  const members = await client.agent().members();
  expect(members[0]?.Status).toBe(1);
  expect(await client.status().leader()).toMatch(/:\d+$/);
  await client.catalog().deregister({ Node: "ext1" });
  expect((await client.catalog().service("web"))[0]).toEqual([]);
});

test("a missing session in ?acquire is a 500 ApiError with Consul's text", async () => {
  const err = await client
    .kv()
    .acquire({ Key: "nolock", Session: "00000000-0000-0000-0000-000000000000" })
    .then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  expect((err as ApiError).status).toBe(500);
  expect((err as ApiError).body).toContain("invalid session");
});

test("Lock: exclusive, marked with the lock flag, released and cleaned up", async () => {
  const first = client.lock({ key: "locks/one" });
  const lost = await first.lock();
  expect(lost).not.toBeNull();
  expect(first.isHeld).toBe(true);
  const [pair] = await client.kv().get("locks/one");
  expect(pair?.Flags).toBe(LOCK_FLAG_VALUE);
  expect(pair?.Session).toBe(first.session);
  const [session] = await client.session().info(first.session);
  expect(session).toMatchObject({ Name: "Consul API Lock", TTL: "15s" });

  const second = new Client({ address: agent.address }).lock({ key: "locks/one", lockTryOnce: true, lockWaitTime: 500 });
  const started = performance.now();
  expect(await second.lock()).toBeNull();
  expect(performance.now() - started).toBeGreaterThan(400);
  await expect(second.destroy()).rejects.toMatchObject({ code: "in-use" });
  await expect(first.lock()).rejects.toMatchObject({ code: "held" });

  const sessionId = first.session;
  await first.unlock();
  expect(lost?.aborted).toBe(true);
  expect((await client.kv().get("locks/one"))[0]?.Session).toBeUndefined();
  expect((await client.session().info(sessionId))[0]).toBeNull();
  await expect(first.unlock()).rejects.toBeInstanceOf(LockError);
  await first.destroy();
  expect((await client.kv().get("locks/one"))[0]).toBeNull();
});

test("Lock: a waiting contender gets the lock when the holder releases it", async () => {
  const holder = client.lock({ key: "locks/two" });
  await holder.lock();
  const waiter = client.lock({ key: "locks/two" });
  let got = false;
  const pending = waiter.lock().then((s) => {
    got = s !== null;
    return s;
  });
  await new Promise((r) => setTimeout(r, 300));
  expect(got).toBe(false);
  await holder.unlock();
  await pending;
  expect(got).toBe(true);
  await waiter.unlock();
});

test("Lock: losing the session aborts the lost signal; lock-delay is waited out with retries", async () => {
  const session = await client.session().create({ Name: "short-delay", LockDelay: "1s", TTL: "30s" });
  const held = client.lock({ key: "locks/three", session });
  const lost = await held.lock();
  await client.session().destroy(session);
  await waitFor(() => lost?.aborted === true, 5_000);

  // The key now sits in a 1s lock-delay: acquire answers false until it ends.
  const next = client.lock({ key: "locks/three", lockRetryTime: 200 });
  const started = performance.now();
  const signal = await next.lock();
  expect(signal).not.toBeNull();
  expect(performance.now() - started).toBeGreaterThan(300);
  await next.unlock();
  await held.unlock().catch(() => undefined);
  await next.destroy();
});

test("Lock: a stop signal ends a wait with null and leaves no session behind", async () => {
  const holder = client.lock({ key: "locks/four" });
  await holder.lock();
  const waiter = client.lock({ key: "locks/four" });
  const stop = new AbortController();
  const pending = waiter.lock(stop.signal);
  await new Promise((r) => setTimeout(r, 200));
  const before = (await client.session().list())[0].length;
  stop.abort();
  expect(await pending).toBeNull();
  expect((await client.session().list())[0].length).toBe(before - 1);
  await holder.unlock();
});

test("Lock and Semaphore refuse keys used by the other", async () => {
  await client.kv().put({ Key: "mixed/.lock", Value: "{}", Flags: 1 });
  await expect(client.lock({ key: "mixed/.lock" }).lock()).rejects.toMatchObject({ code: "conflict" });
  await expect(client.semaphore({ prefix: "mixed", limit: 2 }).acquire()).rejects.toMatchObject({ code: "conflict" });
  await client.kv().deleteTree("mixed");
});

test("Semaphore: at most `limit` holders; a third waits for a release", async () => {
  const mk = () => client.semaphore({ prefix: "sema/pool", limit: 2 });
  const [a, b, c] = [mk(), mk(), mk()];
  expect(await a.acquire()).not.toBeNull();
  expect(await b.acquire()).not.toBeNull();
  const [lockKey] = await client.kv().get("sema/pool/.lock");
  expect(lockKey?.Flags).toBe(SEMAPHORE_FLAG_VALUE);
  const holders = JSON.parse(text(lockKey?.Value)) as { Limit: number; Holders: Record<string, boolean> };
  expect(holders.Limit).toBe(2);
  expect(Object.keys(holders.Holders)).toHaveLength(2);

  let cGot = false;
  const pending = c.acquire().then((s) => (cGot = s !== null));
  await new Promise((r) => setTimeout(r, 300));
  expect(cGot).toBe(false);
  await a.release();
  await pending;
  expect(cGot).toBe(true);
  await expect(mk().destroy()).rejects.toMatchObject({ code: "in-use" });
  await b.release();
  await c.release();
  await mk().destroy();
  expect((await client.kv().list("sema/pool"))[0]).toEqual([]);
});
