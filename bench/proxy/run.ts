/**
 * Runner of bench/proxy (see README.md): starts a dev agent, the apps, and the
 * web, db, api and h2 sidecars (`consulate connect proxy -sidecar-for`), then
 * runs rounds alternating direct-to-app, through L4 sidecars (db, tcp),
 * through an L7 router + splitter + resolver chain (api, http) and over
 * HTTP/2 (h2, http2), and prints medians with same-run ratios. Sidecars are
 * pinned to CPU0 (the system under test); wrk, h2load, the apps and the
 * agent to CPU1.
 */
import { defaultRuntime, type Runtime, runtimeBanner } from "../_runtime.ts";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { type Child, cpuSeconds, sleep, startPinned, stopAll, waitReady } from "../kv/procs.ts";
import { h2load, type H2loadResult } from "./h2load.ts";
import { wrk, type WrkResult } from "./wrk.ts";

const SECONDS = Number(process.argv[2] ?? "4");
const ROUNDS = Number(process.env.PROXY_BENCH_ROUNDS ?? "3");
// RUNTIME=node|bun|deno as every bench (PROXY_BENCH_RUNTIME is the older name); default: what `npx consulate` runs on.
const RUNTIME = process.env.RUNTIME || process.env.PROXY_BENCH_RUNTIME || defaultRuntime();
const TMP = process.env.PROXY_BENCH_TMP ?? "/tmp";
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
  if (RUNTIME === "bun") return [BUN, join(ROOT, "src/cli/main.ts")];
  if (RUNTIME === "deno") return [join(ROOT, "node_modules/.bin/deno"), "run", "-A", join(ROOT, "src/cli/main.ts")];
  if (RUNTIME === "node") {
    // Inside the repo, so the bundle's bare imports resolve from node_modules.
    const out = join(ROOT, "dist", `bench-proxy-${process.pid}.mjs`);
    cleanupFiles.push(out);
    execFileSync(join(ROOT, "node_modules/.bin/esbuild"), [join(ROOT, "src/cli/main.ts"), "--bundle", "--platform=node", "--format=esm", "--target=node20", `--outfile=${out}`, "--packages=external", "--log-level=warning"], { cwd: ROOT });
    return ["node", out];
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
  const [http, dns] = await Promise.all([freePort(), freePort()]);
  let control = process.env.PROXY_BENCH_CONTROL ?? "auto";
  let agentAddr = "";
  if (control !== "stub") {
    agentAddr = `127.0.0.1:${http}`;
    const agent = startPinned(TMP, "agent", 1, [BUN, join(ROOT, "src/cli/main.ts"), "agent", "-dev", "-http-port", String(http), "-dns-port", String(dns), "-log-level", "warn"]);
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
    return { note: "control plane: the tests' stand-in (this agent has no Connect CA endpoints); no L7 chain or HTTP/2 rows", dbProxy, webProxy, viaPort: webUpstream, l7: null };
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
  return { note: "control plane: dev agent, sidecar_service registrations", dbProxy, webProxy, viaPort: webUpstream, l7: { apiProxy, h2Proxy, chainPort: ports.apiUpstream, h2Port: ports.h2Upstream } };
}

async function main(): Promise<void> {
  const [app, h2App, dbPublic, webUpstream, apiUpstream, h2Upstream] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
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
  const sidecars = [dbProxy, webProxy, ...(mesh.l7 ? [mesh.l7.apiProxy, mesh.l7.h2Proxy] : [])];
  const sidecarCpu = () => sidecars.reduce((a, c) => a + cpuSeconds(c.pid), 0);

  const modes = [
    { name: "keep-alive c=32", connections: 32, close: false },
    { name: "keep-alive c=1", connections: 1, close: false },
    { name: "new conn c=8", connections: 8, close: true },
  ] as const;
  const results: Record<string, { direct: WrkResult[]; via: WrkResult[]; sidecarUsPerReq: number[] }> = {};
  for (const m of modes) results[m.name] = { direct: [], via: [], sidecarUsPerReq: [] };
  const chain: Record<string, { via: WrkResult[]; sidecarUsPerReq: number[] }> = {};
  for (const m of modes) chain[m.name] = { via: [], sidecarUsPerReq: [] };
  const h2: Record<string, (H2loadResult & { sidecarUsPerReq: number })[]> = {};
  console.log(runtimeBanner(RUNTIME as Runtime));
  console.log(`bench/proxy: sidecars on ${RUNTIME} pinned to CPU0; wrk, app and agent on CPU1; ${ROUNDS} rounds of ${SECONDS}s per run; ${mesh.note}`);
  for (let r = 1; r <= ROUNDS; r++) {
    for (const m of modes) {
      const opts = { seconds: SECONDS, connections: m.connections, ...(m.close ? { headers: { Connection: "close" } } : {}) };
      results[m.name]!.direct.push(await wrk(TMP, `http://127.0.0.1:${appPort}/`, opts));
      const cpu0 = sidecarCpu();
      const v = await wrk(TMP, `${via}/`, opts);
      const cpu = sidecarCpu() - cpu0;
      results[m.name]!.via.push(v);
      results[m.name]!.sidecarUsPerReq.push(v.requests > 0 ? (cpu * 1e6) / v.requests : Number.NaN);
      console.log(`  round ${r} ${m.name.padEnd(16)} direct ${fmt(results[m.name]!.direct.at(-1)!.rps)} req/s, via sidecars ${fmt(v.rps)} req/s (errors ${v.socketErrors}, bad status ${v.badStatus})`);
      if (mesh.l7 && !m.close) {
        const c0 = sidecarCpu();
        const ch = await wrk(TMP, `http://127.0.0.1:${mesh.l7.chainPort}/`, opts);
        const chCpu = sidecarCpu() - c0;
        chain[m.name]!.via.push(ch);
        chain[m.name]!.sidecarUsPerReq.push(ch.requests > 0 ? (chCpu * 1e6) / ch.requests : Number.NaN);
        console.log(`  round ${r} ${`L7 chain ${m.name}`.padEnd(16)} via router+splitter+resolver ${fmt(ch.rps)} req/s (errors ${ch.socketErrors}, bad status ${ch.badStatus})`);
      }
    }
    if (mesh.l7) {
      // HTTP/2 multiplexed (1 connection, 32 streams) vs HTTP/1.1 (32 connections), same client (h2load), same round.
      const runs: [string, string, { connections: number; streams: number; h1: boolean }, boolean][] = [
        ["h2 direct c=1 m=32", `http://127.0.0.1:${h2App}/`, { connections: 1, streams: 32, h1: false }, false],
        ["h2 via c=1 m=32", `http://127.0.0.1:${mesh.l7.h2Port}/`, { connections: 1, streams: 32, h1: false }, true],
        ["h1 direct c=32", `http://127.0.0.1:${appPort}/`, { connections: 32, streams: 1, h1: true }, false],
        ["h1 via chain c=32", `http://127.0.0.1:${mesh.l7.chainPort}/`, { connections: 32, streams: 1, h1: true }, true],
      ];
      for (const [name, url, o, sidecarsInPath] of runs) {
        const c0 = sidecarCpu();
        const res = await h2load(TMP, url, { seconds: SECONDS, ...o });
        const cpu = sidecarCpu() - c0;
        (h2[name] ??= []).push({ ...res, sidecarUsPerReq: sidecarsInPath && res.requests > 0 ? (cpu * 1e6) / res.requests : Number.NaN });
        console.log(`  round ${r} ${name.padEnd(20)} ${fmt(res.rps)} req/s, mean ${fmt(res.meanMs, 3)} ms (failed ${res.failed})`);
      }
    }
  }
  console.log("");
  console.log(`${"mode".padEnd(17)}${"direct req/s".padStart(13)}${"via req/s".padStart(11)}${"via/direct".padStart(11)}${"p50 direct".padStart(12)}${"p50 via".padStart(9)}${"p50 added".padStart(11)}${"p99 direct".padStart(12)}${"p99 via".padStart(9)}${"p99 added".padStart(11)}${"sidecar CPU/req".padStart(17)}`);
  for (const m of modes) {
    const x = results[m.name]!;
    const d = median(x.direct.map((w) => w.rps));
    const v = median(x.via.map((w) => w.rps));
    const p50d = median(x.direct.map((w) => w.p50Ms));
    const p50v = median(x.via.map((w) => w.p50Ms));
    const p99d = median(x.direct.map((w) => w.p99Ms));
    const p99v = median(x.via.map((w) => w.p99Ms));
    console.log(
      `${m.name.padEnd(17)}${fmt(d).padStart(13)}${fmt(v).padStart(11)}${fmt(v / d, 3).padStart(11)}${`${fmt(p50d, 3)}ms`.padStart(12)}${`${fmt(p50v, 3)}ms`.padStart(9)}${`${fmt(p50v - p50d, 3)}ms`.padStart(11)}${`${fmt(p99d, 3)}ms`.padStart(12)}${`${fmt(p99v, 3)}ms`.padStart(9)}${`${fmt(p99v - p99d, 3)}ms`.padStart(11)}${`${fmt(median(x.sidecarUsPerReq), 1)}µs`.padStart(17)}`,
    );
  }
  console.log("\n(medians of the rounds; 'added' = via - direct; sidecar CPU = both sidecars' utime+stime per request; a shared 2-core VM: treat as noisy)");
  if (mesh.l7) {
    console.log("\nL7 chain (router -> splitter -> resolver, http) vs L4 sidecars (tcp) vs direct, same rounds:");
    console.log(`${"mode".padEnd(17)}${"chain req/s".padStart(12)}${"chain/L4".padStart(10)}${"chain/direct".padStart(14)}${"p50 added".padStart(11)}${"chain CPU/req".padStart(15)}${"L4 CPU/req".padStart(12)}${"CPU chain/L4".padStart(14)}`);
    for (const m of modes) {
      const ch = chain[m.name]!;
      if (ch.via.length === 0) continue;
      const x = results[m.name]!;
      const rps = median(ch.via.map((w) => w.rps));
      const cpuChain = median(ch.sidecarUsPerReq);
      const cpuL4 = median(x.sidecarUsPerReq);
      console.log(
        `${m.name.padEnd(17)}${fmt(rps).padStart(12)}${fmt(rps / median(x.via.map((w) => w.rps)), 3).padStart(10)}${fmt(rps / median(x.direct.map((w) => w.rps)), 3).padStart(14)}${`${fmt(median(ch.via.map((w) => w.p50Ms)) - median(x.direct.map((w) => w.p50Ms)), 3)}ms`.padStart(11)}${`${fmt(cpuChain, 1)}µs`.padStart(15)}${`${fmt(cpuL4, 1)}µs`.padStart(12)}${fmt(cpuChain / cpuL4, 2).padStart(14)}`,
      );
    }
    console.log("(target: chain CPU/req <= 1.15x the L4 path's; p50 added through two sidecars < 0.3 ms at c=1)");
    console.log("\nHTTP/2 multiplexed vs HTTP/1.1 (h2load, same rounds):");
    console.log(`${"run".padEnd(22)}${"req/s".padStart(10)}${"mean".padStart(11)}${"sidecar CPU/req".padStart(17)}`);
    for (const [name, xs] of Object.entries(h2)) {
      console.log(`${name.padEnd(22)}${fmt(median(xs.map((x) => x.rps))).padStart(10)}${`${fmt(median(xs.map((x) => x.meanMs)), 3)}ms`.padStart(11)}${(Number.isFinite(median(xs.map((x) => x.sidecarUsPerReq))) ? `${fmt(median(xs.map((x) => x.sidecarUsPerReq)), 1)}µs` : "-").padStart(17)}`);
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
