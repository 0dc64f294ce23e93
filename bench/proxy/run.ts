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
import { h2load } from "./h2load.ts";
import { type HaproxyMode, type HaproxyPair, startHaproxyPair } from "./haproxy.ts";
import { fmt, type H2Runs, type Mode, newPath, type PathName, type PathRuns, report, type Results } from "./report.ts";
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
/** PROXY_BENCH_WARMUP=seconds of uncounted wrk per path and mode before the rounds (1; 0: none). */
const WARMUP = Number(process.env.PROXY_BENCH_WARMUP ?? "1");
/** PROXY_BENCH_PATHS=regex: only these paths besides direct (l4, haTcp, http, haHttp, chain; e.g. "l4|haTcp"); also skips the h2 runs. */
const PATHS = new RegExp(process.env.PROXY_BENCH_PATHS ?? "");
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
  // As `consulate` launches Bun (src/runtime/relaunch.ts): its allocator keeps freed pages (PROXY_BENCH_PURGE=default: Bun's default).
  if (RUNTIME === "bun") return [...(process.env.PROXY_BENCH_PURGE === "default" ? [] : ["env", "MIMALLOC_PURGE_DELAY=-1"]), BUN, ...prof, join(ROOT, "src/cli/main.ts")];
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


interface Mesh {
  readonly note: string;
  /** The dev agent (host:port), or null with the stand-in control plane. */
  readonly agentAddr: string | null;
  readonly dbProxy: Child;
  readonly webProxy: Child;
  readonly viaPort: number;
  /** The L7 chain and HTTP/2 upstreams (agent control plane only). */
  readonly l7: { readonly apiProxy: Child; readonly h2Proxy: Child; readonly httpProxy: Child; readonly chainPort: number; readonly h2Port: number; readonly httpPort: number } | null;
}

interface Ports {
  readonly app: number;
  readonly h2App: number;
  readonly dbPublic: number;
  readonly webUpstream: number;
  readonly apiUpstream: number;
  readonly h2Upstream: number;
  readonly httpUpstream: number;
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
    // hdb: a plain http service (no router, splitter or resolver): the HTTP traffic case of the issue.
    { Kind: "service-defaults", Name: "hdb", Protocol: "http" },
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
  await put("/v1/agent/service/register", { Name: "hdb", Port: appPort, Connect: { SidecarService: { Port: await freePort(), ...sidecar("hdb") } } });
  const upstreams = [
    { DestinationName: "db", LocalBindPort: webUpstream },
    { DestinationName: "api", LocalBindPort: ports.apiUpstream },
    { DestinationName: "h2", LocalBindPort: ports.h2Upstream },
    { DestinationName: "hdb", LocalBindPort: ports.httpUpstream },
  ];
  await put("/v1/agent/service/register", { Name: "web", Port: 1, Connect: { SidecarService: { ...sidecar("web"), Port: await freePort(), Proxy: { Upstreams: upstreams } } } });
  const proxy = (name: string) => startPinned(TMP, `${name}-sidecar`, 0, [...base, "connect", "proxy", "-sidecar-for", name, "-http-addr", agentAddr, "-log-level", "warn"]);
  const [dbProxy, apiProxy, h2Proxy, httpProxy, webProxy] = [proxy("db"), proxy("api"), proxy("h2"), proxy("hdb"), proxy("web")];
  return { note: "control plane: dev agent, sidecar_service registrations", agentAddr, dbProxy, webProxy, viaPort: webUpstream, l7: { apiProxy, h2Proxy, httpProxy, chainPort: ports.apiUpstream, h2Port: ports.h2Upstream, httpPort: ports.httpUpstream } };
}

/** One wrk run through a path, with its proxies' utime+stime per request. */
async function measure(into: PathRuns, url: string, opts: Parameters<typeof wrk>[2], cpu: () => number): Promise<WrkResult> {
  const c0 = cpu();
  const w = await wrk(TMP, url, opts);
  const used = cpu() - c0;
  into.runs.push(w);
  into.cpuUsPerReq.push(w.requests > 0 ? (used * 1e6) / w.requests : Number.NaN);
  return w;
}

/** The HAProxy pair doing the sidecars' job in one mode, or why there is none. */
async function startPeer(agentAddr: string | null, mode: HaproxyMode, appPort: number, server: string): Promise<{ pair: HaproxyPair | null; note: string }> {
  if (!agentAddr) return { pair: null, note: "no HAProxy peer (stand-in control plane: no leaf certificates from an agent)" };
  try {
    const [aPort, bPort] = await Promise.all([freePort(), freePort()]);
    const pair = await startHaproxyPair(TMP, agentAddr, { appPort, aPort, bPort, client: "web", server, mode });
    await waitReady(pair.a, () => ok(`http://127.0.0.1:${pair.port}/`), 15_000);
    return { pair, note: `peer (mode ${mode}${mode === "http" ? ", http-reuse always" : ""}): ${execFileSync("haproxy", ["-v"]).toString().split("\n")[0]!.replace(/ - https.*$/, "")}, two processes, nbthread 1, pinned to CPU0, the sidecars' leaf certificates` };
  } catch (err) {
    return { pair: null, note: `no HAProxy peer in mode ${mode}: ${(err as Error).message.split("\n")[0]}` };
  }
}

interface PathDef {
  readonly name: PathName;
  readonly label: string;
  readonly url: string;
  /** utime+stime (s) of the proxies on the path; () => 0 for direct. */
  readonly cpu: () => number;
}

async function main(): Promise<void> {
  const [app, h2App, dbPublic, webUpstream, apiUpstream, h2Upstream, httpUpstream] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const ports: Ports = { app, h2App, dbPublic, webUpstream, apiUpstream, h2Upstream, httpUpstream };
  const appPort = app;
  const appProc = startPinned(TMP, "app", 1, ["node", join(ROOT, "bench/proxy/backend.mjs"), String(appPort)]);
  await waitReady(appProc, () => ok(`http://127.0.0.1:${appPort}/`), 10_000);
  startPinned(TMP, "h2app", 1, ["node", join(ROOT, "bench/proxy/backend_h2.mjs"), String(h2App)]);
  const mesh = await startMesh(ports);
  const { dbProxy, webProxy } = mesh;
  const via = `http://127.0.0.1:${mesh.viaPort}`;
  await waitReady(webProxy, () => ok(`${via}/`), 60_000);
  if (mesh.l7) {
    const l7 = mesh.l7;
    await waitReady(webProxy, () => ok(`http://127.0.0.1:${l7.chainPort}/`), 30_000);
    await waitReady(webProxy, () => ok(`http://127.0.0.1:${l7.httpPort}/`), 30_000);
  }
  // Only the two proxies on a path count for it: the others' idle work (watches, timers) would weigh on slow runs.
  const cpuOf = (...cs: Child[]) => () => cs.reduce((a, c) => a + cpuSeconds(c.pid), 0);
  const tcpPeer = await startPeer(mesh.agentAddr, "tcp", appPort, "db");
  const httpPeer = await startPeer(mesh.agentAddr, "http", appPort, "hdb");
  const paths: PathDef[] = [
    { name: "direct", label: "direct", url: `http://127.0.0.1:${appPort}/`, cpu: () => 0 },
    { name: "l4", label: "tcp via sidecars", url: `${via}/`, cpu: cpuOf(dbProxy, webProxy) },
  ];
  if (tcpPeer.pair) paths.push({ name: "haTcp", label: "tcp via HAProxy", url: `http://127.0.0.1:${tcpPeer.pair.port}/`, cpu: cpuOf(tcpPeer.pair.a, tcpPeer.pair.b) });
  if (mesh.l7) paths.push({ name: "http", label: "http via sidecars", url: `http://127.0.0.1:${mesh.l7.httpPort}/`, cpu: cpuOf(webProxy, mesh.l7.httpProxy) });
  if (httpPeer.pair) paths.push({ name: "haHttp", label: "http via HAProxy", url: `http://127.0.0.1:${httpPeer.pair.port}/`, cpu: cpuOf(httpPeer.pair.a, httpPeer.pair.b) });
  if (mesh.l7) paths.push({ name: "chain", label: "L7 chain", url: `http://127.0.0.1:${mesh.l7.chainPort}/`, cpu: cpuOf(webProxy, mesh.l7.apiProxy) });
  const measured = paths.filter((p) => p.name === "direct" || PATHS.test(p.name));

  const modes: Mode[] = [
    { name: "keep-alive c=32", connections: 32, close: false },
    { name: "keep-alive c=1", connections: 1, close: false },
    { name: "new conn c=8", connections: 8, close: true },
  ].filter((m) => MODES.test(m.name));
  const results: Results = {};
  for (const m of modes) results[m.name] = { direct: newPath(), l4: newPath(), haTcp: newPath(), http: newPath(), haHttp: newPath(), chain: newPath() };
  const h2: H2Runs = {};
  console.log(runtimeBanner(RUNTIME as Runtime, defaultProxyRuntime));
  const purge = RUNTIME === "bun" ? (process.env.PROXY_BENCH_PURGE === "default" ? " (allocator defaults)" : " (MIMALLOC_PURGE_DELAY=-1, as the launcher runs it)") : "";
  console.log(`bench/proxy: sidecars on ${RUNTIME}${purge} pinned to CPU0; wrk, app and agent on CPU1; ${ROUNDS} rounds of ${SECONDS}s per run; ${mesh.note}`);
  console.log(`bench/proxy: ${tcpPeer.note}`);
  console.log(`bench/proxy: ${httpPeer.note}`);
  console.log(`bench/proxy: paths ${measured.map((p) => p.name).join(", ")}`);
  const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  console.log(`bench/proxy: load average at start ${load()} (other jobs on this 2-core box)`);
  // One uncounted second per path and mode first: the first connections through a fresh pair pay full
  // handshakes and cold code, which on a loaded box can stall a whole 4 s run (and, with 2 rounds, the median).
  if (WARMUP > 0) {
    for (const m of modes) for (const p of measured) await wrk(TMP, p.url, { seconds: WARMUP, connections: m.connections, ...(m.close ? { headers: { Connection: "close" } } : {}) }).catch(() => null);
  }
  for (let r = 1; r <= ROUNDS; r++) {
    for (const m of modes) {
      const opts = { seconds: SECONDS, connections: m.connections, ...(m.close ? { headers: { Connection: "close" } } : {}) };
      const parts: string[] = [];
      for (const p of measured) {
        const w = await measure(results[m.name]![p.name], p.url, opts, p.cpu);
        parts.push(`${p.label} ${fmt(w.rps)}${w.socketErrors || w.badStatus ? ` (errors ${w.socketErrors}, bad status ${w.badStatus})` : ""}`);
      }
      console.log(`  round ${r} ${m.name.padEnd(16)} req/s: ${parts.join(", ")}`);
    }
    if (mesh.l7 && !process.env.PROXY_BENCH_MODES && !process.env.PROXY_BENCH_PATHS) {
      const l7 = mesh.l7;
      // HTTP/2 multiplexed (1 connection, 32 streams) vs HTTP/1.1 (32 connections), same client (h2load), same round.
      const runs: [string, string, { connections: number; streams: number; h1: boolean }, (() => number) | null][] = [
        ["h2 direct c=1 m=32", `http://127.0.0.1:${h2App}/`, { connections: 1, streams: 32, h1: false }, null],
        ["h2 via c=1 m=32", `http://127.0.0.1:${l7.h2Port}/`, { connections: 1, streams: 32, h1: false }, cpuOf(webProxy, l7.h2Proxy)],
        ["h1 direct c=32", `http://127.0.0.1:${appPort}/`, { connections: 32, streams: 1, h1: true }, null],
        ["h1 via chain c=32", `http://127.0.0.1:${l7.chainPort}/`, { connections: 32, streams: 1, h1: true }, cpuOf(webProxy, l7.apiProxy)],
      ];
      for (const [name, url, o, pathCpu] of runs) {
        const c0 = pathCpu?.() ?? 0;
        const res = await h2load(TMP, url, { seconds: SECONDS, ...o });
        const used = (pathCpu?.() ?? 0) - c0;
        (h2[name] ??= []).push({ ...res, sidecarUsPerReq: pathCpu && res.requests > 0 ? (used * 1e6) / res.requests : Number.NaN });
        console.log(`  round ${r} ${name.padEnd(20)} ${fmt(res.rps)} req/s, mean ${fmt(res.meanMs, 3)} ms (failed ${res.failed})`);
      }
    }
  }
  console.log(`bench/proxy: load average at end ${load()}`);
  report(modes, results, h2);
}

try {
  await main();
} finally {
  await stopAll();
  for (const f of cleanupFiles) rmSync(f, { force: true });
  await sleep(100);
}
