/**
 * Runner of bench/proxy (see README.md): starts a dev agent, the apps, and the
 * web, db, api and h2 sidecars (`consulate connect proxy -sidecar-for`), then
 * runs rounds alternating direct-to-app, through L4 sidecars (db, tcp),
 * through an L7 router + splitter + resolver chain (api, http) and over
 * HTTP/2 (h2, http2), and through the same-run peer, two HAProxy processes
 * doing the sidecars' job with the same leaf certificates (haproxy.ts), and
 * prints medians with same-run ratios. Sidecars and HAProxy are pinned to
 * CPU0 (the system under test); wrk, h2load, the apps and the agent to CPU1.
 */
import { defaultProxyRuntime, keepProxiesOnNode, type Runtime, runtimeBanner } from "../_runtime.ts";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { type Child, cpuSeconds, sleep, startPinned, stopAll, waitReady } from "../kv/procs.ts";
import { h2load, type H2loadResult } from "./h2load.ts";
import { type HaproxyPair, startHaproxyPair } from "./haproxy.ts";
import { wrk, type WrkResult } from "./wrk.ts";

const SECONDS = Number(process.argv[2] ?? "4");
const ROUNDS = Number(process.env.PROXY_BENCH_ROUNDS ?? "3");
// RUNTIME=node|bun|deno as every bench (PROXY_BENCH_RUNTIME is the older name); default: what `consulate connect proxy` runs the sidecars on (Bun when installed).
const RUNTIME = process.env.RUNTIME || process.env.PROXY_BENCH_RUNTIME || defaultProxyRuntime();
const TMP = process.env.PROXY_BENCH_TMP ?? "/tmp";
/** PROFILE=dir with RUNTIME=node or bun: each sidecar writes a .cpuprofile there when it exits (--cpu-prof). */
const PROFILE = process.env.PROFILE ?? "";
/** PROXY_BENCH_MODES=regex: only the modes whose name matches (e.g. "new conn" while profiling). */
const MODES = new RegExp(process.env.PROXY_BENCH_MODES ?? "");
const ROOT = join(import.meta.dir, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const cleanupFiles: string[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

function cli(): string[] {
  const prof = PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE}`] : [];
  if (RUNTIME === "bun") return [BUN, ...prof, join(ROOT, "src/cli/main.ts")];
  if (RUNTIME === "deno") return [join(ROOT, "node_modules/.bin/deno"), "run", "-A", join(ROOT, "src/cli/main.ts")];
  if (RUNTIME === "node") {
    keepProxiesOnNode();
    // Inside the repo, so the bundle's bare imports resolve from node_modules.
    const out = join(ROOT, "dist", `bench-proxy-${process.pid}.mjs`);
    cleanupFiles.push(out);
    execFileSync(join(ROOT, "node_modules/.bin/esbuild"), [join(ROOT, "src/cli/main.ts"), "--bundle", "--platform=node", "--format=esm", "--target=node20", `--outfile=${out}`, "--packages=external", "--log-level=warning"], { cwd: ROOT });
    return ["node", ...prof, out];
  }
  throw new Error(`PROXY_BENCH_RUNTIME must be bun, node or deno, not ${RUNTIME}`);
}

async function ok(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000), headers: { connection: "close" } });
  await res.text();
  return res.status === 200;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "-");

interface Mesh {
  readonly note: string;
  /** The dev agent (host:port), or null with the stand-in control plane. */
  readonly agentAddr: string | null;
  readonly dbProxy: Child;
  readonly webProxy: Child;
  readonly viaPort: number;
  /** The L7 chain and HTTP/2 upstreams (agent control plane only). */
  readonly l7: { readonly apiProxy: Child; readonly h2Proxy: Child; readonly chainPort: number; readonly h2Port: number } | null;
}

interface Ports {
  readonly app: number;
  readonly h2App: number;
  readonly dbPublic: number;
  readonly webUpstream: number;
  readonly apiUpstream: number;
  readonly h2Upstream: number;
}

/**
 * The two sidecars, configured from a real dev agent (`sidecar_service`
 * registrations, `connect proxy -sidecar-for`). An agent without the Connect
 * CA endpoints (or PROXY_BENCH_CONTROL=stub) runs them from flags against the
 * test suite's stand-in control plane instead; the data path is the same.
 */
async function startMesh(ports: Ports): Promise<Mesh> {
  const { app: appPort, dbPublic, webUpstream } = ports;
  const base = cli();
  // Every port free, never Consul's defaults (8300-8302, 8600): other agents may run on this machine.
  const [http, dns, serfLan, serfWan, server] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  let control = process.env.PROXY_BENCH_CONTROL ?? "auto";
  let agentAddr = "";
  if (control !== "stub") {
    agentAddr = `127.0.0.1:${http}`;
    const agent = startPinned(TMP, "agent", 1, [BUN, join(ROOT, "src/cli/main.ts"), "agent", "-dev", "-http-port", String(http), "-dns-port", String(dns), "-serf-lan-port", String(serfLan), "-serf-wan-port", String(serfWan), "-server-port", String(server), "-log-level", "warn"]);
    await waitReady(agent, () => ok(`http://${agentAddr}/v1/status/leader`), 30_000);
    const leaf = await fetch(`http://${agentAddr}/v1/agent/connect/ca/roots`);
    await leaf.text();
    if (leaf.status === 404 && control === "auto") control = "stub";
  }
  if (control === "stub") {
    const { FakeControlPlane } = await import("../../test/connect/_control_plane.ts");
    const cp = await FakeControlPlane.start();
    cp.instances.set("db", [{ address: "127.0.0.1", port: dbPublic, id: "db-sidecar-proxy" }]);
    const dbProxy = startPinned(TMP, "db-sidecar", 0, [...base, "connect", "proxy", "-service", "db", "-listen", `127.0.0.1:${dbPublic}`, "-service-addr", `127.0.0.1:${appPort}`, "-http-addr", cp.address, "-log-level", "warn"]);
    const webProxy = startPinned(TMP, "web-sidecar", 0, [...base, "connect", "proxy", "-service", "web", "-upstream", `db:${webUpstream}`, "-http-addr", cp.address, "-log-level", "warn"]);
    return { note: "control plane: the tests' stand-in (this agent has no Connect CA endpoints); no L7 chain, HTTP/2 or HAProxy rows", agentAddr: null, dbProxy, webProxy, viaPort: webUpstream, l7: null };
  }
  const register = async (body: unknown) => {
    const res = await fetch(`http://${agentAddr}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  };
  const put = async (path: string, body: unknown) => {
    const res = await fetch(`http://${agentAddr}${path}`, { method: "PUT", body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`PUT ${path} failed: ${res.status} ${await res.text()}`);
  };
  // api: an http service behind a router (an /admin route, then the catch-all) -> a 90/10 splitter -> a resolver with a subset.
  for (const entry of [
    { Kind: "service-defaults", Name: "api", Protocol: "http" },
    { Kind: "service-defaults", Name: "h2", Protocol: "http2" },
    { Kind: "service-resolver", Name: "api", Subsets: { v1: { Filter: "Service.Meta.version == v1" } } },
    { Kind: "service-splitter", Name: "api", Splits: [{ Weight: 90, ServiceSubset: "v1" }, { Weight: 10 }] },
    { Kind: "service-router", Name: "api", Routes: [{ Match: { HTTP: { PathPrefix: "/admin" } }, Destination: { PrefixRewrite: "/" } }] },
  ]) {
    await put("/v1/config", entry);
  }
  // Alias checks pass as soon as the services do, so the run need not wait for a TCP check interval.
  const sidecar = (name: string) => ({ Check: { Name: "alias", AliasService: name } });
  await put("/v1/agent/service/register", { Name: "db", Port: appPort, Connect: { SidecarService: { Port: dbPublic, ...sidecar("db") } } });
  await put("/v1/agent/service/register", { Name: "api", Port: appPort, Meta: { version: "v1" }, Connect: { SidecarService: { Port: await freePort(), ...sidecar("api") } } });
  await put("/v1/agent/service/register", { Name: "h2", Port: ports.h2App, Connect: { SidecarService: { Port: await freePort(), ...sidecar("h2") } } });
  const upstreams = [
    { DestinationName: "db", LocalBindPort: webUpstream },
    { DestinationName: "api", LocalBindPort: ports.apiUpstream },
    { DestinationName: "h2", LocalBindPort: ports.h2Upstream },
  ];
  await put("/v1/agent/service/register", { Name: "web", Port: 1, Connect: { SidecarService: { ...sidecar("web"), Port: await freePort(), Proxy: { Upstreams: upstreams } } } });
  const proxy = (name: string) => startPinned(TMP, `${name}-sidecar`, 0, [...base, "connect", "proxy", "-sidecar-for", name, "-http-addr", agentAddr, "-log-level", "warn"]);
  const [dbProxy, apiProxy, h2Proxy, webProxy] = [proxy("db"), proxy("api"), proxy("h2"), proxy("web")];
  return { note: "control plane: dev agent, sidecar_service registrations", agentAddr, dbProxy, webProxy, viaPort: webUpstream, l7: { apiProxy, h2Proxy, chainPort: ports.apiUpstream, h2Port: ports.h2Upstream } };
}

/** A path's wrk runs and the CPU of the proxies on it per request, for one mode. */
interface PathRuns {
  readonly runs: WrkResult[];
  readonly cpuUsPerReq: number[];
}

const newPath = (): PathRuns => ({ runs: [], cpuUsPerReq: [] });

/** One wrk run through a path, with its proxies' utime+stime per request. */
async function measure(into: PathRuns, url: string, opts: Parameters<typeof wrk>[2], cpu: () => number): Promise<WrkResult> {
  const c0 = cpu();
  const w = await wrk(TMP, url, opts);
  const used = cpu() - c0;
  into.runs.push(w);
  into.cpuUsPerReq.push(w.requests > 0 ? (used * 1e6) / w.requests : Number.NaN);
  return w;
}

const med = (p: PathRuns, f: (w: WrkResult) => number) => median(p.runs.map(f));

async function main(): Promise<void> {
  const [app, h2App, dbPublic, webUpstream, apiUpstream, h2Upstream, haA, haB] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const ports: Ports = { app, h2App, dbPublic, webUpstream, apiUpstream, h2Upstream };
  const appPort = app;
  const appProc = startPinned(TMP, "app", 1, ["node", join(ROOT, "bench/proxy/backend.mjs"), String(appPort)]);
  await waitReady(appProc, () => ok(`http://127.0.0.1:${appPort}/`), 10_000);
  startPinned(TMP, "h2app", 1, ["node", join(ROOT, "bench/proxy/backend_h2.mjs"), String(h2App)]);
  const mesh = await startMesh(ports);
  const { dbProxy, webProxy } = mesh;
  const via = `http://127.0.0.1:${mesh.viaPort}`;
  await waitReady(webProxy, () => ok(`${via}/`), 60_000);
  if (mesh.l7) await waitReady(webProxy, () => ok(`http://127.0.0.1:${mesh.l7!.chainPort}/`), 30_000);
  // Only the two sidecars on a path count for it: the others' idle work (watches, timers) would weigh on slow runs.
  const cpuOf = (...cs: Child[]) => () => cs.reduce((a, c) => a + cpuSeconds(c.pid), 0);
  const sidecarCpu = cpuOf(dbProxy, webProxy);
  const chainCpu = mesh.l7 ? cpuOf(webProxy, mesh.l7.apiProxy) : sidecarCpu;
  const h2Cpu = mesh.l7 ? cpuOf(webProxy, mesh.l7.h2Proxy) : sidecarCpu;
  let ha: HaproxyPair | null = null;
  let haNote = "no HAProxy peer (stand-in control plane: no leaf certificates from an agent)";
  if (mesh.agentAddr) {
    try {
      ha = await startHaproxyPair(TMP, mesh.agentAddr, { appPort, aPort: haA, bPort: haB, client: "web", server: "db" });
      const pair = ha;
      await waitReady(pair.a, () => ok(`http://127.0.0.1:${pair.port}/`), 15_000);
      haNote = `peer: ${execFileSync("haproxy", ["-v"]).toString().split("\n")[0]!.replace(/ - https.*$/, "")}, two processes, nbthread 1, pinned to CPU0, the sidecars' leaf certificates`;
    } catch (err) {
      ha = null;
      haNote = `no HAProxy peer: ${(err as Error).message.split("\n")[0]}`;
    }
  }
  const haCpu = () => (ha ? cpuSeconds(ha.a.pid) + cpuSeconds(ha.b.pid) : Number.NaN);

  const modes = [
    { name: "keep-alive c=32", connections: 32, close: false },
    { name: "keep-alive c=1", connections: 1, close: false },
    { name: "new conn c=8", connections: 8, close: true },
  ].filter((m) => MODES.test(m.name));
  const results: Record<string, { direct: PathRuns; via: PathRuns; ha: PathRuns; chain: PathRuns }> = {};
  for (const m of modes) results[m.name] = { direct: newPath(), via: newPath(), ha: newPath(), chain: newPath() };
  const h2: Record<string, (H2loadResult & { sidecarUsPerReq: number })[]> = {};
  console.log(runtimeBanner(RUNTIME as Runtime, defaultProxyRuntime));
  console.log(`bench/proxy: sidecars on ${RUNTIME} pinned to CPU0; wrk, app and agent on CPU1; ${ROUNDS} rounds of ${SECONDS}s per run; ${mesh.note}`);
  console.log(`bench/proxy: ${haNote}`);
  console.log(`bench/proxy: load average at start ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")} (other jobs on this 2-core box)`);
  for (let r = 1; r <= ROUNDS; r++) {
    for (const m of modes) {
      const opts = { seconds: SECONDS, connections: m.connections, ...(m.close ? { headers: { Connection: "close" } } : {}) };
      const x = results[m.name]!;
      const d = await measure(x.direct, `http://127.0.0.1:${appPort}/`, opts, () => 0);
      const v = await measure(x.via, `${via}/`, opts, sidecarCpu);
      const h = ha ? await measure(x.ha, `http://127.0.0.1:${ha.port}/`, opts, haCpu) : null;
      console.log(`  round ${r} ${m.name.padEnd(16)} direct ${fmt(d.rps)} req/s, via sidecars ${fmt(v.rps)} req/s (errors ${v.socketErrors}, bad status ${v.badStatus})${h ? `, via HAProxy ${fmt(h.rps)} req/s (errors ${h.socketErrors}, bad status ${h.badStatus})` : ""}`);
      if (mesh.l7) {
        const ch = await measure(x.chain, `http://127.0.0.1:${mesh.l7.chainPort}/`, opts, chainCpu);
        console.log(`  round ${r} ${`L7 chain ${m.name}`.padEnd(16)} via router+splitter+resolver ${fmt(ch.rps)} req/s (errors ${ch.socketErrors}, bad status ${ch.badStatus})`);
      }
    }
    if (mesh.l7 && !process.env.PROXY_BENCH_MODES) {
      // HTTP/2 multiplexed (1 connection, 32 streams) vs HTTP/1.1 (32 connections), same client (h2load), same round.
      const runs: [string, string, { connections: number; streams: number; h1: boolean }, boolean][] = [
        ["h2 direct c=1 m=32", `http://127.0.0.1:${h2App}/`, { connections: 1, streams: 32, h1: false }, false],
        ["h2 via c=1 m=32", `http://127.0.0.1:${mesh.l7.h2Port}/`, { connections: 1, streams: 32, h1: false }, true],
        ["h1 direct c=32", `http://127.0.0.1:${appPort}/`, { connections: 32, streams: 1, h1: true }, false],
        ["h1 via chain c=32", `http://127.0.0.1:${mesh.l7.chainPort}/`, { connections: 32, streams: 1, h1: true }, true],
      ];
      for (const [name, url, o, sidecarsInPath] of runs) {
        const pathCpu = name.startsWith("h2") ? h2Cpu : chainCpu;
        const c0 = pathCpu();
        const res = await h2load(TMP, url, { seconds: SECONDS, ...o });
        const cpu = pathCpu() - c0;
        (h2[name] ??= []).push({ ...res, sidecarUsPerReq: sidecarsInPath && res.requests > 0 ? (cpu * 1e6) / res.requests : Number.NaN });
        console.log(`  round ${r} ${name.padEnd(20)} ${fmt(res.rps)} req/s, mean ${fmt(res.meanMs, 3)} ms (failed ${res.failed})`);
      }
    }
  }
  const ms = (n: number) => `${fmt(n, 3)}ms`;
  const us = (n: number) => (Number.isFinite(n) ? `${fmt(n, 1)}µs` : "-");
  console.log("");
  console.log("L4 path (tcp service db): direct vs two sidecars vs two HAProxy, same rounds; 'added' = path - direct");
  console.log(`${"mode".padEnd(17)}${"direct req/s".padStart(13)}${"ours req/s".padStart(11)}${"HAProxy".padStart(9)}${"ours/HAP".padStart(10)}${"ours/direct".padStart(12)}${"HAP/direct".padStart(11)}${"p50 added ours".padStart(15)}${"HAProxy".padStart(9)}${"p99 added ours".padStart(15)}${"HAProxy".padStart(9)}`);
  for (const m of modes) {
    const x = results[m.name]!;
    const d = med(x.direct, (w) => w.rps);
    const v = med(x.via, (w) => w.rps);
    const h = med(x.ha, (w) => w.rps);
    const p50 = (p: PathRuns) => med(p, (w) => w.p50Ms) - med(x.direct, (w) => w.p50Ms);
    const p99 = (p: PathRuns) => med(p, (w) => w.p99Ms) - med(x.direct, (w) => w.p99Ms);
    console.log(
      `${m.name.padEnd(17)}${fmt(d).padStart(13)}${fmt(v).padStart(11)}${fmt(h).padStart(9)}${fmt(v / h, 3).padStart(10)}${fmt(v / d, 3).padStart(12)}${fmt(h / d, 3).padStart(11)}${ms(p50(x.via)).padStart(15)}${ms(p50(x.ha)).padStart(9)}${ms(p99(x.via)).padStart(15)}${ms(p99(x.ha)).padStart(9)}`,
    );
  }
  console.log("");
  console.log("Proxy CPU (utime+stime of both proxies of the pair) per request; with Connection: close each request is a new connection");
  console.log(`${"mode".padEnd(17)}${"ours".padStart(12)}${"HAProxy".padStart(12)}${"ours/HAP".padStart(10)}`);
  for (const m of modes) {
    const x = results[m.name]!;
    const o = median(x.via.cpuUsPerReq);
    const h = median(x.ha.cpuUsPerReq);
    console.log(`${(m.close ? `${m.name} (per new conn)` : m.name).padEnd(17)}${us(o).padStart(12)}${us(h).padStart(12)}${fmt(o / h, 2).padStart(10)}`);
  }
  console.log("\n(medians of the rounds; a shared 2-core VM: treat as noisy)");
  console.log("targets (issue 21): new conn >= 0.5 of HAProxy and >= 0.3 of direct; keep-alive c=32 >= 0.7 of HAProxy and >= 0.6 of direct, p99 added < 5 ms; c=1 p50 added < 0.3 ms");
  if (mesh.l7) {
    console.log("\nL7 chain (router -> splitter -> resolver, http; pooled sidecar-to-sidecar connections) vs L4 sidecars (tcp) vs direct, same rounds:");
    console.log(`${"mode".padEnd(17)}${"chain req/s".padStart(12)}${"chain/L4".padStart(10)}${"chain/direct".padStart(14)}${"p50 added".padStart(11)}${"chain CPU/req".padStart(15)}${"L4 CPU/req".padStart(12)}${"CPU chain/L4".padStart(14)}`);
    for (const m of modes) {
      const x = results[m.name]!;
      const ch = x.chain;
      if (ch.runs.length === 0) continue;
      const rps = med(ch, (w) => w.rps);
      const cpuChain = median(ch.cpuUsPerReq);
      const cpuL4 = median(x.via.cpuUsPerReq);
      console.log(
        `${m.name.padEnd(17)}${fmt(rps).padStart(12)}${fmt(rps / med(x.via, (w) => w.rps), 3).padStart(10)}${fmt(rps / med(x.direct, (w) => w.rps), 3).padStart(14)}${ms(med(ch, (w) => w.p50Ms) - med(x.direct, (w) => w.p50Ms)).padStart(11)}${us(cpuChain).padStart(15)}${us(cpuL4).padStart(12)}${fmt(cpuChain / cpuL4, 2).padStart(14)}`,
      );
    }
    console.log("(target: chain CPU/req <= 1.15x the L4 path's; p50 added through two sidecars < 0.3 ms at c=1)");
    console.log("\nHTTP/2 multiplexed vs HTTP/1.1 (h2load, same rounds):");
    console.log(`${"run".padEnd(22)}${"req/s".padStart(10)}${"mean".padStart(11)}${"sidecar CPU/req".padStart(17)}`);
    for (const [name, xs] of Object.entries(h2)) {
      console.log(`${name.padEnd(22)}${fmt(median(xs.map((x) => x.rps))).padStart(10)}${ms(median(xs.map((x) => x.meanMs))).padStart(11)}${us(median(xs.map((x) => x.sidecarUsPerReq))).padStart(17)}`);
    }
    const r = (a: string, b: string) => median((h2[a] ?? []).map((x) => x.rps)) / median((h2[b] ?? []).map((x) => x.rps));
    console.log(`h2 via / h2 direct ${fmt(r("h2 via c=1 m=32", "h2 direct c=1 m=32"), 3)}; h2 via / h1 via chain ${fmt(r("h2 via c=1 m=32", "h1 via chain c=32"), 3)}; h1 via chain / h1 direct ${fmt(r("h1 via chain c=32", "h1 direct c=32"), 3)}`);
  }
}

try {
  await main();
} finally {
  await stopAll();
  for (const f of cleanupFiles) rmSync(f, { force: true });
  await sleep(100);
}
