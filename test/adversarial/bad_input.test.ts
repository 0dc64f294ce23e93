/**
 * The smaller findings of the hardening issue that an HTTP client can reach:
 * invalid UTF-8 stored as U+FFFD, a 5 MB string overflowing the stack,
 * malformed intention bodies and out-of-range session TTLs answering 500,
 * and fields without a size limit (txn keys, intention names, prepared query
 * tags, session check lists).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { probeHttp, sleep, startTarget, type Target } from "./_agent.ts";

let agent: Target;
beforeAll(async () => {
  agent = await startTarget();
}, 60_000);
afterAll(async () => {
  await agent?.stop();
});

const send = (method: string, path: string, body: string | Uint8Array<ArrayBuffer>) =>
  fetch(`${agent.base}${path}`, { method, body }).then(async (r) => ({ status: r.status, text: await r.text() }));

function bytes(...parts: (string | number[])[]): Uint8Array<ArrayBuffer> {
  const out: number[] = [];
  for (const p of parts) out.push(...(typeof p === "string" ? new TextEncoder().encode(p) : p));
  return new Uint8Array(out);
}

test("invalid UTF-8 in a node name or a txn key is refused, not stored as U+FFFD", async () => {
  const node = await send("PUT", "/v1/catalog/register", bytes('{"Node":"n', [0xff, 0xfe], '1","Address":"10.0.0.1"}'));
  expect(node.status).toBe(400);
  expect(node.text).toContain("not valid UTF-8");
  const txn = await send("PUT", "/v1/txn", bytes('[{"KV":{"Verb":"set","Key":"k', [0xc3], '","Value":"eA=="}}]'));
  expect(txn.status).toBe(400);
  const nodes = (await (await fetch(`${agent.base}/v1/catalog/nodes`)).json()) as { Node: string }[];
  expect(nodes.some((n) => n.Node.includes("\uFFFD"))).toBe(false);
});

test("a 6 MB string field is refused with 400 naming the field and the limit, without overflowing the stack", async () => {
  const r = await send("PUT", "/v1/catalog/register", `{"Node":"big","Address":"${"x".repeat(6_000_000)}"}`);
  expect(r.text).not.toContain("call stack");
  expect(r).toEqual({ status: 400, text: "Request decode failed: Address is too long (6000000 characters; limit: 512 characters)" });
  expect((await fetch(`${agent.base}/v1/catalog/node/big`).then((x) => x.json())) as unknown).toBeNull();
  expect((await probeHttp(agent.base)).ok).toBe(true);
});

test("per-field limits: each oversized field answers 400 naming it and its limit, and nothing is stored", async () => {
  const long = (n: number) => "x".repeat(n);
  const svc = (s: Record<string, unknown>) => JSON.stringify({ Node: "lim", Address: "10.0.0.9", Service: { Service: "web", ...s } });
  const meta = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
  const cases: [string, string, string, string][] = [
    ["PUT", "/v1/catalog/register", JSON.stringify({ Node: long(513), Address: "10.0.0.9" }), "Node is too long (513 characters; limit: 512 characters)"],
    ["PUT", "/v1/catalog/register", svc({ ID: long(600) }), "ID is too long (600 characters; limit: 512 characters)"],
    ["PUT", "/v1/catalog/register", svc({ Tags: Array.from({ length: 257 }, (_, i) => `t${i}`) }), "Tags has too many entries (257; limit: 256)"],
    ["PUT", "/v1/catalog/register", svc({ Tags: [long(513)] }), "Tags entry is too long (513 characters; limit: 512 characters)"],
    ["PUT", "/v1/catalog/register", svc({ Meta: { [long(129)]: "v" } }), "Invalid Service Meta: Key is too long (limit: 128 characters)"],
    ["PUT", "/v1/catalog/register", svc({ Meta: { k: long(513) } }), "Invalid Service Meta: Value is too long (limit: 512 characters)"],
    ["PUT", "/v1/catalog/register", svc({ Meta: meta }), "Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs"],
    ["PUT", "/v1/catalog/register", JSON.stringify({ Node: "lim", Address: "10.0.0.9", NodeMeta: { k: long(513) } }), "Invalid NodeMeta: Value is too long (limit: 512 characters)"],
    ["PUT", "/v1/catalog/register", JSON.stringify({ Node: "lim", Address: "10.0.0.9", Check: { Name: "c", Output: long(70_000) } }), "Output is too long (70000 characters; limit: 65536 characters)"],
    ["PUT", "/v1/catalog/register", svc({ Proxy: { Config: { blob: long(600_000) } } }), "Service.Proxy.Config.blob is too long (600000 characters; limit: 524288 characters)"],
    ["PUT", "/v1/agent/service/register", JSON.stringify({ Name: long(513) }), "Name is too long (513 characters; limit: 512 characters)"],
    ["PUT", "/v1/agent/check/register", JSON.stringify({ Name: "c", TTL: "10s", Notes: long(70_000) }), "Notes is too long (70000 characters; limit: 65536 characters)"],
    ["PUT", "/v1/session/create", JSON.stringify({ Name: long(513) }), "Name is too long (513 characters; limit: 512 characters)"],
    ["PUT", "/v1/config", JSON.stringify({ Kind: "service-defaults", Name: long(513) }), "Name is too long (513 characters; limit: 512 characters)"],
    ["PUT", "/v1/config", JSON.stringify({ Kind: "service-defaults", Name: "lim", Meta: { k: long(600_000) } }), "Meta.k is too long (600000 characters; limit: 524288 characters)"],
  ];
  for (const [method, path, body, message] of cases) {
    const r = await send(method, path, body);
    expect({ path, status: r.status }).toEqual({ path, status: 400 });
    expect(r.text).toContain(message);
  }
  expect(await fetch(`${agent.base}/v1/catalog/node/lim`).then((x) => x.json())).toBeNull();
  expect(await fetch(`${agent.base}/v1/agent/services`).then((x) => x.json())).toEqual({});
  expect(await fetch(`${agent.base}/v1/agent/checks`).then((x) => x.json())).toEqual({});
  expect(await fetch(`${agent.base}/v1/session/list`).then((x) => x.json())).toEqual([]);
  expect(await fetch(`${agent.base}/v1/config/service-defaults`).then((x) => x.json())).toEqual([]);
  const ok = await send("PUT", "/v1/catalog/register", svc({ ID: long(512), Tags: [long(512)], Meta: { [long(128)]: long(512) } }));
  expect(ok.status).toBe(200);
});

test("per-field limits on txn, intentions, prepared queries, sessions and events: refused with the field and its limit, nothing half-written", async () => {
  const long = (n: number) => "x".repeat(n);
  const set = (key: string) => ({ KV: { Verb: "set", Key: key, Value: "eA==" } });
  const cases: [string, string, string, number, string][] = [
    ["PUT", "/v1/txn", JSON.stringify([set("lim/a"), set(long(16_385))]), 400, "Failed to parse body: KV.Key is too long (16385 characters; limit: 16384 characters)"],
    ["PUT", "/v1/txn", JSON.stringify(Array.from({ length: 129 }, (_, i) => set(`lim/${i}`))), 413, "Transaction contains too many operations (129 > 128)"],
    ["POST", "/v1/connect/intentions", JSON.stringify({ SourceName: long(513), DestinationName: "db", Action: "allow" }), 400, "Failed to decode request body: SourceName is too long (513 characters; limit: 512 characters)"],
    ["PUT", "/v1/connect/intentions/exact?source=web&destination=db", JSON.stringify({ Action: "allow", Description: long(600_000) }), 400, "Request decode failed: Description is too long (600000 characters; limit: 524288 characters)"],
    ["POST", "/v1/query", JSON.stringify({ Name: "lim", Service: { Service: "web", Tags: Array.from({ length: 257 }, (_, i) => `t${i}`) } }), 400, "Service.Tags has too many entries (257; limit: 256)"],
    ["POST", "/v1/query", JSON.stringify({ Name: "lim", Service: { Service: long(513) } }), 400, "Service.Service is too long (513 characters; limit: 512 characters)"],
    ["PUT", "/v1/session/create", JSON.stringify({ Name: "lim", Checks: Array.from({ length: 4097 }, () => "serfHealth") }), 400, "Checks has too many entries (4097; limit: 4096)"],
    ["PUT", "/v1/event/fire/lim", long(100 * 1024), 500, "user event exceeds configured limit of 512 bytes before encoding"],
  ];
  for (const [method, path, body, status, message] of cases) {
    const r = await send(method, path, body);
    expect({ path, status: r.status, text: r.text }).toEqual({ path, status, text: expect.stringContaining(message) });
  }
  expect((await fetch(`${agent.base}/v1/kv/lim/a`)).status).toBe(404);
  expect(await fetch(`${agent.base}/v1/connect/intentions`).then((x) => x.json())).toEqual([]);
  expect(await fetch(`${agent.base}/v1/query`).then((x) => x.json())).toEqual([]);
  expect(await fetch(`${agent.base}/v1/session/list`).then((x) => x.json())).toEqual([]);
  expect(await fetch(`${agent.base}/v1/event/list?name=lim`).then((x) => x.json())).toEqual([]);
  // At the limits everything is accepted.
  expect((await send("PUT", "/v1/txn", JSON.stringify([set(`lim/${long(16_000)}`)]))).status).toBe(200);
  expect((await send("POST", "/v1/connect/intentions", JSON.stringify({ SourceName: long(512), DestinationName: "db", Action: "allow" }))).status).toBe(200);
});

test("malformed JSON to POST /v1/connect/intentions and out-of-range session TTLs answer 400 with Consul's texts", async () => {
  const ixn = await send("POST", "/v1/connect/intentions", '{"SourceName":"a"');
  expect(ixn.status).toBe(400);
  expect(ixn.text).toStartWith("Failed to decode request body:");
  const short = await send("PUT", "/v1/session/create", '{"TTL":"1s"}');
  expect(short).toEqual({ status: 400, text: "Invalid Session TTL '1000000000', must be between [10s=24h0m0s]" });
  const long = await send("PUT", "/v1/session/create", '{"TTL":"100000h"}');
  expect(long).toEqual({ status: 400, text: "Invalid Session TTL '360000000000000000', must be between [10s=24h0m0s]" });
  const bad = await send("PUT", "/v1/session/create", '{"TTL":"5x"}');
  expect(bad.status).toBe(400);
  expect(bad.text).toStartWith("Session TTL '5x' invalid");
});

test("dropped gossip packets are counted by reason in /v1/agent/metrics", async () => {
  const udp = createSocket("udp4");
  for (const junk of [new Uint8Array([1]), new Uint8Array([9, 0, 0, 0, 0]), new Uint8Array(40).fill(7)]) {
    await new Promise<void>((r) => udp.send(junk, agent.serfLanPort, "127.0.0.1", () => r()));
  }
  udp.close();
  await sleep(200);
  const m = (await (await fetch(`${agent.base}/v1/agent/metrics`)).json()) as { Counters: { Name: string; Count: number; Labels: Record<string, string> }[] };
  const dropped = m.Counters.filter((c) => c.Name === "consul.memberlist.dropped" && c.Labels.network === "lan");
  expect(dropped.map((c) => c.Labels.reason).sort()).toContain("malformed");
  expect(dropped.reduce((n, c) => n + c.Count, 0)).toBeGreaterThanOrEqual(3);
  const prom = await (await fetch(`${agent.base}/v1/agent/metrics?format=prometheus`)).text();
  expect(prom).toContain("consul_memberlist_dropped");
});
