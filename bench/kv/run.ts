/**
 * KV benchmark: Consulate's /v1/kv GET and PUT against a bare floor on the same runtime
 * and a one-member etcd, then blocking-query fan-out against the floor, all in
 * one run (BENCHMARKS.md recipes (b) and (d)). Servers on CPU0, load on CPU1.
 * Start it through bench/kv/run.sh, which raises the fd limit and kills every
 * process left behind even if this runner dies.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { args, env, writeStderr, writeStdout } from "../../src/runtime/process.ts";
import type { FanoutResult } from "./fanout.ts";
import { type Child, cpuSeconds, portInUse, runBench, runPinned, sleep, startPinned, stop, waitReady } from "./procs.ts";
import { fmt, fmtInt, type Goal, median, table, verdict } from "./report.ts";
import { type Request, wrk, type WrkResult } from "./wrk.ts";
import { consulateArgv, ROOT, runtimeBanner, scriptArgv, sutRuntime } from "../_runtime.ts";
import { generateCa, generateCert } from "../../src/tls/mod.ts";

// Five short rounds rather than three long ones: others share this VM in bursts, and a median of five shrugs off two bad rounds.
const SECONDS = Number(args()[0] ?? env("KV_BENCH_SECONDS") ?? "4");
const REPS = Number(env("KV_BENCH_REPS") ?? "5");
const FANOUT_REPS = Number(env("KV_BENCH_FANOUT_REPS") ?? "3");
const FANOUT_NS = (env("KV_BENCH_FANOUT") ?? "1000,5000,10000").split(",").filter((s) => s !== "").map(Number);
const BUN = env("KV_BENCH_BUN") ?? "node_modules/.bin/bun";
/** The runtime of the agents and of the bare floor (RUNTIME=node|bun|deno). */
const RUNTIME = sutRuntime();
const ETCD = env("KV_BENCH_ETCD") ?? "/usr/bin/etcd";
const TMP = env("KV_BENCH_TMP") ?? mkdtempSync(join(tmpdir(), "consulate-bench-kv-"));
const HOST = "127.0.0.1";
// The -dev agent also serves HTTPS (devHttps) and is the server of two client agents: one on plain RPC, one on TLS RPC.
const PORTS = { bare: 28600, bareHttps: 28601, durable: 28500, dev: 28510, devHttps: 28511, clientPlain: 28520, clientTls: 28530, etcd: 23790, etcdPeer: 23800 } as const;

/** Servers stopped on purpose before the end, so the health check does not report them as crashed. */
const retired = new Set<Child>();

const out = (s = ""): void => writeStdout(s + "\n");

class BenchError extends Error {
  override readonly name = "BenchError";
}

interface Target {
  readonly label: string;
  readonly port: number;
  readonly scheme?: "https";
  child: Child | null;
}

type TargetKey = "bare" | "bareHttps" | "durable" | "dev" | "devHttps" | "clientPlain" | "clientTls" | "etcd";

const targets: Record<TargetKey, Target> = {
  bare: { label: `bare ${({ node: "node:http", bun: "Bun.serve", deno: "Deno.serve" } as const)[RUNTIME]}`, port: PORTS.bare, child: null },
  bareHttps: { label: `bare ${({ node: "node:https", bun: "Bun.serve tls", deno: "Deno.serve tls" } as const)[RUNTIME]}`, port: PORTS.bareHttps, scheme: "https", child: null },
  durable: { label: "consulate (durable)", port: PORTS.durable, child: null },
  dev: { label: "consulate -dev", port: PORTS.dev, child: null },
  devHttps: { label: "consulate -dev (HTTPS)", port: PORTS.devHttps, scheme: "https", child: null },
  clientPlain: { label: "client agent (plain RPC)", port: PORTS.clientPlain, child: null },
  clientTls: { label: "client agent (TLS RPC)", port: PORTS.clientTls, child: null },
  etcd: { label: "etcd 1-member", port: PORTS.etcd, child: null },
};

async function send(port: number, method: string, path: string, body?: string): Promise<{ status: number; text: string; index: string | null }> {
  const res = await fetch(`http://${HOST}:${port}${path}`, { method, body });
  return { status: res.status, text: await res.text(), index: res.headers.get("x-consul-index") };
}

/** One HTTPS request with the bench's CA (curl, so the runner needs no TLS client of its own). */
function sendHttps(port: number, path: string): { status: number; text: string; index: string | null } {
  const raw = execFileSync("curl", ["-s", "-i", "--max-time", "10", "--cacert", join(TMP, "tls", "ca.pem"), `https://${HOST}:${port}${path}`]).toString();
  const [head = "", ...rest] = raw.split("\r\n\r\n");
  const status = Number(/^HTTP\/[\d.]+ (\d+)/.exec(head)?.[1] ?? 0);
  return { status, text: rest.join("\r\n\r\n"), index: /^x-consul-index: *(\S+)/im.exec(head)?.[1] ?? null };
}

/**
 * The agent CA, a server certificate (server.dc1.consul, 127.0.0.1) for the -dev agent and a
 * client certificate for the TLS client agent; the config files that use them.
 */
async function writeTlsFiles(): Promise<void> {
  const dir = join(TMP, "tls");
  mkdirSync(dir, { recursive: true });
  const ca = await generateCa({ days: 2 });
  const sign = (name: string) =>
    generateCert({ caPem: ca.certPem, caKeyPem: ca.keyPem, name, days: 2, dnsNames: [name, "localhost"], ipAddresses: ["127.0.0.1"], extKeyUsage: ["serverAuth", "clientAuth"] });
  const server = await sign("server.dc1.consul");
  const client = await sign("client.dc1.consul");
  const f = (n: string) => join(dir, n);
  for (const [n, v] of [["ca.pem", ca.certPem], ["server.pem", server.certPem], ["server-key.pem", server.keyPem], ["client.pem", client.certPem], ["client-key.pem", client.keyPem]] as const) writeFileSync(f(n), v);
  // No verify_incoming on the server: the plain client agent and the TLS one reach the same server.
  writeFileSync(f("dev.json"), JSON.stringify({ tls: { defaults: { ca_file: f("ca.pem"), cert_file: f("server.pem"), key_file: f("server-key.pem") } }, ports: { https: PORTS.devHttps } }));
  writeFileSync(f("client-tls.json"), JSON.stringify({
    tls: { defaults: { ca_file: f("ca.pem"), cert_file: f("client.pem"), key_file: f("client-key.pem"), verify_outgoing: true }, internal_rpc: { verify_server_hostname: true } },
  }));
}

function agentArgv(kind: "durable" | "dev" | "clientPlain" | "clientTls", port: number): string[] {
  // Distinct ports for every listener, all below the ephemeral range (32768+) where
  // the fan-out's client sockets (and their TIME_WAITs) would make bind() fail.
  const base = port - PORTS.durable;
  const common = ["-http-port", String(port), "-client", HOST, "-bind", HOST, "-dns-port", String(28700 + base), "-server-port", String(28300 + base), "-serf-lan-port", String(28301 + base), "-serf-wan-port", String(28302 + base), "-log-level", "warn"];
  const devSerf = 28301 + PORTS.dev - PORTS.durable;
  const mode = {
    durable: ["-server", "-bootstrap", "-data-dir", join(TMP, "consulate-data")],
    dev: ["-dev", "-config-file", join(TMP, "tls", "dev.json")],
    clientPlain: ["-data-dir", join(TMP, "client-plain-data"), "-retry-join", `${HOST}:${devSerf}`, "-retry-interval", "1s"],
    clientTls: ["-data-dir", join(TMP, "client-tls-data"), "-retry-join", `${HOST}:${devSerf}`, "-retry-interval", "1s", "-config-file", join(TMP, "tls", "client-tls.json")],
  }[kind];
  // The fan-out parks thousands of watchers from one address: lift the per-client cap (200 by default, as Consul's).
  const limits = join(TMP, "limits.json");
  writeFileSync(limits, JSON.stringify({ limits: { http_max_conns_per_client: 0 } }));
  return [...consulateArgv(RUNTIME), "agent", ...mode, "-node", `bench-${kind}`, ...common, "-config-file", limits];
}

async function startTarget(key: TargetKey): Promise<void> {
  const t: Target = targets[key];
  // The -dev agent binds its HTTPS port too, so that one is checked before it starts.
  const ports = key === "dev" ? [t.port, PORTS.devHttps] : key === "devHttps" ? [] : [t.port];
  for (const port of ports) if (await portInUse(port)) throw new BenchError(`${t.label}: port ${port} is already in use; stop whatever listens there`);
  if (key === "bare") {
    t.child = startPinned(TMP, "bare", 0, [...scriptArgv(RUNTIME, `${ROOT}/bench/kv/bare_server.mjs`), String(t.port)]);
    await waitReady(t.child, async () => (await send(t.port, "PUT", "/v1/kv/foo", "bar")).status === 200, 15_000);
  } else if (key === "bareHttps") {
    await writeTlsFiles();
    t.child = startPinned(TMP, "bare-https", 0, [...scriptArgv(RUNTIME, `${ROOT}/bench/kv/bare_server.mjs`), String(t.port), join(TMP, "tls", "server.pem"), join(TMP, "tls", "server-key.pem")]);
    // Its store starts empty: the GET case reads a key written here.
    await waitReady(t.child, async () => execFileSync("curl", ["-s", "-X", "PUT", "-d", "bar", "--cacert", join(TMP, "tls", "ca.pem"), `https://${HOST}:${t.port}/v1/kv/foo`]).toString() === "true", 15_000);
  } else if (key === "etcd") {
    const peer = `http://${HOST}:${PORTS.etcdPeer}`;
    const client = `http://${HOST}:${t.port}`;
    t.child = startPinned(TMP, "etcd", 0, [
      ETCD, "--name", "bench", "--data-dir", join(TMP, "etcd-data"),
      "--listen-client-urls", client, "--advertise-client-urls", client,
      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
      "--initial-cluster", `bench=${peer}`, "--logger", "zap", "--log-level", "warn",
    ]);
    await waitReady(t.child, async () => (await send(t.port, "POST", "/v3/kv/put", ETCD_PUT_BODY)).status === 200, 20_000);
  } else if (key === "devHttps") {
    // Served by the -dev agent's HTTPS listener.
    t.child = targets.dev.child;
    await waitReady(t.child!, async () => sendHttps(t.port, "/v1/kv/foo").status === 200, 15_000);
  } else {
    if (key === "durable") mkdirSync(join(TMP, "consulate-data"), { recursive: true });
    t.child = startPinned(TMP, `agent-${key}`, 0, agentArgv(key, t.port));
    await waitReady(t.child, async () => {
      const leader = await send(t.port, "GET", "/v1/status/leader");
      return leader.status === 200 && leader.text.length > 2 && (await send(t.port, "PUT", "/v1/kv/foo", "bar")).text.trim() === "true";
    }, 30_000);
  }
}

const ETCD_PUT_BODY = '{"key":"Zm9v","value":"YmFy"}';
const json = "application/json";

interface Case {
  readonly name: string;
  readonly target: TargetKey;
  readonly req: Request;
  readonly connections: number;
}

const CASES: readonly Case[] = [
  { name: "bare GET", target: "bare", req: { method: "GET", path: "/v1/kv/foo" }, connections: 32 },
  { name: "bare GET HTTPS", target: "bareHttps", req: { method: "GET", path: "/v1/kv/foo" }, connections: 32 },
  { name: "ours GET (durable)", target: "durable", req: { method: "GET", path: "/v1/kv/foo" }, connections: 32 },
  { name: "ours GET (-dev)", target: "dev", req: { method: "GET", path: "/v1/kv/foo" }, connections: 32 },
  { name: "ours GET (-dev) HTTPS", target: "devHttps", req: { method: "GET", path: "/v1/kv/foo" }, connections: 32 },
  { name: "client GET, plain RPC", target: "clientPlain", req: { method: "GET", path: "/v1/kv/foo" }, connections: 32 },
  { name: "client GET, TLS RPC", target: "clientTls", req: { method: "GET", path: "/v1/kv/foo" }, connections: 32 },
  { name: "etcd range (linearizable)", target: "etcd", req: { method: "POST", path: "/v3/kv/range", body: '{"key":"Zm9v"}', contentType: json }, connections: 32 },
  { name: "bare PUT", target: "bare", req: { method: "PUT", path: "/v1/kv/foo", body: "bar" }, connections: 32 },
  { name: "ours PUT (durable)", target: "durable", req: { method: "PUT", path: "/v1/kv/foo", body: "bar" }, connections: 32 },
  { name: "ours PUT (-dev)", target: "dev", req: { method: "PUT", path: "/v1/kv/foo", body: "bar" }, connections: 32 },
  { name: "etcd put", target: "etcd", req: { method: "POST", path: "/v3/kv/put", body: ETCD_PUT_BODY, contentType: json }, connections: 32 },
  { name: "ours PUT (durable) c=1", target: "durable", req: { method: "PUT", path: "/v1/kv/foo", body: "bar" }, connections: 1 },
  { name: "etcd put c=1", target: "etcd", req: { method: "POST", path: "/v3/kv/put", body: ETCD_PUT_BODY, contentType: json }, connections: 1 },
];

function pidOf(key: TargetKey): number {
  const c = targets[key].child;
  if (!c) throw new BenchError(`${targets[key].label} is not running`);
  return c.pid;
}

async function runCase(c: Case, seconds: number): Promise<WrkResult> {
  const t = targets[c.target];
  return wrk(TMP, `${t.scheme ?? "http"}://${HOST}:${t.port}`, c.req, { seconds, connections: c.connections, serverPid: pidOf(c.target) });
}

/** One request per case before measuring, so a 404 or an error body is seen, not averaged. */
async function sanity(): Promise<void> {
  out("== Sanity: one request per case");
  for (const c of CASES.filter((x) => x.connections === 32)) {
    const t = targets[c.target];
    const r = t.scheme === "https" ? sendHttps(t.port, c.req.path) : await send(t.port, c.req.method, c.req.path, c.req.body);
    const body = r.text.replace(/\s+/g, " ").slice(0, 110);
    out(`  ${c.name.padEnd(26)} ${r.status}${r.index ? ` X-Consul-Index=${r.index}` : ""}  ${body}`);
    if (r.status !== 200) throw new BenchError(`${c.name}: ${c.req.method} ${c.req.path} answered ${r.status}: ${body}`);
  }
}

async function throughput(): Promise<Map<string, WrkResult[]>> {
  const results = new Map<string, WrkResult[]>(CASES.map((c) => [c.name, []]));
  for (const c of CASES) await runCase(c, 1); // warm-up (JIT, page cache), not recorded
  for (let rep = 1; rep <= REPS; rep++) {
    for (const c of CASES) {
      const r = await runCase(c, c.connections === 1 ? Math.max(2, Math.ceil(SECONDS / 2)) : SECONDS);
      results.get(c.name)!.push(r);
      writeStderr(`  [round ${rep}/${REPS}] ${c.name}: ${fmtInt(r.rps)} req/s, p99 ${fmt(r.p99Ms)} ms${r.badStatus || r.socketErrors ? `, ${r.badStatus} bad status, ${r.socketErrors} socket errors` : ""}\n`);
    }
  }
  return results;
}

interface Summary {
  rps: number;
  p50: number;
  p99: number;
  cpu: number;
  other: number;
}

function summarize(rs: readonly WrkResult[]): Summary {
  return { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50Ms)), p99: median(rs.map((r) => r.p99Ms)), cpu: median(rs.map((r) => r.cpuMsPer1k)), other: median(rs.map((r) => r.cpu0OtherPct)) };
}

function printThroughput(results: Map<string, WrkResult[]>): Map<string, Summary> {
  const sums = new Map<string, Summary>();
  const rows = CASES.map((c) => {
    const rs = results.get(c.name)!;
    const s = summarize(rs);
    sums.set(c.name, s);
    const bad = rs.reduce((n, r) => n + r.badStatus, 0);
    const errs = rs.reduce((n, r) => n + r.socketErrors, 0);
    return [c.name, String(c.connections), fmtInt(s.rps), fmt(s.p50), fmt(s.p99), fmt(s.cpu), fmt(s.other, 0), String(bad), String(errs), rs.map((r) => fmtInt(r.rps)).join(" / ")];
  });
  out(`\n== Throughput: wrk -t1 -c<c> -d${SECONDS}s --latency (c=1 runs: ${Math.max(2, Math.ceil(SECONDS / 2))}s), median of ${REPS}; server on CPU0, wrk on CPU1`);
  out("cpu ms/1k: server utime+stime per 1,000 requests; cpu0 other%: CPU0 time not spent by the server (interrupts, other processes, steal)");
  out(table(["case", "c", "req/s", "p50 ms", "p99 ms", "cpu ms/1k", "cpu0 other%", "non2xx", "sockerr", "runs req/s"], rows));
  return sums;
}

function printRatios(s: Map<string, Summary>): void {
  const g = (name: string): Summary => s.get(name)!;
  const lines: Array<[string, number, Goal | undefined]> = [
    ["ours GET / bare GET, same runtime (req/s)", g("ours GET (durable)").rps / g("bare GET").rps, { atLeast: 0.6 }],
    ["ours HTTPS GET / HTTP GET, -dev, keep-alive (req/s)", g("ours GET (-dev) HTTPS").rps / g("ours GET (-dev)").rps, { atLeast: 0.8 }],
    ["client GET forwarded over TLS RPC / plain RPC (req/s)", g("client GET, TLS RPC").rps / g("client GET, plain RPC").rps, undefined],
    ["bare HTTPS GET / HTTP GET, the runtime's own (req/s)", g("bare GET HTTPS").rps / g("bare GET").rps, undefined],
    ["cpu/op ours HTTPS GET / HTTP GET, -dev", g("ours GET (-dev) HTTPS").cpu / g("ours GET (-dev)").cpu, undefined],
    ["cpu/op bare HTTPS GET / HTTP GET", g("bare GET HTTPS").cpu / g("bare GET").cpu, undefined],
    ["ours GET / etcd range (req/s)", g("ours GET (durable)").rps / g("etcd range (linearizable)").rps, undefined],
    ["ours durable PUT / etcd PUT (req/s)", g("ours PUT (durable)").rps / g("etcd put").rps, { atLeast: 1.0 }],
    ["ours durable PUT req/s (absolute)", g("ours PUT (durable)").rps, { atLeast: 5000 }],
    ["ours -dev PUT / bare PUT (req/s)", g("ours PUT (-dev)").rps / g("bare PUT").rps, undefined],
    ["ours durable PUT / ours -dev PUT (req/s)", g("ours PUT (durable)").rps / g("ours PUT (-dev)").rps, undefined],
    ["p99 ours GET / bare GET", g("ours GET (durable)").p99 / g("bare GET").p99, undefined],
    ["p99 ours GET / etcd range", g("ours GET (durable)").p99 / g("etcd range (linearizable)").p99, undefined],
    ["p99 ours durable PUT / etcd PUT", g("ours PUT (durable)").p99 / g("etcd put").p99, undefined],
    ["p50 ours durable PUT / etcd PUT, c=1", g("ours PUT (durable) c=1").p50 / g("etcd put c=1").p50, undefined],
    ["cpu/op ours GET / bare GET", g("ours GET (durable)").cpu / g("bare GET").cpu, undefined],
    ["cpu/op ours durable PUT / etcd PUT", g("ours PUT (durable)").cpu / g("etcd put").cpu, undefined],
  ];
  out("\n== Ratios (medians)");
  out(table(["ratio", "value", "verdict"], lines.map(([name, v, goal]) => [name, v > 100 ? fmtInt(v) : fmt(v), verdict(v, goal)])));
}

async function fanout(n: number, key: "bare" | "durable"): Promise<FanoutResult> {
  const t = targets[key];
  const r = await runPinned(TMP, "fanout", 1, [BUN, "bench/kv/fanout.ts", String(t.port), String(n), String(pidOf(key)), "foo"], 90_000);
  const line = r.stdout.split("\n").find((l) => l.startsWith("FANOUT "));
  if (!line) throw new BenchError(`fan-out client (${t.label}, N=${n}) failed (exit ${r.code}): ${r.stderr || r.stdout}`);
  // JSON has no NaN: a figure the client could not measure comes back as null.
  return JSON.parse(line.slice("FANOUT ".length), (_k, v: unknown) => (v === null ? Number.NaN : v)) as FanoutResult;
}

async function fanouts(): Promise<void> {
  out(`\n== Blocking-query fan-out: N raw keep-alive GET ?index=<current>&wait=60s, then one PUT; client on CPU1; median of ${FANOUT_REPS}`);
  const runs = new Map<string, FanoutResult[]>();
  for (let rep = 1; rep <= FANOUT_REPS; rep++) {
    for (const n of FANOUT_NS) {
      for (const key of ["bare", "durable"] as const) {
        await sleep(1500); // let the previous run's sockets close on both sides
        const r = await fanout(n, key);
        runs.set(`${key}:${n}`, [...(runs.get(`${key}:${n}`) ?? []), r]);
        writeStderr(`  [fan-out ${rep}/${FANOUT_REPS}] ${targets[key].label} N=${n}: last ${fmt(r.lastMs, 1)} ms, woken ${r.woken}\n`);
      }
    }
  }
  const med = (rs: readonly FanoutResult[], f: (r: FanoutResult) => number): number => median(rs.map(f));
  const sum = (rs: readonly FanoutResult[], f: (r: FanoutResult) => number): string => String(rs.reduce((a, r) => a + f(r), 0));
  const rows: string[][] = [];
  const ratios: string[][] = [];
  for (const n of FANOUT_NS) {
    for (const key of ["bare", "durable"] as const) {
      const rs = runs.get(`${key}:${n}`)!;
      rows.push([
        targets[key].label, String(n), String(Math.min(...rs.map((r) => r.woken))), sum(rs, (r) => r.connectErrors), sum(rs, (r) => r.early), sum(rs, (r) => r.non200), sum(rs, (r) => r.staleIndex),
        sum(rs, (r) => r.listenOverflows), String(rs.filter((r) => !r.allParked).length), fmt(med(rs, (r) => r.parkSeconds), 2),
        fmt(med(rs, (r) => r.firstMs), 1), fmt(med(rs, (r) => r.p50Ms), 1), fmt(med(rs, (r) => r.p99Ms), 1), fmt(med(rs, (r) => r.lastMs), 1), fmt(med(rs, (r) => r.putMs), 1),
        fmt(med(rs, (r) => r.wakeCpuMs), 0), fmt(med(rs, (r) => r.bytesPerWatcher) / 1024), fmt(med(rs, (r) => r.rssParkedBytes - r.rssBeforeBytes) / 2 ** 20, 1), rs.map((r) => fmt(r.lastMs, 0)).join(" / "),
      ]);
    }
    const ours = runs.get(`durable:${n}`)!;
    const bare = runs.get(`bare:${n}`)!;
    const correct = ours.every((r) => r.allParked && r.woken === n && r.non200 === 0 && r.staleIndex === 0 && r.early === 0 && r.connectErrors === 0);
    ratios.push([`N=${n}`, fmt(med(ours, (r) => r.lastMs) / med(bare, (r) => r.lastMs)), fmt(med(ours, (r) => r.p50Ms) / med(bare, (r) => r.p50Ms)),
      fmt(med(ours, (r) => r.bytesPerWatcher) / Math.max(1, med(bare, (r) => r.bytesPerWatcher))),
      correct ? "every run: all woken, 200, index advanced" : "INCOMPLETE (see table)"]);
  }
  out("min woken: fewest woken watchers in any run; connErr/early/non200/staleIdx/acceptOvf (kernel accept-queue overflows): summed over runs;");
  out("unparked: runs where the server had not read every request within 30 s; park s: time after the last connect until it had;");
  out("wake cpu ms: the server's user+sys CPU from the PUT until all were woken and the PUT answered (10 ms ticks; steadier than wall time on a busy machine); the rest are medians");
  out(table(["server", "N", "min woken", "connErr", "early", "non200", "staleIdx", "acceptOvf", "unparked", "park s", "first ms", "p50 ms", "p99 ms", "last ms", "PUT ms", "wake cpu ms", "KiB/watcher", "RSS +MiB", "runs last ms"], rows));
  out("\nRatios ours/bare at each N (last wake, p50 wake, RSS per watcher) and correctness of ours:");
  out(table(["N", "last", "p50", "rss/watcher", "ours correctness"], ratios));
  const top = FANOUT_NS[FANOUT_NS.length - 1];
  const ours = top === undefined ? undefined : runs.get(`durable:${top}`);
  if (ours) {
    const lastS = med(ours, (r) => r.lastMs) / 1000;
    const perKiB = med(ours, (r) => r.bytesPerWatcher) / 1024;
    out(`ours N=${top}: time to wake all ${fmt(lastS, 3)} s ${verdict(lastS, { atMost: 0.3 })}; memory per watcher ${fmt(perKiB)} KiB ${verdict(perKiB, { atMost: 10 })}`);
  }
}

function serverLogs(): void {
  out("\n== Server health after the run");
  for (const t of Object.values(targets) as Target[]) {
    if (!t.child || t === targets.devHttps) continue;
    const state = retired.has(t.child) ? "stopped after its part" : Number.isNaN(cpuSeconds(t.child.pid)) ? "EXITED" : "alive";
    let text = "";
    try {
      text = readFileSync(t.child.logFile, "utf8");
    } catch {
      // no log written
    }
    const lines = text.split("\n").filter((l) => l.trim() !== "" && !/^\s*(==>|Version:|Node ID:|Node name:|Datacenter:|Server:|Client Addr:|Cluster Addr:|Storage:)/.test(l.trim()));
    out(`  ${t.label}: ${state}, ${lines.length} log line(s) at warn level or above${lines.length ? ":" : ""}`);
    for (const l of lines.slice(0, 5)) out(`    ${l.slice(0, 200)}`);
  }
}

function header(): void {
  const version = (cmd: string, argv: string[]): string => {
    try {
      return execFileSync(cmd, argv).toString().split("\n")[0]!.trim();
    } catch {
      return "unknown";
    }
  };
  out(`KV bench  ${new Date().toISOString()}  ${version(ETCD, ["--version"])}  ${version("nproc", ["--all"])} CPUs  load average ${version("cat", ["/proc/loadavg"])}`);
  out(runtimeBanner(RUNTIME));
  out(`wrk ${SECONDS}s x ${REPS} rounds per case; fan-out N = ${FANOUT_NS.join(", ")} x ${FANOUT_REPS}; tmp ${TMP}`);
}

async function main(): Promise<number> {
  header();
  for (const key of ["bare", "bareHttps", "durable", "dev", "devHttps", "clientPlain", "clientTls", "etcd"] as const) await startTarget(key);
  await sanity();
  const sums = printThroughput(await throughput());
  printRatios(sums);
  // The -dev agent, its clients and etcd are done; stop them so they cannot disturb fan-out on CPU0.
  for (const c of [targets.bareHttps.child!, targets.clientPlain.child!, targets.clientTls.child!, targets.dev.child!, targets.etcd.child!]) {
    retired.add(c);
    await stop(c);
  }
  if (FANOUT_NS.length > 0) await fanouts();
  serverLogs();
  return 0;
}

await runBench("kv", main, serverLogs);
