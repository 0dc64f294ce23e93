/**
 * The agent cache behind `?cached` (Consul's caching.mdx), driven with a
 * fake clock and a scripted backend: hits and misses, Age, max-age,
 * must-revalidate, stale-if-error, background refresh, expiry, the entry
 * bound, and a stop that leaves no timer or fetch behind.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { FakeClock, settle } from "../_fake_clock.ts";
import { type CacheRead, CacheStoppedError, RequestCache } from "../../src/agent/request_cache.ts";
import type { FetchOptions } from "../../src/agent/request_cache.ts";
import type { QueryReply } from "../../src/rpc/mod.ts";

const PLAIN: CacheRead = { minIndex: 0, waitMs: 0, maxAgeMs: 0, mustRevalidate: false, staleIfErrorMs: 0 };

/** A backend with an index and a value; blocking fetches park until it changes (or their signal aborts). */
class Backend {
  index = 5;
  value = "v1";
  down = false;
  calls: FetchOptions[] = [];
  private parked = new Set<() => void>();

  fetch = (o: FetchOptions): Promise<QueryReply<string>> => {
    this.calls.push(o);
    if (this.down) return Promise.reject(new Error("No known Consul servers"));
    if (o.minIndex === 0 || this.index > o.minIndex) return Promise.resolve({ index: this.index, value: this.value });
    return new Promise((resolve, reject) => {
      const wake = () => {
        this.parked.delete(wake);
        if (o.signal.aborted) reject(new Error("aborted"));
        else if (this.down) reject(new Error("No known Consul servers"));
        else resolve({ index: this.index, value: this.value });
      };
      this.parked.add(wake);
      o.signal.addEventListener("abort", wake, { once: true });
    });
  };

  set(value: string): void {
    this.value = value;
    this.index++;
    for (const w of [...this.parked]) w();
  }

  fail(): void {
    this.down = true;
    for (const w of [...this.parked]) w();
  }

  get parkedCount(): number {
    return this.parked.size;
  }
}

let caches: RequestCache[] = [];
afterEach(() => {
  for (const c of caches) c.stop();
  caches = [];
});

function setup(o: { ttlMs?: number; maxEntries?: number } = {}) {
  const clock = new FakeClock();
  const cache = new RequestCache({ clock, random: () => 0, ...o });
  caches.push(cache);
  return { clock, cache, backend: new Backend() };
}

describe("simple entries", () => {
  test("a miss fetches, the next read is a hit whose Age grows with time", async () => {
    const { clock, cache, backend } = setup();
    const a = await cache.get("simple", "k", backend.fetch, PLAIN);
    expect(a).toMatchObject({ hit: false, reply: { index: 5, value: "v1" } });
    await clock.advance(7_000);
    backend.set("v2");
    const b = await cache.get("simple", "k", backend.fetch, PLAIN);
    expect(b).toMatchObject({ hit: true, ageMs: 7_000, reply: { value: "v1" } });
    expect(backend.calls.length).toBe(1);
  });

  test("max-age refetches an older entry; must-revalidate always refetches", async () => {
    const { clock, cache, backend } = setup();
    await cache.get("simple", "k", backend.fetch, PLAIN);
    backend.set("v2");
    await clock.advance(10_000);
    const young = await cache.get("simple", "k", backend.fetch, { ...PLAIN, maxAgeMs: 30_000 });
    expect(young).toMatchObject({ hit: true, reply: { value: "v1" } });
    const old = await cache.get("simple", "k", backend.fetch, { ...PLAIN, maxAgeMs: 5_000 });
    expect(old).toMatchObject({ hit: false, reply: { value: "v2" } });
    backend.set("v3");
    const again = await cache.get("simple", "k", backend.fetch, { ...PLAIN, mustRevalidate: true });
    expect(again).toMatchObject({ hit: false, reply: { value: "v3" } });
    expect(backend.calls.length).toBe(3);
  });

  test("a failed refetch is a 500 unless stale-if-error covers the entry's age", async () => {
    const { clock, cache, backend } = setup();
    await cache.get("simple", "k", backend.fetch, PLAIN);
    await clock.advance(65_000);
    backend.down = true;
    // Consul's example: a 65 s old entry, servers away.
    await expect(cache.get("simple", "k", backend.fetch, { ...PLAIN, maxAgeMs: 30_000 })).rejects.toThrow("No known Consul servers");
    const stale = await cache.get("simple", "k", backend.fetch, { ...PLAIN, maxAgeMs: 30_000, staleIfErrorMs: 259_200_000 });
    expect(stale).toMatchObject({ hit: true, ageMs: 65_000, reply: { value: "v1" } });
    await expect(cache.get("simple", "k", backend.fetch, { ...PLAIN, mustRevalidate: true, staleIfErrorMs: 60_000 })).rejects.toThrow("No known Consul servers");
    // Without Cache-Control the entry answers as it is.
    expect(await cache.get("simple", "k", backend.fetch, PLAIN)).toMatchObject({ hit: true, reply: { value: "v1" } });
  });

  test("a first fetch that fails keeps nothing; concurrent readers share one fetch", async () => {
    const { cache, backend } = setup();
    backend.down = true;
    await expect(cache.get("simple", "k", backend.fetch, PLAIN)).rejects.toThrow("No known Consul servers");
    expect(cache.size).toBe(0);
    backend.down = false;
    const [a, b] = await Promise.all([cache.get("simple", "k", backend.fetch, PLAIN), cache.get("simple", "k", backend.fetch, PLAIN)]);
    expect(a.reply.value).toBe("v1");
    expect(b.reply.value).toBe("v1");
    expect(backend.calls.length).toBe(2);
  });
});

describe("refresh entries", () => {
  test("the background loop keeps the entry current: later reads are hits with the new value and Age 0", async () => {
    const { cache, backend } = setup();
    expect((await cache.get("refresh", "k", backend.fetch, PLAIN)).hit).toBe(false);
    await settle();
    expect(cache.refreshing).toBe(1);
    expect(backend.calls.at(-1)).toMatchObject({ minIndex: 5, waitMs: 600_000 });
    backend.set("v2");
    await settle();
    const r = await cache.get("refresh", "k", backend.fetch, { ...PLAIN, maxAgeMs: 1, mustRevalidate: true });
    // Cache-Control is ignored for refresh entries.
    expect(r).toMatchObject({ hit: true, ageMs: 0, reply: { index: 6, value: "v2" } });
  });

  test("a blocking read waits on the entry's index and wakes on the refresh", async () => {
    const { cache, backend } = setup();
    await cache.get("refresh", "k", backend.fetch, PLAIN);
    await settle();
    let done: { hit: boolean; reply: QueryReply<string> } | null = null;
    const p = cache.get("refresh", "k", backend.fetch, { ...PLAIN, minIndex: 5 }).then((r) => (done = r));
    await settle();
    expect(done).toBeNull();
    backend.set("v2");
    await p;
    expect(done!).toMatchObject({ hit: false, reply: { index: 6, value: "v2" } });
  });

  test("a blocking read that times out answers the entry as it is", async () => {
    const { clock, cache, backend } = setup();
    await cache.get("refresh", "k", backend.fetch, PLAIN);
    const p = cache.get("refresh", "k", backend.fetch, { ...PLAIN, minIndex: 5, waitMs: 2_000 });
    await clock.advance(2_001);
    expect(await p).toMatchObject({ hit: false, reply: { index: 5 } });
  });

  test("losing the servers keeps the value, with Age counting from the lost contact, until the loop is back", async () => {
    const { clock, cache, backend } = setup();
    await cache.get("refresh", "k", backend.fetch, PLAIN);
    await settle();
    backend.fail();
    await settle();
    await clock.advance(4_000);
    const r = await cache.get("refresh", "k", backend.fetch, PLAIN);
    expect(r).toMatchObject({ hit: true, reply: { value: "v1" } });
    expect(r.ageMs).toBeGreaterThanOrEqual(4_000);
    backend.down = false;
    backend.set("v2");
    // Retries back off from 1 s; advance past a few.
    await clock.advance(20_000);
    expect(await cache.get("refresh", "k", backend.fetch, PLAIN)).toMatchObject({ hit: true, ageMs: 0, reply: { value: "v2" } });
  });
});

describe("lifecycle", () => {
  test("an entry not read for the TTL is dropped and its refresh loop ends", async () => {
    const { clock, cache, backend } = setup({ ttlMs: 60_000 });
    await cache.get("refresh", "k", backend.fetch, PLAIN);
    await settle();
    await clock.advance(50_000);
    await cache.get("refresh", "k", backend.fetch, PLAIN);
    await clock.advance(50_000);
    // Read 50 s ago: still there.
    expect(cache.size).toBe(1);
    await clock.advance(11_000);
    expect(cache.size).toBe(0);
    expect(cache.refreshing).toBe(0);
    expect(backend.parkedCount).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  test("the least recently read entry goes first past the bound", async () => {
    const { cache, backend } = setup({ maxEntries: 2 });
    await cache.get("simple", "a", backend.fetch, PLAIN);
    await cache.get("simple", "b", backend.fetch, PLAIN);
    await cache.get("simple", "a", backend.fetch, PLAIN);
    await cache.get("simple", "c", backend.fetch, PLAIN);
    expect(cache.size).toBe(2);
    expect((await cache.get("simple", "a", backend.fetch, PLAIN)).hit).toBe(true);
    expect((await cache.get("simple", "b", backend.fetch, PLAIN)).hit).toBe(false);
  });

  test("stop aborts refresh queries, releases blocked readers and leaves no timer", async () => {
    const { clock, cache, backend } = setup();
    await cache.get("refresh", "a", backend.fetch, PLAIN);
    await cache.get("simple", "b", backend.fetch, PLAIN);
    await settle();
    expect(backend.parkedCount).toBe(1);
    const blocked = cache.get("refresh", "a", backend.fetch, { ...PLAIN, minIndex: 5 });
    await settle();
    cache.stop();
    await expect(blocked).rejects.toBeInstanceOf(CacheStoppedError);
    await settle();
    expect(backend.parkedCount).toBe(0);
    expect(cache.refreshing).toBe(0);
    expect(cache.size).toBe(0);
    expect(clock.pendingTimers).toBe(0);
    await expect(cache.get("simple", "b", backend.fetch, PLAIN)).rejects.toBeInstanceOf(CacheStoppedError);
  });
});
