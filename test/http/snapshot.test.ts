/** `/v1/snapshot`: save, restore (all or nothing), and what a restore does to readers. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { createSession, dec, type Harness, index, register, startHarness } from "./_harness.ts";
import { readArchive, readTar, writeTar } from "../../src/snapshot/mod.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.stop();
});

async function save(path = "/v1/snapshot"): Promise<{ archive: Uint8Array; res: Response }> {
  const res = await h.get(path);
  expect(res.status).toBe(200);
  return { archive: new Uint8Array(await res.arrayBuffer()), res };
}

async function kvValue(key: string): Promise<string | null> {
  const res = await h.get(`/v1/kv/${key}`);
  if (res.status === 404) return null;
  const [e] = (await res.json()) as { Value: string | null }[];
  return dec(e!.Value);
}

const put = async (key: string, value: string) => expect(await (await h.put(`/v1/kv/${key}`, value)).text()).toBe("true");

describe("GET /v1/snapshot", () => {
  test("returns a gzipped archive at the current index", async () => {
    await put("a", "1");
    await put("b", "2");
    const { archive, res } = await save();
    expect(res.headers.get("Content-Type")).toBe("application/x-gzip");
    expect(archive[0]).toBe(0x1f);
    expect(archive[1]).toBe(0x8b);
    const { meta, state } = readArchive(archive);
    expect(index(res)).toBe(h.server.lastIndex());
    expect(meta.Index).toBe(h.server.lastIndex());
    expect(meta.Size).toBe(state.length);
    expect(meta.Configuration.Servers).toEqual([{ Suffrage: 0, ID: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10", Address: "10.1.2.3:8300" }]);
    expect(res.headers.get("X-Consul-KnownLeader")).toBe("true");
    const parsed = JSON.parse(new TextDecoder().decode(state)) as { KV: { Key: string }[] };
    expect(parsed.KV.map((r) => r.Key)).toEqual(["a", "b"]);
  });

  test("another datacenter is refused; other methods get 405", async () => {
    expect((await h.get("/v1/snapshot?dc=dc9")).status).toBe(500);
    expect((await h.request("/v1/snapshot", { method: "POST" })).status).toBe(405);
  });
});

describe("PUT /v1/snapshot", () => {
  test("restores KV, catalog and sessions as they were", async () => {
    await put("keep", "old");
    await register(h, { Node: "db1", Address: "10.0.0.5", Service: { Service: "db", Port: 5432 } });
    const sid = await createSession(h, { Name: "s", TTL: "30s" });
    expect(await (await h.put(`/v1/kv/lock?acquire=${sid}`, "me")).text()).toBe("true");
    const { archive } = await save();
    const before = await h.getJson<unknown[]>("/v1/kv/?recurse");

    await put("keep", "new");
    await put("extra", "x");
    await h.put("/v1/catalog/deregister", { Node: "db1" });
    await h.put(`/v1/session/destroy/${sid}`);
    const lastBefore = h.server.lastIndex();

    const res = await h.put("/v1/snapshot", archive);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
    expect(await kvValue("keep")).toBe("old");
    expect(await kvValue("extra")).toBeNull();
    expect(await h.getJson<unknown[]>("/v1/kv/?recurse")).toEqual(before);
    expect(Object.keys(await h.getJson<Record<string, string[]>>("/v1/catalog/services"))).toContain("db");
    const sessions = await h.getJson<{ ID: string }[]>("/v1/session/list");
    expect(sessions.map((s) => s.ID)).toEqual([sid]);
    // The log moved on: the restore is an entry after everything before it.
    expect(h.server.lastIndex()).toBeGreaterThan(lastBefore);
    // The restored session's TTL is enforced again (2 x TTL), and releases its lock.
    h.clock.advance(61_000);
    await Bun.sleep(10);
    expect(await h.getJson<unknown[]>("/v1/session/list")).toEqual([]);
    const [lock] = await h.getJson<{ Session?: string }[]>("/v1/kv/lock");
    expect(lock!.Session).toBeUndefined();
  });

  test("a parked blocking query answers at once when a restore replaces the state", async () => {
    await put("w", "1");
    const { archive } = await save();
    await put("w", "2");
    const idx = index(await h.get("/v1/kv/w"));
    const started = Date.now();
    const parked = h.get(`/v1/kv/w?index=${idx}&wait=20s`);
    await Bun.sleep(30);
    expect((await h.put("/v1/snapshot", archive)).status).toBe(200);
    const res = await parked;
    expect(Date.now() - started).toBeLessThan(5_000);
    const [e] = (await res.json()) as { Value: string }[];
    expect(dec(e!.Value)).toBe("1");
    // The key's index went back to what the snapshot holds, as in Consul after a restore.
    expect(index(res)).toBeLessThan(idx);
  });

  test("?stale is refused for a restore", async () => {
    const { archive } = await save();
    const res = await h.put("/v1/snapshot?stale", archive);
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("stale not allowed for restore");
  });

  describe("a bad archive gets a 400 and changes nothing", () => {
    async function expectRefused(body: Uint8Array<ArrayBuffer>, message: string | RegExp): Promise<void> {
      const stateBefore = new TextDecoder().decode(h.server.state.snapshot());
      const indexBefore = h.server.lastIndex();
      const res = await h.put("/v1/snapshot", body);
      expect(res.status).toBe(400);
      const text = await res.text();
      if (typeof message === "string") expect(text).toBe(message);
      else expect(text).toMatch(message);
      expect(new TextDecoder().decode(h.server.state.snapshot())).toBe(stateBefore);
      expect(h.server.lastIndex()).toBe(indexBefore);
    }

    const files = (archive: Uint8Array) => readTar(new Uint8Array(gunzipSync(archive))).map((f) => ({ name: f.name, data: new Uint8Array(f.data) }));
    const repack = (fs: { name: string; data: Uint8Array }[]) => new Uint8Array(gzipSync(writeTar(fs)));

    test("garbage, an empty body, a corrupted byte", async () => {
      await put("x", "1");
      const { archive } = await save();
      await put("x", "2");
      await expectRefused(new TextEncoder().encode("hello"), "failed to decompress snapshot: gzip: invalid header");
      await expectRefused(new Uint8Array(0), "failed to decompress snapshot: EOF");
      const fs = files(archive);
      fs[1]!.data[10] = fs[1]!.data[10]! ^ 0xff;
      await expectRefused(repack(fs), 'failed to read snapshot file: failed checking integrity of snapshot: hash check failed for "state.bin"');
      expect(await kvValue("x")).toBe("2");
    });

    test("a well-formed archive whose state is not ours (e.g. Consul's msgpack) or is malformed", async () => {
      const { archive } = await save();
      const swap = async (state: Uint8Array<ArrayBuffer>, message: RegExp) => {
        const fs = files(archive);
        const sums = new TextDecoder().decode(fs[2]!.data).split("\n");
        const hash = createHash("sha256").update(state).digest("hex");
        fs[1] = { name: "state.bin", data: state };
        fs[2] = { name: "SHA256SUMS", data: new TextEncoder().encode(`${sums[0]}\n${hash}  state.bin\n`) };
        await expectRefused(repack(fs), message);
      };
      await swap(new Uint8Array([0x00, 0x87, 0xa5, 0x49, 0x6e, 0x64, 0x65, 0x78]), /^failed to read snapshot file: snapshot is not JSON: /);
      await swap(new TextEncoder().encode('{"Version":7}'), /^failed to read snapshot file: Unsupported snapshot version: 7$/);
      const good = JSON.parse(new TextDecoder().decode(readArchive(archive).state)) as Record<string, unknown>;
      await swap(new TextEncoder().encode(JSON.stringify({ ...good, KV: [{ Key: 5 }] })), /^failed to read snapshot file: snapshot KV\[0\] is malformed/);
      await swap(new TextEncoder().encode(JSON.stringify({ ...good, Sessions: "none" })), /^failed to read snapshot file: snapshot Sessions is not a list$/);
    });
  });
});
