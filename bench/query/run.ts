/**
 * Prepared-query benchmark: the rate of `GET /v1/query/web/execute` against
 * `GET /v1/health/service/web?passing`, and of `web.query.consul` against
 * `web.service.consul` over UDP DNS, in one run on one dev agent (the agent
 * on CPU0, this driver on CPU1; rounds interleaved, medians reported, target
 * ratio >= 0.8). Then, unless FEDERATION=0, the latency a failover adds per
 * datacenter skipped, over three federated datacenters
 * (examples/federation/run.sh). Start it through bench/query/run.sh.
 */
import { consulateArgv, runtimeBanner, sutRuntime } from "../_runtime.ts";
import { execFileSync } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dnsPacket from "dns-packet";
import { allEnv, env, exit, writeStderr, writeStdout } from "../../src/runtime/process.ts";
import { cpuSeconds, sleep, startPinned, stopAll, waitReady } from "../kv/procs.ts";

const SECONDS = Number(env("QUERY_BENCH_SECONDS") ?? "4");
const ROUNDS = Number(env("QUERY_BENCH_ROUNDS") ?? "3");
const HTTP_CONC = Number(env("QUERY_BENCH_HTTP_CONC") ?? "16");
const DNS_WINDOW = Number(env("QUERY_BENCH_DNS_WINDOW") ?? "64");
const RUNTIME = sutRuntime();
const TMP = env("QUERY_BENCH_TMP") ?? mkdtempSync(join(tmpdir(), "consulate-bench-query-"));
const HOST = "127.0.0.1";
const PORT_BASE = Number(env("QUERY_BENCH_PORT_BASE") ?? "28700");
const PORTS = { http: PORT_BASE, dns: PORT_BASE + 1, server: PORT_BASE + 2, lan: PORT_BASE + 3, wan: PORT_BASE + 4 };
const out = (s = ""): void => writeStdout(s + "\n");
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function put(path: string, body: unknown, method = "PUT"): Promise<unknown> {
  const res = await fetch(`http://${HOST}:${PORTS.http}${path}`, { method, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return await res.json();
}

/** Closed loop: HTTP_CONC requests in flight for SECONDS; requests per second and mean latency. */
async function httpRate(path: string): Promise<number> {
  const url = `http://${HOST}:${PORTS.http}${path}`;
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: HTTP_CONC }, async () => {
      while (performance.now() < end) {
        const res = await fetch(url);
        if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`);
        await res.arrayBuffer();
        done++;
      }
    }),
  );
  return done / SECONDS;
}

/** DNS_WINDOW UDP questions outstanding for SECONDS; answers per second (a lost one is re-sent after 1 s). */
async function dnsRate(name: string): Promise<number> {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, HOST, () => r()));
  const packets = Array.from({ length: 65536 }, (_, id) => dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name }] }));
  const sentAt = new Float64Array(65536);
  let next = 0;
  let answered = 0;
  let bad = 0;
  const end = performance.now() + SECONDS * 1000;
  const send = () => {
    const id = next++ & 0xffff;
    sentAt[id] = performance.now();
    sock.send(packets[id]!, PORTS.dns, HOST);
  };
  const finished = new Promise<void>((resolve) => {
    sock.on("message", (msg: Buffer) => {
      const rcode = msg[3]! & 0x0f;
      const ancount = (msg[6]! << 8) | msg[7]!;
      if (rcode !== 0 || ancount === 0) bad++;
      answered++;
      if (performance.now() < end) send();
      else resolve();
    });
  });
  for (let i = 0; i < DNS_WINDOW; i++) send();
  const resend = setInterval(() => {
    const now = performance.now();
    if (now > end) return;
    // Keep the window full if answers were lost.
    let late = 0;
    for (let i = 0; i < 65536; i++) if (sentAt[i]! > 0 && now - sentAt[i]! > 1000) late++;
    if (late > DNS_WINDOW / 2) for (let i = 0; i < DNS_WINDOW; i++) send();
  }, 1000);
  await Promise.race([finished, sleep(SECONDS * 1000 + 2000)]);
  clearInterval(resend);
  sock.close();
  if (bad > 0) throw new Error(`${name}: ${bad} answers without records`);
  return answered / SECONDS;
}

async function compare(label: string, plain: () => Promise<number>, query: () => Promise<number>, pid: number): Promise<void> {
  const p: number[] = [];
  const q: number[] = [];
  const cpuP: number[] = [];
  const cpuQ: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const [fn, rates, cpus] of [[plain, p, cpuP], [query, q, cpuQ]] as const) {
      const c0 = cpuSeconds(pid);
      const rate = await fn();
      rates.push(rate);
      cpus.push(((cpuSeconds(pid) - c0) / (rate * SECONDS)) * 1e6);
    }
  }
  const ratio = median(q) / median(p);
  out(`${label}: plain ${median(p).toFixed(0)}/s (${median(cpuP).toFixed(1)} µs CPU/op), query ${median(q).toFixed(0)}/s (${median(cpuQ).toFixed(1)} µs CPU/op), ratio ${ratio.toFixed(2)} ${ratio >= 0.8 ? "(target >= 0.8 met)" : "(target >= 0.8 NOT met)"}`);
  out(`  rounds: plain ${p.map((x) => x.toFixed(0)).join(", ")}; query ${q.map((x) => x.toFixed(0)).join(", ")}`);
}

async function rates(): Promise<void> {
  const agent = startPinned(TMP, "agent", 0, [
    ...consulateArgv(RUNTIME),
    "agent",
    "-dev",
    "-node",
    "bench",
    "-log-level",
    "warn",
    "-http-port",
    String(PORTS.http),
    "-dns-port",
    String(PORTS.dns),
    "-server-port",
    String(PORTS.server),
    "-serf-lan-port",
    String(PORTS.lan),
    "-serf-wan-port",
    String(PORTS.wan),
  ]);
  await waitReady(agent, async () => (await fetch(`http://${HOST}:${PORTS.http}/v1/status/leader`)).status === 200, 30_000);
  for (let i = 1; i <= 3; i++) {
    await put("/v1/catalog/register", { Node: `web${i}`, Address: `10.0.0.${i}`, Service: { ID: "web", Service: "web", Port: 80 }, Check: { CheckID: "web", Name: "web", Status: "passing", ServiceID: "web" } });
  }
  await put("/v1/query", { Name: "web", Service: { Service: "web", OnlyPassing: true } }, "POST");
  out(runtimeBanner(RUNTIME));
  out(`agent pid ${agent.pid} on CPU0 (${RUNTIME}), driver on CPU1; ${ROUNDS} interleaved rounds of ${SECONDS} s; shared machine: read ratios, not absolutes`);
  await compare(`HTTP (${HTTP_CONC} in flight)`, () => httpRate("/v1/health/service/web?passing"), () => httpRate("/v1/query/web/execute"), agent.pid);
  await compare(`DNS UDP A (${DNS_WINDOW} outstanding)`, () => dnsRate("web.service.consul"), () => dnsRate("web.query.consul"), agent.pid);
  await stopAll();
}

/** Sequential executes against dc1 of a three-datacenter federation: p50 per query. */
async function failoverLatency(): Promise<void> {
  const script = "examples/federation/run.sh";
  const fedEnv = { ...allEnv(), BASE_DIR: join(TMP, "federation"), PORT_BASE: String(PORT_BASE + 100) };
  const sh = (...a: string[]) => execFileSync("bash", [script, ...a], { env: fedEnv, encoding: "utf8", timeout: 300_000 });
  try {
    const up = sh("up");
    const http = new Map([...up.matchAll(/DC=(dc\d) HTTP=(\S+)/g)].map((m) => [m[1]!, m[2]!]));
    const req = async (dc: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(`http://${http.get(dc)}${path}`, { method, ...(body ? { body: JSON.stringify(body) } : {}) });
      if (res.status !== 200) throw new Error(`${method} ${path} in ${dc}: ${res.status} ${await res.text()}`);
      return res;
    };
    await req("dc1", "PUT", "/v1/catalog/register", { Node: "l1", Address: "10.1.0.1", Service: { Service: "api", Port: 80 } });
    await req("dc3", "PUT", "/v1/catalog/register", { Node: "r1", Address: "10.3.0.1", Service: { Service: "api-remote", Port: 80 } });
    await req("dc1", "POST", "/v1/query", { Name: "local", Service: { Service: "api" } });
    await req("dc1", "POST", "/v1/query", { Name: "one", Service: { Service: "api-remote", Failover: { Datacenters: ["dc3"] } } });
    await req("dc1", "POST", "/v1/query", { Name: "two", Service: { Service: "api-remote", Failover: { Datacenters: ["dc2", "dc3"] } } });
    const p50 = async (name: string, want: number): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < 300; i++) {
        const t0 = performance.now();
        const r = (await (await req("dc1", "GET", `/v1/query/${name}/execute`)).json()) as { Failovers: number; Nodes: unknown[] };
        times.push(performance.now() - t0);
        if (r.Failovers !== want || r.Nodes.length !== 1) throw new Error(`${name}: Failovers ${r.Failovers}, ${r.Nodes.length} nodes`);
      }
      return median(times.slice(50));
    };
    const [local, one, two] = [await p50("local", 0), await p50("one", 1), await p50("two", 2)];
    out(`failover latency (dc1 of 3 federated DCs on loopback, c=1, p50 of 250): local ${local.toFixed(2)} ms; one failover ${one.toFixed(2)} ms (+${(one - local).toFixed(2)}); one datacenter skipped before it ${two.toFixed(2)} ms (+${(two - one).toFixed(2)} ms per datacenter skipped)`);
  } finally {
    try {
      sh("down");
    } catch {
      // already down
    }
  }
}

try {
  await rates();
  if ((env("FEDERATION") ?? "1") !== "0") await failoverLatency();
} catch (err) {
  writeStderr(`bench/query: ${(err as Error).stack ?? String(err)}\n`);
  await stopAll();
  exit(1);
}
await stopAll();
exit(0);
