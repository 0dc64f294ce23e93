import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { enc, register, startHarness, type Harness } from "./_harness.ts";
import { json } from "../../src/http/context.ts";
import { encodeAtTheEnd, isFinal, responseEncoding } from "../../src/http/response_encoding.ts";

/** Consul's marshalJSON under ?pretty or -dev: four spaces, trailing newline. */
describe("pretty JSON", () => {
  let dev: Harness;
  let plain: Harness;
  beforeAll(async () => {
    dev = await startHarness({ devMode: true });
    plain = await startHarness();
    for (const h of [dev, plain]) {
      await h.put("/v1/kv/app/a", "1");
      await register(h, { Node: "n1", Address: "10.0.0.1", Service: { Service: "web", Port: 80, Tags: ["v1"] } });
    }
  });
  afterAll(async () => {
    await dev.stop();
    await plain.stop();
  });

  test("a -dev agent indents every JSON answer and ends it with a newline", async () => {
    const text = await (await dev.get("/v1/catalog/services")).text();
    expect(text).toBe('{\n    "consul": [],\n    "web": [\n        "v1"\n    ]\n}\n');
    const kv = await (await dev.get("/v1/kv/app/a")).text();
    expect(kv).toMatch(/^\[\n {4}\{\n {8}"LockIndex": 0,\n {8}"Key": "app\/a",\n {8}"Flags": 0,\n {8}"Value": "MQ==",\n/);
    expect(kv.endsWith("}\n]\n")).toBe(true);
    expect(await (await dev.put("/v1/kv/app/b", "2")).text()).toBe("true\n");
    // Raw values and plain-text answers are left alone.
    expect(await (await dev.get("/v1/kv/app/a?raw")).text()).toBe("1");
  });

  test("without -dev answers are compact unless ?pretty is given", async () => {
    expect(await (await plain.get("/v1/catalog/services")).text()).toBe('{"consul":[],"web":["v1"]}');
    expect(await (await plain.get("/v1/catalog/services?pretty")).text()).toBe('{\n    "consul": [],\n    "web": [\n        "v1"\n    ]\n}\n');
    expect((await (await plain.get("/v1/kv/app/a?pretty")).text()).endsWith("}\n]\n")).toBe(true);
    expect(await (await plain.put("/v1/kv/app/c", "3")).text()).toBe("true");
  });
});

describe("gzip", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    // A listing well over gziphandler's 1400-byte minimum.
    const ops = Array.from({ length: 60 }, (_, i) => ({ KV: { Verb: "set", Key: `big/key-${String(i).padStart(3, "0")}`, Value: enc("x".repeat(40)) } }));
    expect((await h.put("/v1/txn", ops.slice(0, 60))).status).toBe(200);
    for (let i = 0; i < 30; i++) await register(h, { Node: `n${i}`, Address: `10.0.0.${i}`, Service: { ID: `web-${i}`, Service: "web", Port: 80, Tags: ["v1", "é"] }, Check: { Name: "alive", Status: "passing", ServiceID: `web-${i}` } });
  });
  afterAll(() => h.stop());

  const gunzip = async (res: Response) =>
    new TextDecoder().decode(new Uint8Array(await new Response(res.body!.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer()));

  test("a large answer is gzipped for a client that accepts it, byte for byte the plain one", async () => {
    const plainRes = await h.get("/v1/kv/big/?recurse");
    const plain = await plainRes.text();
    expect(plain.length).toBeGreaterThan(1400);
    expect(plainRes.headers.get("Content-Encoding")).toBeNull();
    expect(plainRes.headers.get("Vary")).toBe("Accept-Encoding");
    const zipped = await h.get("/v1/kv/big/?recurse", { "Accept-Encoding": "gzip, deflate" });
    expect(zipped.status).toBe(200);
    expect(zipped.headers.get("Content-Encoding")).toBe("gzip");
    expect(zipped.headers.get("X-Consul-Index")).toBe(plainRes.headers.get("X-Consul-Index"));
    expect(await gunzip(zipped)).toBe(plain);
  });

  test("catalog and health listings (encoded and gzipped where the handler makes them) gunzip to the plain answer", async () => {
    for (const path of ["/v1/catalog/service/web", "/v1/health/service/web?passing", "/v1/catalog/service/web?pretty"]) {
      const plain = await (await h.get(path)).text();
      expect(plain.length).toBeGreaterThan(1400);
      const zipped = await h.get(path, { "Accept-Encoding": "gzip" });
      expect(zipped.headers.get("Content-Encoding")).toBe("gzip");
      expect(zipped.headers.get("Content-Type")).toBe("application/json");
      expect(zipped.headers.get("Vary")).toBe("Accept-Encoding");
      expect(await gunzip(zipped)).toBe(plain);
    }
  });

  test("an answer rewritten after its handler (an ACL filter) gets its JSON, and is gzipped at the end", async () => {
    const app = new Hono();
    app.use("*", responseEncoding(false));
    app.use("*", async (c, next) => {
      encodeAtTheEnd(c);
      await next();
      const rows = (await c.res.json()) as { n: number }[];
      c.res = new Response(JSON.stringify(rows.filter((r) => r.n % 2 === 0)), { headers: { "Content-Type": "application/json" } });
    });
    app.get("/rows", (c) => json(c, Array.from({ length: 200 }, (_, n) => ({ n, pad: "x".repeat(20) }))));
    const res = await app.request("http://x/rows", { headers: { "Accept-Encoding": "gzip" } });
    expect(res.headers.get("Content-Encoding")).toBe("gzip");
    expect((JSON.parse(await gunzip(res)) as unknown[]).length).toBe(100);
  });

  test("small answers, q=0 and identity are sent as they are", async () => {
    const small = await h.get("/v1/kv/big/key-001", { "Accept-Encoding": "gzip" });
    expect(small.headers.get("Content-Encoding")).toBeNull();
    expect(((await small.json()) as { Key: string }[])[0]!.Key).toBe("big/key-001");
    const refused = await h.get("/v1/kv/big/?recurse", { "Accept-Encoding": "gzip;q=0, identity" });
    expect(refused.headers.get("Content-Encoding")).toBeNull();
    expect(((await refused.json()) as unknown[]).length).toBe(60);
  });

  test("a small JSON answer goes out as the handler made it (not read back and rebuilt), headers and all", async () => {
    const res = await h.put("/v1/catalog/register", { Node: "n1", Address: "10.0.0.1", Service: { Service: "web", Port: 80 } }, { "Accept-Encoding": "gzip" });
    expect(isFinal(res)).toBe(true);
    expect(res.headers.get("Content-Encoding")).toBeNull();
    expect(res.headers.get("Content-Type")).toBe("application/json");
    expect(res.headers.get("Vary")).toBe("Accept-Encoding");
    expect(res.headers.get("X-Consul-Default-ACL-Policy")).toBe("allow");
    expect(await res.text()).toBe("true");
  });

  test("an answer under 1400 characters but over 1400 bytes of UTF-8 is gzipped", async () => {
    await register(h, { Node: "n2", Address: "10.0.0.2", Service: { Service: "wide", Port: 80, Meta: { m: "\u00e9".repeat(450), n: "\u00e9".repeat(450) } } });
    const plain = await (await h.get("/v1/catalog/service/wide")).text();
    expect(plain.length).toBeLessThan(1400);
    expect(new TextEncoder().encode(plain).length).toBeGreaterThan(1400);
    const zipped = await h.get("/v1/catalog/service/wide", { "Accept-Encoding": "gzip" });
    expect(isFinal(zipped)).toBe(true);
    expect(zipped.headers.get("Content-Encoding")).toBe("gzip");
    expect(await gunzip(zipped)).toBe(plain);
  });

  test("errors stay plain text and are compressed only when large", async () => {
    const res = await h.get("/v1/kv/", { "Accept-Encoding": "gzip" });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe("Missing key name");
  });
});
