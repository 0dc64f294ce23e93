import { afterAll, describe, expect, test } from "bun:test";
import { createSession, dec, enc, index, KV_MAX, startHarness } from "./_harness.ts";

const h = await startHarness();
afterAll(() => h.stop());

interface Entry {
  LockIndex: number;
  Key: string;
  Flags: number;
  Value: string | null;
  Session?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

describe("GET/PUT/DELETE one key", () => {
  test("PUT answers true and GET returns a one-element array with Consul's field order", async () => {
    expect(await h.putJson("/v1/kv/app/config", "hello")).toBe(true);
    const res = await h.get("/v1/kv/app/config");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toStartWith("application/json");
    const text = await res.text();
    expect(text).toMatch(/^\[\{"LockIndex":0,"Key":"app\/config","Flags":0,"Value":"aGVsbG8=","CreateIndex":\d+,"ModifyIndex":\d+\}\]$/);
    const [e] = JSON.parse(text) as Entry[];
    expect(e!.CreateIndex).toBe(e!.ModifyIndex);
    expect(index(res)).toBeGreaterThanOrEqual(e!.ModifyIndex);
  });

  test("an overwrite keeps CreateIndex and raises ModifyIndex", async () => {
    await h.putJson("/v1/kv/ow", "1");
    const [a] = await h.getJson<Entry[]>("/v1/kv/ow");
    await h.putJson("/v1/kv/ow", "2");
    const [b] = await h.getJson<Entry[]>("/v1/kv/ow");
    expect(b!.CreateIndex).toBe(a!.CreateIndex);
    expect(b!.ModifyIndex).toBeGreaterThan(a!.ModifyIndex);
    expect(dec(b!.Value)).toBe("2");
  });

  test("an empty body and a folder read back as \"Value\": null, as Consul's nil buffer does", async () => {
    await h.putJson("/v1/kv/empty", "");
    const [e] = await h.getJson<Entry[]>("/v1/kv/empty");
    expect(e!.Value).toBeNull();
    expect(await (await h.get("/v1/kv/empty")).text()).toContain('"Value":null');
    const raw = await h.get("/v1/kv/empty?raw");
    expect(raw.status).toBe(200);
    expect(await raw.text()).toBe("");
    await h.putJson("/v1/kv/folder/", undefined);
    const listed = await h.getJson<Entry[]>("/v1/kv/folder/?recurse");
    expect(listed.map((x) => [x.Key, x.Value])).toEqual([["folder/", null]]);
    expect(await (await h.get("/v1/kv/folder/?pretty")).text()).toContain('"Value": null');
    // A value then an empty body: back to null.
    await h.putJson("/v1/kv/empty", "x");
    await h.putJson("/v1/kv/empty", "");
    expect((await h.getJson<Entry[]>("/v1/kv/empty"))[0]!.Value).toBeNull();
  });

  test("a miss is 404 with an empty body and index headers", async () => {
    const res = await h.get("/v1/kv/does/not/exist");
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("");
    expect(res.headers.get("X-Consul-Index")).toMatch(/^[1-9]\d*$/);
    expect(res.headers.get("X-Consul-KnownLeader")).toBe("true");
    expect(res.headers.get("X-Consul-LastContact")).toBe("0");
  });

  test("DELETE removes the key and answers true, also for a missing key", async () => {
    await h.putJson("/v1/kv/gone", "x");
    expect(await (await h.del("/v1/kv/gone")).json()).toBe(true);
    expect((await h.get("/v1/kv/gone")).status).toBe(404);
    expect(await (await h.del("/v1/kv/gone")).json()).toBe(true);
  });

  test("keys may contain characters Consul ≥1.21.6 accepts again (spaces, colons, unicode)", async () => {
    for (const key of ["with space/x", "a:b@c", "ключ"]) {
      const path = `/v1/kv/${encodeURIComponent(key).replaceAll("%2F", "/")}`;
      expect(await h.putJson(path, "v")).toBe(true);
      const [e] = await h.getJson<Entry[]>(path);
      expect(e!.Key).toBe(key);
    }
  });

  test("binary values round-trip byte for byte through ?raw", async () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    expect((await h.put("/v1/kv/bin", bytes)).status).toBe(200);
    const raw = new Uint8Array(await (await h.get("/v1/kv/bin?raw")).arrayBuffer());
    expect(raw).toEqual(bytes);
  });
});

describe("raw", () => {
  test("serves the bare value with text/plain, nosniff and a sandbox CSP", async () => {
    await h.putJson("/v1/kv/page", "<script>alert(1)</script>");
    const res = await h.get("/v1/kv/page?raw");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/plain");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Content-Security-Policy")).toBe("sandbox");
    expect(res.headers.get("X-Consul-Index")).toMatch(/^[1-9]\d*$/);
    expect(await res.text()).toBe("<script>alert(1)</script>");
  });

  test("raw with a value (raw=true) is still raw; a miss is 404", async () => {
    await h.putJson("/v1/kv/rawv", "v");
    expect(await (await h.get("/v1/kv/rawv?raw=true")).text()).toBe("v");
    expect((await h.get("/v1/kv/rawmiss?raw")).status).toBe(404);
  });
});

describe("recurse", () => {
  test("lists every entry under the prefix in key order", async () => {
    await h.putJson("/v1/kv/rec/b", "2");
    await h.putJson("/v1/kv/rec/a", "1");
    await h.putJson("/v1/kv/rec/a/deep", "3");
    await h.putJson("/v1/kv/recx", "other");
    const rows = await h.getJson<Entry[]>("/v1/kv/rec/?recurse");
    expect(rows.map((r) => r.Key)).toEqual(["rec/a", "rec/a/deep", "rec/b"]);
    expect(rows.map((r) => dec(r.Value))).toEqual(["1", "3", "2"]);
  });

  test("a prefix without a slash matches siblings too; recurse with a value works", async () => {
    const rows = await h.getJson<Entry[]>("/v1/kv/rec?recurse=true");
    expect(rows.map((r) => r.Key)).toEqual(["rec/a", "rec/a/deep", "rec/b", "recx"]);
  });

  test("an empty prefix is 404 with index headers", async () => {
    const res = await h.get("/v1/kv/nothing-here/?recurse");
    expect(res.status).toBe(404);
    expect(res.headers.get("X-Consul-Index")).toMatch(/^[1-9]\d*$/);
  });

  test("the root with recurse lists everything", async () => {
    const rows = await h.getJson<Entry[]>("/v1/kv/?recurse");
    expect(rows.length).toBeGreaterThan(3);
    expect(rows.map((r) => r.Key)).toEqual([...rows.map((r) => r.Key)].sort());
  });

  test("DELETE ?recurse removes the subtree only", async () => {
    await h.putJson("/v1/kv/tree/a", "1");
    await h.putJson("/v1/kv/tree/b/c", "2");
    await h.putJson("/v1/kv/treehouse", "keep");
    expect(await (await h.del("/v1/kv/tree/?recurse")).json()).toBe(true);
    expect((await h.get("/v1/kv/tree/?recurse")).status).toBe(404);
    expect((await h.get("/v1/kv/treehouse")).status).toBe(200);
  });
});

describe("keys", () => {
  test("lists keys, rolled up at the separator", async () => {
    await h.putJson("/v1/kv/k/a", "1");
    await h.putJson("/v1/kv/k/b/c", "2");
    await h.putJson("/v1/kv/k/b/d", "3");
    await h.putJson("/v1/kv/k/e/f/g", "4");
    expect(await h.getJson<string[]>("/v1/kv/k/?keys")).toEqual(["k/a", "k/b/c", "k/b/d", "k/e/f/g"]);
    expect(await h.getJson<string[]>("/v1/kv/k/?keys&separator=/")).toEqual(["k/a", "k/b/", "k/e/"]);
  });

  test("the legacy ?seperator spelling works; ?separator wins when both are given", async () => {
    expect(await h.getJson<string[]>("/v1/kv/k/?keys&seperator=/")).toEqual(["k/a", "k/b/", "k/e/"]);
    expect(await h.getJson<string[]>("/v1/kv/k/?keys&seperator=/&separator=c")).toEqual(["k/a", "k/b/c", "k/b/d", "k/e/f/g"]);
  });

  test("a missing prefix is 404, but the root answers [] when the store is empty", async () => {
    expect((await h.get("/v1/kv/nokeys/?keys")).status).toBe(404);
    const fresh = await startHarness();
    try {
      const res = await fresh.get("/v1/kv/?keys");
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("[]");
      expect(res.headers.get("X-Consul-Index")).toMatch(/^[1-9]\d*$/);
      const res2 = await fresh.get("/v1/kv/?keys&separator=/");
      expect(await res2.text()).toBe("[]");
    } finally {
      await fresh.stop();
    }
  });
});

describe("cas", () => {
  test("cas=0 creates only when the key is absent", async () => {
    expect(await h.putJson("/v1/kv/cas/new?cas=0", "first")).toBe(true);
    expect(await h.putJson("/v1/kv/cas/new?cas=0", "second")).toBe(false);
    const [e] = await h.getJson<Entry[]>("/v1/kv/cas/new");
    expect(dec(e!.Value)).toBe("first");
  });

  test("cas=<ModifyIndex> succeeds once; a stale index answers false and changes nothing", async () => {
    await h.putJson("/v1/kv/cas/x", "v1");
    const [e] = await h.getJson<Entry[]>("/v1/kv/cas/x");
    expect(await h.putJson(`/v1/kv/cas/x?cas=${e!.ModifyIndex}`, "v2")).toBe(true);
    expect(await h.putJson(`/v1/kv/cas/x?cas=${e!.ModifyIndex}`, "v3")).toBe(false);
    const [after] = await h.getJson<Entry[]>("/v1/kv/cas/x");
    expect(dec(after!.Value)).toBe("v2");
  });

  test("DELETE ?cas deletes only at the current index", async () => {
    await h.putJson("/v1/kv/cas/del", "v");
    const [e] = await h.getJson<Entry[]>("/v1/kv/cas/del");
    expect(await (await h.del(`/v1/kv/cas/del?cas=${e!.ModifyIndex - 1}`)).json()).toBe(false);
    expect((await h.get("/v1/kv/cas/del")).status).toBe(200);
    expect(await (await h.del(`/v1/kv/cas/del?cas=${e!.ModifyIndex}`)).json()).toBe(true);
    expect((await h.get("/v1/kv/cas/del")).status).toBe(404);
  });
});

describe("flags", () => {
  test("a uint64 above 2^53 round-trips exactly in the JSON text", async () => {
    const flags = "3304740253564472344";
    expect(await h.putJson(`/v1/kv/flags/big?flags=${flags}`, "v")).toBe(true);
    const text = await (await h.get("/v1/kv/flags/big")).text();
    expect(text).toContain(`"Flags":${flags},`);
    const listed = await (await h.get("/v1/kv/flags/?recurse")).text();
    expect(listed).toContain(`"Flags":${flags},`);
    // ?pretty must not route the flags through a double.
    const pretty = await (await h.get("/v1/kv/flags/big?pretty")).text();
    expect(pretty).toContain(`"Flags": ${flags},`);
    expect(pretty).toContain("\n    ");
    const prettyList = await (await h.get("/v1/kv/flags/?recurse&pretty")).text();
    expect(prettyList).toContain(`"Flags": ${flags},`);
  });

  test("the maximum uint64 is kept; an overwrite without ?flags resets them to 0", async () => {
    await h.putJson("/v1/kv/flags/max?flags=18446744073709551615", "v");
    expect(await (await h.get("/v1/kv/flags/max")).text()).toContain(`"Flags":18446744073709551615,`);
    await h.putJson("/v1/kv/flags/max", "v");
    expect(await (await h.get("/v1/kv/flags/max")).text()).toContain(`"Flags":0,`);
  });

  test("flags that are not a uint64 are refused and nothing is stored", async () => {
    for (const bad of ["-1", "abc", "18446744073709551616"]) {
      const res = await h.put(`/v1/kv/flags/bad?flags=${bad}`, "v");
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).not.toBe(200);
    }
    expect((await h.get("/v1/kv/flags/bad")).status).toBe(404);
  });
});

describe("acquire and release", () => {
  test("a session acquires, a second session is refused, the holder releases", async () => {
    const s1 = await createSession(h);
    const s2 = await createSession(h);
    expect(await h.putJson(`/v1/kv/lock/a?acquire=${s1}`, "leader-1")).toBe(true);
    let [e] = await h.getJson<Entry[]>("/v1/kv/lock/a");
    expect(e!.Session).toBe(s1);
    expect(e!.LockIndex).toBe(1);
    expect(dec(e!.Value)).toBe("leader-1");

    expect(await h.putJson(`/v1/kv/lock/a?acquire=${s2}`, "leader-2")).toBe(false);
    expect(await h.putJson(`/v1/kv/lock/a?release=${s2}`, "")).toBe(false);
    [e] = await h.getJson<Entry[]>("/v1/kv/lock/a");
    expect(e!.Session).toBe(s1);
    expect(dec(e!.Value)).toBe("leader-1");

    // Re-acquiring by the holder updates the value and keeps the LockIndex.
    expect(await h.putJson(`/v1/kv/lock/a?acquire=${s1}`, "again")).toBe(true);
    [e] = await h.getJson<Entry[]>("/v1/kv/lock/a");
    expect(e!.LockIndex).toBe(1);

    expect(await h.putJson(`/v1/kv/lock/a?release=${s1}`, "released")).toBe(true);
    const text = await (await h.get("/v1/kv/lock/a")).text();
    expect(text).not.toContain('"Session"');
    [e] = JSON.parse(text) as Entry[];
    expect(e!.LockIndex).toBe(1);

    expect(await h.putJson(`/v1/kv/lock/a?acquire=${s2}`, "leader-2")).toBe(true);
    [e] = await h.getJson<Entry[]>("/v1/kv/lock/a");
    expect(e!.LockIndex).toBe(2);
    expect(e!.Session).toBe(s2);
  });

  test("acquiring with an unknown session is a 500 naming the session", async () => {
    const bogus = "00000000-0000-0000-0000-000000000000";
    const res = await h.put(`/v1/kv/lock/b?acquire=${bogus}`, "x");
    expect(res.status).toBe(500);
    expect(await res.text()).toContain(`invalid session "${bogus}"`);
    expect((await h.get("/v1/kv/lock/b")).status).toBe(404);
  });

  test("a plain PUT on a held key keeps the lock", async () => {
    const s = await createSession(h);
    await h.putJson(`/v1/kv/lock/c?acquire=${s}`, "a");
    await h.putJson("/v1/kv/lock/c", "b");
    const [e] = await h.getJson<Entry[]>("/v1/kv/lock/c");
    expect(e!.Session).toBe(s);
    expect(dec(e!.Value)).toBe("b");
    // Consul's kvsSetTxn keeps the session but takes LockIndex from the request, which a PUT leaves 0.
    expect(e!.LockIndex).toBe(0);
    // The same with ?flags, and for a txn "set".
    await h.putJson("/v1/kv/lock/c?flags=5", "c");
    const res = await h.put("/v1/txn", [{ KV: { Verb: "set", Key: "lock/c", Value: btoa("d"), Flags: 6 } }]);
    expect(res.status).toBe(200);
    const [after] = await h.getJson<Entry[]>("/v1/kv/lock/c");
    expect([after!.Session, dec(after!.Value), after!.Flags]).toEqual([s, "d", 6]);
  });
});

describe("limits and validation", () => {
  test(`a value over ${KV_MAX} bytes is 413 with Consul's text and the store is unchanged`, async () => {
    await h.putJson("/v1/kv/big", "small");
    const before = await (await h.get("/v1/kv/big")).text();
    const res = await h.put("/v1/kv/big", new Uint8Array(KV_MAX + 1));
    expect(res.status).toBe(413);
    expect(await res.text()).toBe(
      `Request body(${KV_MAX + 1} bytes) too large, max size: ${KV_MAX} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`,
    );
    expect(await (await h.get("/v1/kv/big")).text()).toBe(before);
    // Exactly at the limit is accepted.
    expect((await h.put("/v1/kv/big", new Uint8Array(KV_MAX))).status).toBe(200);
    expect((await (await h.get("/v1/kv/big?raw")).arrayBuffer()).byteLength).toBe(KV_MAX);
  });

  test("an oversized body without a Content-Length is refused without reading it all", async () => {
    const chunk = new Uint8Array(64 * 1024);
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(ctrl) {
        pulled += chunk.length;
        ctrl.enqueue(chunk);
      },
    });
    const res = await h.request("/v1/kv/streamed", { method: "PUT", body: endless, duplex: "half" } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.text()).toMatch(new RegExp(`^Request body\\(\\d+ bytes\\) too large, max size: ${KV_MAX} bytes\\. See `));
    expect(pulled).toBeLessThanOrEqual(KV_MAX + 4 * chunk.length);
    expect((await h.get("/v1/kv/streamed")).status).toBe(404);
  });

  test("conflicting flags are 400 and nothing is written", async () => {
    const s = await createSession(h);
    for (const q of [`cas=0&acquire=${s}`, `acquire=${s}&release=${s}`, "cas=0&release=x"]) {
      const res = await h.put(`/v1/kv/conflict?${q}`, "v");
      expect(res.status).toBe(400);
      expect(await res.text()).toStartWith("Conflicting flags: ");
    }
    // The parameters are echoed sorted by name, as Go's url.Values.Encode does.
    const echoed = await (await h.put(`/v1/kv/conflict?release=${s}&cas=5`, "v")).text();
    expect(echoed).toBe(`Conflicting flags: cas=5&release=${s}\n`);
    expect((await h.get("/v1/kv/conflict")).status).toBe(404);
    await h.putJson("/v1/kv/conflict2", "v");
    const res = await h.del("/v1/kv/conflict2?recurse&cas=1");
    expect(res.status).toBe(400);
    expect(await res.text()).toStartWith("Conflicting flags: ");
    expect((await h.get("/v1/kv/conflict2")).status).toBe(200);
  });

  test("Missing key name for GET, PUT and DELETE of the root", async () => {
    for (const res of [await h.get("/v1/kv/"), await h.put("/v1/kv/", "v"), await h.del("/v1/kv/")]) {
      expect(res.status).toBe(400);
      expect(await res.text()).toBe("Missing key name");
    }
  });

  test("path traversal in the key is 400 and nothing is written", async () => {
    for (const path of ["/v1/kv/a/..%2Fb", "/v1/kv/a/..%2fsecret", "/v1/kv/x/..%5Cy", "/v1/kv/%2e%2e%2fetc"]) {
      const put = await h.put(path, "v");
      expect(put.status).toBe(400);
      expect(await put.text()).toContain("traversal");
      expect((await h.get(path)).status).toBe(400);
      expect((await h.del(path)).status).toBe(400);
    }
    expect((await h.get("/v1/kv/?recurse")).status).toBe(200);
    const keys = await h.getJson<string[]>("/v1/kv/?keys");
    expect(keys.some((k) => k.includes(".."))).toBe(false);
  });

  test("other methods are not allowed", async () => {
    const res = await h.request("/v1/kv/x", { method: "POST", body: "v" });
    expect([404, 405]).toContain(res.status);
    expect((await h.get("/v1/kv/x")).status).toBe(404);
  });
});

test("a value written with PUT is readable as base64 of the exact bytes", async () => {
  await h.putJson("/v1/kv/b64", "ünïcødé");
  const [e] = await h.getJson<Entry[]>("/v1/kv/b64");
  const bytes = Uint8Array.from(atob(e!.Value!), (c) => c.charCodeAt(0));
  expect(new TextDecoder().decode(bytes)).toBe("ünïcødé");
  expect(enc("a")).toBe("YQ==");
});
