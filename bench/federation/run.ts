/**
 * bench/federation: what a cross-datacenter request costs over the same
 * request answered locally, on examples/federation/run.sh's datacenters, in
 * one run:
 *   - added latency (p50, p99) of `GET /v1/kv/k?dc=dc2` at dc1 over
 *     `GET /v1/kv/k` at dc1 (sequential requests, one keep-alive client);
 *   - added latency of `api.service.dc2.consul` asked at dc1's DNS over
 *     `api.service.consul` asked at dc1 (both answered with one instance);
 *   - throughput of cross-DC reads at 32 concurrent clients over local reads.
 * Targets (issue 13): p50 added < 2 ms, cross throughput >= 0.5 of local.
 *
 *   npx bun bench/federation/run.ts [seconds-per-throughput-run (default 5)]
 */
import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import dnsPacket from "dns-packet";

const ROOT = resolve(import.meta.dir, "../..");
const RUN = join(ROOT, "examples/federation/run.sh");
const SECONDS = Number(process.argv[2] ?? 5);
const env = { ...process.env, BASE_DIR: mkdtempSync(join(tmpdir(), "consulate-bench-fed-")), PORT_BASE: String(20_000 + Math.floor(Math.random() * 120) * 100) };
const sh = (...args: string[]) => execFileSync("bash", [RUN, ...args], { env, encoding: "utf8", timeout: 300_000 });

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const fmt = (ms: number) => `${ms.toFixed(3)} ms`;

async function latencies(n: number, once: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < Math.min(200, n); i++) await once(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await once();
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

async function throughput(clients: number, seconds: number, once: () => Promise<void>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        await once();
        done++;
      }
    }),
  );
  return done / seconds;
}

function dnsClient(port: number) {
  const sock = createSocket("udp4");
  const waiting = new Map<number, () => void>();
  let id = 1;
  sock.on("message", (msg: Buffer) => {
    const rid = msg.readUInt16BE(0);
    const answers = dnsPacket.decode(msg).answers ?? [];
    if (answers.length === 0) throw new Error("DNS answer without records");
    waiting.get(rid)?.();
    waiting.delete(rid);
  });
  return {
    ask(name: string): Promise<void> {
      const qid = (id = (id % 65_000) + 1);
      const q = dnsPacket.encode({ type: "query", id: qid, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "SRV", name }] });
      return new Promise((res) => {
        waiting.set(qid, res);
        sock.send(q, port, "127.0.0.1");
      });
    },
    close: () => sock.close(),
  };
}

let out = "";
try {
  out = sh("up");
  const addr: Record<string, { http: string; dns: number }> = {};
  for (const m of out.matchAll(/^DC=(dc\d) HTTP=([\d.:]+) DNS=[\d.]+:(\d+)$/gm)) addr[m[1]!] = { http: m[2]!, dns: Number(m[3]) };
  const h1 = addr.dc1!.http;
  const put = (host: string, path: string, body: string) => fetch(`http://${host}${path}`, { method: "PUT", body });
  await put(h1, "/v1/kv/k", "v");
  await put(h1, "/v1/kv/k?dc=dc2", "v");
  await put(h1, "/v1/agent/service/register", JSON.stringify({ Name: "api", Port: 1 }));
  await put(addr.dc2!.http, "/v1/agent/service/register", JSON.stringify({ Name: "api", Port: 2 }));
  await Bun.sleep(1500);
  const get = (path: string) => async () => {
    const r = await fetch(`http://${h1}${path}`);
    if (r.status !== 200) throw new Error(`${path}: ${r.status}`);
    await r.arrayBuffer();
  };
  const N = 3000;
  const httpLocal = await latencies(N, get("/v1/kv/k"));
  const httpCross = await latencies(N, get("/v1/kv/k?dc=dc2"));
  const dns = dnsClient(addr.dc1!.dns);
  const dnsLocal = await latencies(N, () => dns.ask("api.service.consul"));
  const dnsCross = await latencies(N, () => dns.ask("api.service.dc2.consul"));
  dns.close();
  const tLocal = await throughput(32, SECONDS, get("/v1/kv/k"));
  const tCross = await throughput(32, SECONDS, get("/v1/kv/k?dc=dc2"));

  const row = (what: string, local: number[], cross: number[]) =>
    `${what.padEnd(34)} local p50 ${fmt(pct(local, 50))} p99 ${fmt(pct(local, 99))} | cross p50 ${fmt(pct(cross, 50))} p99 ${fmt(pct(cross, 99))} | added p50 ${fmt(pct(cross, 50) - pct(local, 50))} p99 ${fmt(pct(cross, 99) - pct(local, 99))}`;
  console.log(`bench/federation (runtime ${typeof Bun !== "undefined" ? `bun ${Bun.version}` : "?"}, ${N} sequential requests each, one client)`);
  console.log(row("HTTP GET /v1/kv/k vs ?dc=dc2", httpLocal, httpCross));
  console.log(row("DNS api.service[.dc2].consul SRV", dnsLocal, dnsCross));
  console.log(`throughput at c=32, ${SECONDS} s each: local ${tLocal.toFixed(0)} req/s, cross ${tCross.toFixed(0)} req/s, ratio ${(tCross / tLocal).toFixed(2)} (target >= 0.5)`);
  const addedP50 = Math.max(pct(httpCross, 50) - pct(httpLocal, 50), pct(dnsCross, 50) - pct(dnsLocal, 50));
  console.log(`targets: p50 added < 2 ms: ${addedP50 < 2 ? "met" : "NOT met"} (${fmt(addedP50)} worst); throughput ratio >= 0.5: ${tCross / tLocal >= 0.5 ? "met" : "NOT met"}`);
} finally {
  try {
    sh("down");
  } catch {
    // Already down.
  }
  rmSync(env.BASE_DIR, { recursive: true, force: true });
}
