/**
 * Where a JetStream cluster PUT spends its time: starts 3 nats-server nodes and
 * 3 servers (server 0 under Bun's sampling profiler), drives server 0 with
 * `wrk -c32` PUTs, prints CPU per PUT by process, stops server 0 so Bun writes
 * the profile, and prints the profile's hottest functions (self time).
 * Start it through bench/cluster/profile.sh.
 *
 *     bench/cluster/profile.sh [seconds]     (default 10)
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { args, env, exit, writeStderr, writeStdout } from "../../src/runtime/process.ts";
import { cpuSeconds, stop, stopAll } from "../kv/procs.ts";
import { fmt, fmtInt } from "../kv/report.ts";
import { wrk } from "../kv/wrk.ts";
import { type Env, HOST, startJetStreamCluster, startNats } from "./targets.ts";

const SECONDS = Number(args()[0] ?? "10");
const E: Env = {
  tmp: env("KV_BENCH_TMP") ?? mkdtempSync(join(tmpdir(), "consulate-bench-cluster-")),
  // Bun's sampling profiler (--cpu-prof-md): this profile runs the servers on Bun whatever RUNTIME says.
  agent: [env("KV_BENCH_BUN") ?? "node_modules/.bin/bun", "src/cli/main.ts"],
  etcd: "/usr/bin/etcd",
  natsServer: env("CLUSTER_BENCH_NATS") ?? "/usr/sbin/nats-server",
};
const out = (s = ""): void => writeStdout(s + "\n");
const NATS = [
  { client: 29422, route: 29432 },
  { client: 29423, route: 29433 },
  { client: 29424, route: 29434 },
];

async function main(): Promise<void> {
  const profDir = join(E.tmp, "profile");
  mkdirSync(profDir, { recursive: true });
  const nats = await startNats(E, NATS);
  const sys = await startJetStreamCluster(E, [29510, 29511, 29512], nats, NATS.map((n) => `nats://${HOST}:${n.client}`).join(","), profDir);
  await wrk(E.tmp, `http://${HOST}:${sys.port}`, sys.put, { seconds: 2, connections: 32, serverPid: sys.children[3]!.pid });
  const before = sys.children.map((c) => cpuSeconds(c.pid));
  const r = await wrk(E.tmp, `http://${HOST}:${sys.port}`, sys.put, { seconds: SECONDS, connections: 32, serverPid: sys.children[3]!.pid });
  out(`JetStream cluster PUT c=32: ${fmtInt(r.rps)} req/s, p50 ${fmt(r.p50Ms)} ms, p99 ${fmt(r.p99Ms)} ms`);
  out("CPU per PUT (us): " + sys.children.map((c, i) => `${c.label} ${fmt(((cpuSeconds(c.pid) - before[i]!) * 1e6) / r.requests, 1)}`).join(", "));
  await stop(sys.children[3]!, 10_000);
  const md = readdirSync(profDir).find((f) => f.endsWith(".md"));
  if (!md) throw new Error(`no profile written in ${profDir}`);
  const text = readFileSync(join(profDir, md), "utf8");
  out(`\nProfile of server 0 (${md}), first lines:\n`);
  out(text.split("\n").slice(0, Number(env("PROFILE_LINES") ?? "120")).join("\n"));
}

try {
  await main();
} catch (err) {
  writeStderr(`profile failed: ${err instanceof Error ? err.message : String(err)}\n`);
} finally {
  await stopAll();
}
exit(0);
