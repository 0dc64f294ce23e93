/**
 * Cluster benchmark: KV PUT throughput and p99 with 32 connections (and the
 * c=1 latency floor) for one Consulate server on LocalLog, three Consulate
 * servers on a NATS JetStream log, and etcd with one and three members, all
 * in one run, rounds interleaved, with ratios. Every process of every system
 * is pinned to CPU0, wrk to CPU1. Start it through bench/cluster/run.sh.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { args, env, writeStderr, writeStdout } from "../../src/runtime/process.ts";
import { type Child, cpuBusySeconds, cpuSeconds, runBench, runPinned } from "../kv/procs.ts";
import { fmt, fmtInt, type Goal, median, table, verdict } from "../kv/report.ts";
import { wrk } from "../kv/wrk.ts";
import { consulateArgv, runtimeBanner, sutRuntime } from "../_runtime.ts";
import { BenchError, type Env, HOST, startEtcd, startJetStreamCluster, startLocalLog, startNats, type System } from "./targets.ts";

const SECONDS = Number(args()[0] ?? env("CLUSTER_BENCH_SECONDS") ?? "4");
const REPS = Number(env("CLUSTER_BENCH_REPS") ?? "3");
const RUNTIME = sutRuntime();
const BUN = env("KV_BENCH_BUN") ?? "node_modules/.bin/bun";
const E: Env = {
  tmp: env("KV_BENCH_TMP") ?? mkdtempSync(join(tmpdir(), "consulate-bench-cluster-")),
  agent: consulateArgv(RUNTIME),
  etcd: env("KV_BENCH_ETCD") ?? "/usr/bin/etcd",
  natsServer: env("CLUSTER_BENCH_NATS") ?? "/usr/sbin/nats-server",
};
const PORTS = {
  local: 29500,
  js: [29510, 29511, 29512],
  nats: [
    { client: 29422, route: 29432 },
    { client: 29423, route: 29433 },
    { client: 29424, route: 29434 },
  ],
  etcd1: [{ client: 29379, peer: 29380 }],
  etcd3: [
    { client: 29381, peer: 29382 },
    { client: 29383, peer: 29384 },
    { client: 29385, peer: 29386 },
  ],
} as const;

const out = (s = ""): void => writeStdout(s + "\n");

type Key = "local" | "js" | "floor" | "etcd1" | "etcd3";
const systems = new Map<Key, System>();
const skipped = new Map<Key, string>();

async function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: HOST, port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  /** CPU of every process of the system per 1,000 requests (ms). */
  cpu: number;
  other: number;
  bad: number;
  errs: number;
  /** CPU per 1,000 requests of each process (ms), by label. */
  perProcess: Map<string, number>;
}

const totalCpu = (s: System): number => s.children.reduce((n, c) => n + cpuSeconds(c.pid), 0);

async function runCase(s: System, connections: number, seconds: number): Promise<Result> {
  const each0 = s.children.map((c) => cpuSeconds(c.pid));
  const cpu0 = totalCpu(s);
  const busy0 = cpuBusySeconds(0);
  const t0 = performance.now();
  const r = await wrk(E.tmp, `http://${HOST}:${s.port}`, s.put, { seconds, connections, serverPid: s.children[0]!.pid });
  const cpu = totalCpu(s) - cpu0;
  const wall = (performance.now() - t0) / 1000;
  return {
    rps: r.rps,
    p50: r.p50Ms,
    p99: r.p99Ms,
    cpu: r.requests > 0 ? (cpu * 1e6) / r.requests : Number.NaN,
    other: Math.max(0, (100 * (cpuBusySeconds(0) - busy0 - cpu)) / wall),
    bad: r.badStatus,
    errs: r.socketErrors,
    perProcess: new Map(s.children.map((c, i) => [c.label, r.requests > 0 ? ((cpuSeconds(c.pid) - each0[i]!) * 1e6) / r.requests : Number.NaN])),
  };
}

const ORDER: readonly Key[] = ["local", "js", "floor", "etcd1", "etcd3"];
let natsChildren: Child[] = [];
const natsUrls = PORTS.nats.map((n) => `nats://${HOST}:${n.client}`).join(",");

/** The JetStream floor: js_floor.ts on CPU1 publishing to the same nats cluster (no HTTP, no state machine). */
async function runFloor(connections: number, seconds: number): Promise<Result> {
  const cpu0 = natsChildren.reduce((n, c) => n + cpuSeconds(c.pid), 0);
  const busy0 = cpuBusySeconds(0);
  const t0 = performance.now();
  const r = await runPinned(E.tmp, "js-floor", 1, [BUN, "bench/cluster/js_floor.ts", natsUrls, String(seconds), String(connections)], (seconds + 30) * 1000);
  const cpu = natsChildren.reduce((n, c) => n + cpuSeconds(c.pid), 0) - cpu0;
  const wall = (performance.now() - t0) / 1000;
  const line = r.stdout.split("\n").find((l) => l.startsWith("JSFLOOR "));
  if (!line) throw new BenchError(`js_floor failed (exit ${r.code}): ${r.stderr || r.stdout}`);
  const j = JSON.parse(line.slice("JSFLOOR ".length)) as { count: number; seconds: number; p50Ms: number; p99Ms: number };
  return { rps: j.count / j.seconds, p50: j.p50Ms, p99: j.p99Ms, cpu: (cpu * 1e6) / j.count, other: Math.max(0, (100 * (cpuBusySeconds(0) - busy0 - cpu)) / wall), bad: 0, errs: 0, perProcess: new Map() };
}

async function start(): Promise<void> {
  const all = [PORTS.local, ...PORTS.js, ...PORTS.nats.flatMap((n) => [n.client, n.route]), ...[...PORTS.etcd1, ...PORTS.etcd3].flatMap((m) => [m.client, m.peer])];
  for (const p of all) if (await portInUse(p)) throw new BenchError(`port ${p} is already in use; stop whatever listens there`);
  systems.set("local", await startLocalLog(E, PORTS.local));
  natsChildren = await startNats(E, PORTS.nats);
  systems.set("floor", { label: "JetStream R3 publish (floor)", children: natsChildren, port: 0, put: { method: "PUT", path: "", body: "" }, note: "js_floor.ts: one publish with Nats-Msg-Id per writer at a time, no HTTP, no state machine" });
  try {
    systems.set("js", await startJetStreamCluster(E, PORTS.js, natsChildren, natsUrls));
  } catch (err) {
    skipped.set("js", (err as Error).message);
  }
  systems.set("etcd1", await startEtcd(E, "etcd, 1 member", "e1m", PORTS.etcd1));
  systems.set("etcd3", await startEtcd(E, "etcd, 3 members", "e3m", PORTS.etcd3));
}

async function main(): Promise<number> {
  const version = (cmd: string, argv: string[]): string => {
    try {
      return execFileSync(cmd, argv).toString().split("\n")[0]!.trim();
    } catch {
      return "unknown";
    }
  };
  out(`Cluster bench  ${new Date().toISOString()}  commit ${version("git", ["rev-parse", "--short", "HEAD"])}  ${version(E.etcd, ["--version"])}  ${version(E.natsServer, ["--version"])}`);
  out(runtimeBanner(RUNTIME));
  out(`KV PUT, wrk -t1 -c32 -d${SECONDS}s (and c=1), ${REPS} rounds, systems interleaved; every process of a system on CPU0, wrk on CPU1; tmp ${E.tmp}`);
  await start();
  for (const [k, why] of skipped) out(`  skipped ${k}: ${why}`);
  const keys = ORDER.filter((k) => systems.has(k));
  const runs = new Map<string, Result[]>();
  const measure = (k: Key, c: number, seconds: number): Promise<Result> => (k === "floor" ? runFloor(c, seconds) : runCase(systems.get(k)!, c, seconds));
  for (const k of keys) await measure(k, 32, 1); // warm-up
  for (let rep = 1; rep <= REPS; rep++) {
    for (const k of keys) {
      for (const c of [32, 1]) {
        const r = await measure(k, c, c === 1 ? Math.max(2, Math.ceil(SECONDS / 2)) : SECONDS);
        runs.set(`${k}:${c}`, [...(runs.get(`${k}:${c}`) ?? []), r]);
        writeStderr(`  [round ${rep}/${REPS}] ${systems.get(k)!.label} c=${c}: ${fmtInt(r.rps)} req/s, p99 ${fmt(r.p99)} ms${r.bad || r.errs ? `, ${r.bad} bad status, ${r.errs} socket errors` : ""}\n`);
      }
    }
  }
  const med = (k: Key, c: number, f: (r: Result) => number): number => median((runs.get(`${k}:${c}`) ?? []).map(f));
  const rows: string[][] = [];
  for (const k of keys) {
    for (const c of [32, 1]) {
      const rs = runs.get(`${k}:${c}`)!;
      rows.push([systems.get(k)!.label, String(c), fmtInt(med(k, c, (r) => r.rps)), fmt(med(k, c, (r) => r.p50)), fmt(med(k, c, (r) => r.p99)), fmt(med(k, c, (r) => r.cpu)), fmt(med(k, c, (r) => r.other), 0), String(rs.reduce((n, r) => n + r.bad, 0)), String(rs.reduce((n, r) => n + r.errs, 0)), rs.map((r) => fmtInt(r.rps)).join(" / ")]);
    }
  }
  out("\n== KV PUT (medians). cpu ms/1k: utime+stime of all the system's processes per 1,000 PUTs; cpu0 other%: CPU0 time spent by anything else");
  out(table(["system", "c", "req/s", "p50 ms", "p99 ms", "cpu ms/1k", "cpu0 other%", "non2xx", "sockerr", "runs req/s"], rows));
  for (const k of keys) if (systems.get(k)!.note) out(`  ${systems.get(k)!.label}: ${systems.get(k)!.note}`);
  out("\n== Where the CPU goes at c=32: ms per 1,000 PUTs, by process (medians)");
  for (const k of keys) {
    const rs = runs.get(`${k}:32`) ?? [];
    const labels = [...(rs[0]?.perProcess.keys() ?? [])];
    if (labels.length < 2) continue;
    out(`  ${systems.get(k)!.label}: ${labels.map((l) => `${l} ${fmt(median(rs.map((r) => r.perProcess.get(l) ?? Number.NaN)))}`).join(", ")}`);
  }
  const ratio = (a: Key, b: Key, c: number, f: (r: Result) => number): number => (systems.has(a) && systems.has(b) ? med(a, c, f) / med(b, c, f) : Number.NaN);
  const rps = (r: Result) => r.rps;
  const p99 = (r: Result) => r.p99;
  const lines: [string, number, Goal | undefined][] = [
    ["JetStream 3 servers / etcd 3 members, PUT req/s", ratio("js", "etcd3", 32, rps), { atLeast: 1.0 }],
    ["JetStream 3 servers / etcd 3 members, PUT p99", ratio("js", "etcd3", 32, p99), undefined],
    ["JetStream 3 servers / LocalLog 1 server, PUT req/s", ratio("js", "local", 32, rps), undefined],
    ["JetStream 3 servers / JetStream R3 publish floor, req/s", ratio("js", "floor", 32, rps), undefined],
    ["JetStream R3 publish floor / etcd 3 members, req/s", ratio("floor", "etcd3", 32, rps), undefined],
    ["LocalLog 1 server / etcd 1 member, PUT req/s", ratio("local", "etcd1", 32, rps), { atLeast: 1.0 }],
    ["LocalLog 1 server / etcd 1 member, PUT p99", ratio("local", "etcd1", 32, p99), undefined],
    ["LocalLog 1 server / etcd 3 members, PUT req/s", ratio("local", "etcd3", 32, rps), undefined],
    ["JetStream 3 / etcd 3, p50 at c=1", ratio("js", "etcd3", 1, (r) => r.p50), undefined],
    ["LocalLog / etcd 1, p50 at c=1", ratio("local", "etcd1", 1, (r) => r.p50), undefined],
    ["cpu/PUT JetStream 3 / etcd 3", ratio("js", "etcd3", 32, (r) => r.cpu), undefined],
    ["cpu/PUT LocalLog / etcd 1", ratio("local", "etcd1", 32, (r) => r.cpu), undefined],
  ];
  out("\n== Ratios (medians; only same-run ratios mean anything on this shared 2-core VM)");
  out(table(["ratio", "value", "verdict"], lines.map(([name, v, goal]) => [name, fmt(v), Number.isNaN(v) ? "skipped" : verdict(v, goal)])));
  out("\n== Processes after the run");
  const seen = new Set<Child>();
  for (const s of systems.values()) {
    for (const c of s.children) {
      if (seen.has(c)) continue;
      seen.add(c);
      const alive = !Number.isNaN(cpuSeconds(c.pid));
      let warn = "";
      try {
        const lines = readFileSync(c.logFile, "utf8").split("\n").filter((l) => /\b(ERROR|WARN|error|panic)\b/.test(l));
        if (lines.length) warn = `, ${lines.length} warn/error line(s), e.g. ${lines[0]!.slice(0, 160)}`;
      } catch {
        // no log
      }
      out(`  ${c.label}: ${alive ? "alive" : "EXITED"}${warn}`);
    }
  }
  return 0;
}

await runBench("cluster", main);
