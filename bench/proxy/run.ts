/**
 * Runner of bench/proxy (see README.md): starts a dev agent, the app, and the
 * web and db sidecars (`consulate connect proxy -sidecar-for`), then runs wrk
 * rounds alternating direct-to-app and through-the-sidecars, and prints
 * medians with ratios. Sidecars are pinned to CPU0 (the system under test);
 * wrk, the app and the agent to CPU1.
 */
import { defaultRuntime, type Runtime, runtimeBanner } from "../_runtime.ts";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { type Child, cpuSeconds, sleep, startPinned, stopAll, waitReady } from "../kv/procs.ts";
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
}

/**
 * The two sidecars, configured from a real dev agent (`sidecar_service`
 * registrations, `connect proxy -sidecar-for`). An agent without the Connect
 * CA endpoints (or PROXY_BENCH_CONTROL=stub) runs them from flags against the
 * test suite's stand-in control plane instead; the data path is the same.
 */
async function startMesh(appPort: number, dbPublic: number, webUpstream: number): Promise<Mesh> {
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
    return { note: "control plane: the tests' stand-in (this agent has no Connect CA endpoints)", dbProxy, webProxy, viaPort: webUpstream };
  }
  const register = async (body: unknown) => {
    const res = await fetch(`http://${agentAddr}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  };
  // Alias checks pass as soon as the services do, so the run need not wait for a TCP check interval.
  await register({ Name: "db", Port: appPort, Connect: { SidecarService: { Port: dbPublic, Check: { Name: "alias", AliasService: "db" } } } });
  await register({
    Name: "web",
    Port: 1,
    Connect: { SidecarService: { Check: { Name: "alias", AliasService: "web" }, Port: await freePort(), Proxy: { Upstreams: [{ DestinationName: "db", LocalBindPort: webUpstream }] } } },
  });
  const dbProxy = startPinned(TMP, "db-sidecar", 0, [...base, "connect", "proxy", "-sidecar-for", "db", "-http-addr", agentAddr, "-log-level", "warn"]);
  const webProxy = startPinned(TMP, "web-sidecar", 0, [...base, "connect", "proxy", "-sidecar-for", "web", "-http-addr", agentAddr, "-log-level", "warn"]);
  return { note: "control plane: dev agent, sidecar_service registrations", dbProxy, webProxy, viaPort: webUpstream };
}

async function main(): Promise<void> {
  const [appPort, dbPublic, webUpstream] = await Promise.all([freePort(), freePort(), freePort()]);
  const app = startPinned(TMP, "app", 1, ["node", join(ROOT, "bench/proxy/backend.mjs"), String(appPort)]);
  await waitReady(app, () => ok(`http://127.0.0.1:${appPort}/`), 10_000);
  const mesh = await startMesh(appPort, dbPublic, webUpstream);
  const { dbProxy, webProxy } = mesh;
  const via = `http://127.0.0.1:${mesh.viaPort}`;
  await waitReady(webProxy, () => ok(`${via}/`), 60_000);

  const modes = [
    { name: "keep-alive c=32", connections: 32, close: false },
    { name: "keep-alive c=1", connections: 1, close: false },
    { name: "new conn c=8", connections: 8, close: true },
  ] as const;
  const results: Record<string, { direct: WrkResult[]; via: WrkResult[]; sidecarUsPerReq: number[] }> = {};
  for (const m of modes) results[m.name] = { direct: [], via: [], sidecarUsPerReq: [] };
  console.log(runtimeBanner(RUNTIME as Runtime));
  console.log(`bench/proxy: sidecars on ${RUNTIME} pinned to CPU0; wrk, app and agent on CPU1; ${ROUNDS} rounds of ${SECONDS}s per run; ${mesh.note}`);
  for (let r = 1; r <= ROUNDS; r++) {
    for (const m of modes) {
      const opts = { seconds: SECONDS, connections: m.connections, ...(m.close ? { headers: { Connection: "close" } } : {}) };
      results[m.name]!.direct.push(await wrk(TMP, `http://127.0.0.1:${appPort}/`, opts));
      const cpu0 = cpuSeconds(dbProxy.pid) + cpuSeconds(webProxy.pid);
      const v = await wrk(TMP, `${via}/`, opts);
      const cpu = cpuSeconds(dbProxy.pid) + cpuSeconds(webProxy.pid) - cpu0;
      results[m.name]!.via.push(v);
      results[m.name]!.sidecarUsPerReq.push(v.requests > 0 ? (cpu * 1e6) / v.requests : Number.NaN);
      console.log(`  round ${r} ${m.name.padEnd(16)} direct ${fmt(results[m.name]!.direct.at(-1)!.rps)} req/s, via sidecars ${fmt(v.rps)} req/s (errors ${v.socketErrors}, bad status ${v.badStatus})`);
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
}

try {
  await main();
} finally {
  await stopAll();
  for (const f of cleanupFiles) rmSync(f, { force: true });
  await sleep(100);
}
