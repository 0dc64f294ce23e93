/**
 * allow_stale / max_stale on a server in a NATS cluster, as Consul's DNS does
 * them: a server cut off from NATS answers DNS from its own (stale) state
 * while its last contact is within max_stale, then SERVFAIL (the read asked
 * again without stale cannot reach the cluster), and answers fresh again
 * once it is back. Server s2 reaches NATS only through relays the test cuts.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { startNatsCluster, type NatsCluster } from "../_nats.ts";
import { startTcpProxy, type TcpProxy } from "../_tcp_proxy.ts";
import { eventually, http, startServerCluster, type ServerClusterHandle } from "./_cluster.ts";

let nats: NatsCluster;
let proxies: TcpProxy[] = [];
let cluster: ServerClusterHandle;

const MAX_STALE_MS = 1500;

beforeAll(async () => {
  nats = await startNatsCluster({ noAdvertise: true });
  proxies = await Promise.all(nats.nodes.map((n) => startTcpProxy(n.port)));
  cluster = await startServerCluster(nats, {
    natsUrls: (i) => (i === 2 ? proxies.map((p) => `nats://127.0.0.1:${p.port}`) : nats.urls),
    config: { nats: { lease_ttl: "2s" }, dns_config: { max_stale: `${MAX_STALE_MS}ms` } },
  });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  for (const p of proxies) await p.close();
  await nats?.stop();
});

async function dig(i: number, name: string): Promise<{ status: string; answers: string[] }> {
  const child = spawn("dig", ["@127.0.0.1", "-p", String(cluster.servers[i]!.dnsPort), name, "A", "+time=3", "+tries=1"]);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise<void>((r) => child.once("close", () => r()));
  const status = /status: (\w+)/.exec(out)?.[1] ?? "no answer";
  const answers = [...out.matchAll(/^\S+\s+\d+\s+IN\s+A\s+(\S+)$/gm)].map((m) => m[1]!).sort();
  return { status, answers };
}

async function register(i: number, node: string, address: string): Promise<void> {
  const res = await http(`${cluster.servers[i]!.base}/v1/catalog/register`, {
    method: "PUT",
    body: JSON.stringify({ Node: node, Address: address, Service: { Service: "web", Port: 80 } }),
  });
  expect(res.status).toBe(200);
}

test("cut off: stale answers within max_stale, SERVFAIL past it, fresh answers after the heal", async () => {
  await register(0, "web-a", "10.5.0.1");
  await eventually("s2 to answer for web-a", async () => (await dig(2, "web.service.consul")).answers.join() === "10.5.0.1");
  for (const p of proxies) p.cut();
  const cutAt = Date.now();
  try {
    // The rest of the cluster goes on without s2.
    await register(0, "web-b", "10.5.0.2");
    expect((await dig(0, "web.service.consul")).answers).toEqual(["10.5.0.1", "10.5.0.2"]);
    const stale = await dig(2, "web.service.consul");
    const staleAfter = Date.now() - cutAt;
    console.log(`dns on the cut-off server: asked ${staleAfter} ms after the cut -> ${stale.status} ${stale.answers.join(",")}`);
    if (staleAfter < MAX_STALE_MS - 300) {
      // Within max_stale of its last contact: s2's own state, which has not seen web-b.
      expect(stale).toEqual({ status: "NOERROR", answers: ["10.5.0.1"] });
    }
    const refused = await eventually("s2 to refuse once its state is older than max_stale", async () => {
      const r = await dig(2, "web.service.consul");
      return r.status === "SERVFAIL" ? r : null;
    });
    expect(refused.answers).toEqual([]);
    expect(Date.now() - cutAt).toBeGreaterThanOrEqual(MAX_STALE_MS - 500);
  } finally {
    for (const p of proxies) p.heal();
  }
  await eventually("s2 to answer fresh again", async () => (await dig(2, "web.service.consul")).answers.join() === "10.5.0.1,10.5.0.2", 20_000);
}, 60_000);
