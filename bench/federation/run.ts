/**
 * bench/federation: what a cross-datacenter request costs over the same
 * request answered locally, on examples/federation/run.sh's datacenters, in
 * one run:
 *   - added latency (p50, p99) of `GET /v1/kv/k?dc=dc2` at dc1 over
 *     `GET /v1/kv/k` at dc1 (sequential requests, one keep-alive client);
 *   - added latency of `api.service.dc2.consul` asked at dc1's DNS over
 *     `api.service.consul` asked at dc1 (both answered with one instance);
 *   - throughput of cross-DC reads at 32 concurrent clients over local reads,
 *     in ROUNDS alternating pairs (local, then cross), each pair's ratio
 *     printed, with the CPU time each process of the three datacenters (and
 *     this client) spent per request (from /proc): on a shared machine the
 *     rates swing with everyone else's load, the CPU per request much less.
 * Targets (issue 13): p50 added < 2 ms, cross throughput >= 0.5 of local.
 *
 *   npx bun bench/federation/run.ts [seconds-per-throughput-run (default 5)] [rounds (default 3)]
 */
import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import dnsPacket from "dns-packet";
import { cpuSeconds } from "../kv/procs.ts";

const ROOT = resolve(import.meta.dir, "../..");
const RUN = join(ROOT, "examples/federation/run.sh");
const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.argv[3] ?? 3);
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

/** The processes whose CPU time is counted: this client, and each datacenter's server and NATS node. */
function processes(baseDir: string): Record<string, number> {
  const out: Record<string, number> = { client: process.pid };
  for (const dc of ["dc1", "dc2", "dc3"]) {
    for (const what of ["server", "nats"]) {
      const pid = Number(readFileSync(join(baseDir, dc, `${what}.pid`), "utf8"));
      if (Number.isSafeInteger(pid)) out[`${dc} ${what}`] = pid;
    }
  }
  return out;
}

interface Throughput {
  readonly perSecond: number;
  /** CPU µs per request by process, and their sum. */
  readonly cpu: Record<string, number>;
  readonly cpuTotal: number;
}

async function throughput(clients: number, seconds: number, pids: Record<string, number>, once: () => Promise<void>): Promise<Throughput> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const start = performance.now();
  const end = start + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) {
        await once();
        done++;
      }
    }),
  );
  const wall = (performance.now() - start) / 1000;
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, ((cpuSeconds(pid) - before[k]!) / done) * 1e6]));
  return { perSecond: done / wall, cpu, cpuTotal: Object.values(cpu).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0) };
}

const loadAverage = () => {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ")[0]!;
  } catch {
    return "?";
  }
};

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
  const pids = processes(env.BASE_DIR);
  const rounds: { local: Throughput; cross: Throughput; load: string }[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const load = loadAverage();
    rounds.push({ load, local: await throughput(32, SECONDS, pids, get("/v1/kv/k")), cross: await throughput(32, SECONDS, pids, get("/v1/kv/k?dc=dc2")) });
  }

  const row = (what: string, local: number[], cross: number[]) =>
    `${what.padEnd(34)} local p50 ${fmt(pct(local, 50))} p99 ${fmt(pct(local, 99))} | cross p50 ${fmt(pct(cross, 50))} p99 ${fmt(pct(cross, 99))} | added p50 ${fmt(pct(cross, 50) - pct(local, 50))} p99 ${fmt(pct(cross, 99) - pct(local, 99))}`;
  console.log(`bench/federation (runtime ${typeof Bun !== "undefined" ? `bun ${Bun.version}` : "?"}, ${N} sequential requests each, one client)`);
  console.log(row("HTTP GET /v1/kv/k vs ?dc=dc2", httpLocal, httpCross));
  console.log(row("DNS api.service[.dc2].consul SRV", dnsLocal, dnsCross));
  const cpuLine = (t: Throughput) =>
    `${t.cpuTotal.toFixed(0)} µs (${Object.entries(t.cpu)
      .filter(([, v]) => v >= 5)
      .map(([k, v]) => `${k} ${v.toFixed(0)}`)
      .join(", ")})`;
  console.log(`throughput at c=32, ${SECONDS} s each, ${ROUNDS} rounds of local then cross (load average at each round's start):`);
  for (const [n, r] of rounds.entries()) {
    console.log(`  round ${n + 1} (load ${r.load}): local ${r.local.perSecond.toFixed(0)} req/s, cross ${r.cross.perSecond.toFixed(0)} req/s, ratio ${(r.cross.perSecond / r.local.perSecond).toFixed(2)}`);
    console.log(`    CPU per request: local ${cpuLine(r.local)}`);
    console.log(`                     cross ${cpuLine(r.cross)}`);
  }
  const ratios = rounds.map((r) => r.cross.perSecond / r.local.perSecond).sort((a, b) => a - b);
  const ratio = ratios[Math.floor(ratios.length / 2)]!;
  const cpuRatio = rounds.reduce((a, r) => a + r.local.cpuTotal, 0) / rounds.reduce((a, r) => a + r.cross.cpuTotal, 0);
  console.log(`throughput ratio cross/local: median ${ratio.toFixed(2)} (min ${ratios[0]!.toFixed(2)}, max ${ratios.at(-1)!.toFixed(2)}); CPU per request (all processes) local/cross ${cpuRatio.toFixed(2)}`);
  const addedP50 = Math.max(pct(httpCross, 50) - pct(httpLocal, 50), pct(dnsCross, 50) - pct(dnsLocal, 50));
  console.log(`targets: p50 added < 2 ms: ${addedP50 < 2 ? "met" : "NOT met"} (${fmt(addedP50)} worst); throughput ratio >= 0.5: ${ratio >= 0.5 ? "met" : "NOT met"} (median of ${ROUNDS})`);
} finally {
  try {
    sh("down");
  } catch {
    // Already down.
  }
  rmSync(env.BASE_DIR, { recursive: true, force: true });
}
