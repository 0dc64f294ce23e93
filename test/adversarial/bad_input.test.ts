/**
 * The smaller findings of the hardening issue that an HTTP client can reach:
 * invalid UTF-8 stored as U+FFFD, a 5 MB string overflowing the stack,
 * malformed intention bodies and out-of-range session TTLs answering 500.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { probeHttp, sleep, startTarget, type Target } from "./_agent.ts";

let agent: Target;
beforeAll(async () => {
  agent = await startTarget();
});
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

test("a 6 MB string field is decoded without overflowing the stack", async () => {
  const r = await send("PUT", "/v1/catalog/register", `{"Node":"big","Address":"${"x".repeat(6_000_000)}"}`);
  expect(r.text).not.toContain("call stack");
  expect(r.status).toBeLessThan(500);
  expect((await probeHttp(agent.base)).ok).toBe(true);
});

test("malformed JSON to POST /v1/connect/intentions and out-of-range session TTLs answer 400 with Consul's texts", async () => {
  const ixn = await send("POST", "/v1/connect/intentions", '{"SourceName":"a"');
  expect(ixn.status).toBe(400);
  expect(ixn.text).toStartWith("Failed to decode request body:");
  const short = await send("PUT", "/v1/session/create", '{"TTL":"1s"}');
  expect(short).toEqual({ status: 400, text: "Invalid Session TTL '1000000000', must be between [10s=24h0m0s]" });
  const long = await send("PUT", "/v1/session/create", '{"TTL":"100000h"}');
  expect(long.status).toBe(400);
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
