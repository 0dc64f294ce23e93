/**
 * Runner of bench/apigw (see README.md). One dev agent; one backend app
 * answering "ok" over plain HTTP (the direct baseline) and over mutual TLS
 * with the `api` service's Connect leaf (registered Connect-native, so no
 * sidecar sits in any path); and, in front of it, each terminating the same
 * HTTPS certificate (ECDSA P-256) and dialling the backend over mutual TLS:
 *
 * - the API gateway on Bun (`connect proxy -gateway=api`);
 * - the API gateway on Node (the esbuild bundle), which is also the edge relay;
 * - the gateway's bundle in workerd (from the npm package), through that relay;
 * - the same bundle through the Bun gateway as its relay (the runtime `connect proxy` runs on when installed);
 * - nginx as a reverse proxy (one worker, upstream keep-alive, the gateway's leaf as client certificate).
 *
 * The systems under test are pinned to CPU0; wrk, the backend and the agent
 * to CPU1. Rounds alternate the paths; the medians print with same-run
 * ratios and each path's CPU (utime+stime from /proc) per request.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { cpuSeconds, sleep, startPinned, stop, stopAll, waitReady } from "../kv/procs.ts";
import { consulateArgv, ROOT, runtimeBanner } from "../_runtime.ts";
import { wrk, type WrkResult } from "../proxy/wrk.ts";

const SECONDS = Number(process.argv[2] ?? "4");
const ROUNDS = Number(process.env.APIGW_BENCH_ROUNDS ?? "3");
const TMP = process.env.APIGW_BENCH_TMP ?? "/tmp";
const HOST = "gw.bench.test";
/** PROFILE=dir: the Bun gateway writes a sampling profile (markdown) there when it exits, the Node one a .cpuprofile. */
const PROFILE = process.env.PROFILE ?? "";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** curl over HTTPS without verification (the probe only asks whether the path answers "ok"). */
function answers(port: number, tls: boolean): boolean {
  const url = `${tls ? "https" : "http"}://${HOST}:${port}/`;
  const r = spawnSync("curl", ["-sk", "--max-time", "2", "--resolve", `${HOST}:${port}:127.0.0.1`, url], { encoding: "utf8" });
  return r.stdout === "ok";
}

const median = (xs: number[]) => {
  const s = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "-");

/** A process and its children (nginx's worker; workerd runs in one process). */
function treeCpu(pid: number): number {
  let total = cpuSeconds(pid);
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean)) total += treeCpu(Number(c));
    }
  } catch {
    // gone
  }
  return total;
}

async function agentApi(base: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`${base}${path}`, body === undefined ? {} : { method: "PUT", body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${body === undefined ? "GET" : "PUT"} ${path}: ${res.status} ${text}`);
  return text === "" ? null : JSON.parse(text);
}

function nginxConf(o: { port: number; backend: number; cert: string; key: string; leafCert: string; leafKey: string }): string {
  return `worker_processes 1;
error_log ${join(TMP, "nginx-error.log")} warn;
pid ${join(TMP, "nginx.pid")};
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${TMP}; proxy_temp_path ${TMP}; fastcgi_temp_path ${TMP}; uwsgi_temp_path ${TMP}; scgi_temp_path ${TMP};
  # Kept-alive upstream connections, each reused without bound as the gateway's pool does (nginx's default closes one every 1000 requests).
  upstream api { server 127.0.0.1:${o.backend}; keepalive 64; keepalive_requests 1000000; keepalive_timeout 60s; }
  server {
    listen 127.0.0.1:${o.port} ssl;
    ssl_certificate ${o.cert};
    ssl_certificate_key ${o.key};
    ssl_protocols TLSv1.2 TLSv1.3;
    keepalive_requests 1000000;
    location / {
      proxy_pass https://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_certificate ${o.leafCert};
      proxy_ssl_certificate_key ${o.leafKey};
      proxy_ssl_session_reuse on;
    }
  }
}
`;
}

async function backendConnections(port: number): Promise<number> {
  return Number(await (await fetch(`http://127.0.0.1:${port}/_connections`)).text());
}

interface Path {
  readonly name: string;
  readonly port: number;
  readonly tls: boolean;
  /** CPU seconds of the processes under test (0 for direct). */
  readonly cpu: () => number;
}

async function main(): Promise<void> {
  const bun = consulateArgv("bun");
  const node = consulateArgv("node");
  console.log(runtimeBanner("bun"));
  const [plain, mtls, bunPort, nodePort, relayPort, edgePort, nginxPort, bunRelayPort, edgeBunPort] = (await Promise.all(Array.from({ length: 9 }, freePort))) as [number, number, number, number, number, number, number, number, number];
  // Every port the agent binds is a free one, so the bench runs beside another agent (or another run of itself).
  const [http, dns, server, serfLan, serfWan] = (await Promise.all(Array.from({ length: 5 }, freePort))) as [number, number, number, number, number];
  const base = `http://127.0.0.1:${http}`;
  const agentPorts = ["-http-port", String(http), "-dns-port", String(dns), "-server-port", String(server), "-serf-lan-port", String(serfLan), "-serf-wan-port", String(serfWan)];
  const agent = startPinned(TMP, "agent", 1, [...bun, "agent", "-dev", ...agentPorts, "-log-level", "warn"]);
  await waitReady(agent, async () => (await fetch(`${base}/v1/status/leader`)).status === 200, 30_000);

  // Certificates: the listener's (self-signed, as the tests' inline-certificate), the backend's leaf, the gateway's leaf for nginx.
  const f = (n: string) => join(TMP, n);
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", `/CN=${HOST}`, "-addext", `subjectAltName=DNS:${HOST}`, "-keyout", f("gw.key"), "-out", f("gw.crt")], { stdio: "ignore" });
  const leaf = async (svc: string) => {
    const l = (await agentApi(base, `/v1/agent/connect/ca/leaf/${svc}`)) as { CertPEM: string; PrivateKeyPEM: string };
    writeFileSync(f(`${svc}.crt`), l.CertPEM);
    writeFileSync(f(`${svc}.key`), l.PrivateKeyPEM);
  };
  await leaf("api");
  await leaf("gw-nginx");
  const roots = (await agentApi(base, "/v1/agent/connect/ca/roots")) as { Roots: { RootCert: string }[] };
  writeFileSync(f("roots.pem"), roots.Roots.map((r) => r.RootCert).join("\n"));

  const backend = startPinned(TMP, "backend", 1, ["node", join(ROOT, "bench/apigw/backend.mjs"), String(plain), String(mtls), f("api.crt"), f("api.key"), f("roots.pem")]);
  await waitReady(backend, async () => answers(plain, false), 10_000);
  await agentApi(base, "/v1/agent/service/register", { Name: "api", Address: "127.0.0.1", Port: mtls, Connect: { Native: true } });

  const certPem = readFileSync(f("gw.crt"), "utf8");
  const keyPem = readFileSync(f("gw.key"), "utf8");
  const listener = (Port: number) => [{ Name: "https", Port, Protocol: "http", TLS: { Certificates: [{ Kind: "inline-certificate", Name: "gw-cert" }] } }];
  for (const e of [
    { Kind: "service-defaults", Name: "api", Protocol: "http" },
    { Kind: "inline-certificate", Name: "gw-cert", Certificate: certPem, PrivateKey: keyPem },
    { Kind: "api-gateway", Name: "gw-bun", Listeners: listener(bunPort) },
    { Kind: "api-gateway", Name: "gw-node", Listeners: listener(nodePort) },
    { Kind: "http-route", Name: "all", Parents: [{ Kind: "api-gateway", Name: "gw-bun" }, { Kind: "api-gateway", Name: "gw-node" }], Rules: [{ Services: [{ Name: "api" }] }] },
  ]) {
    await agentApi(base, "/v1/config", e);
  }

  const gwArgv = (rt: string[], name: string, port: number) => [...rt, "connect", "proxy", "-gateway=api", "-register", "-service", name, "-address", `127.0.0.1:${port}`, "-http-addr", `127.0.0.1:${http}`, "-log-level", "warn"];
  const prof = PROFILE ? ["--cpu-prof-md", `--cpu-prof-dir=${PROFILE}`, "--cpu-prof-interval=200"] : [];
  // As `consulate connect proxy` launched under Bun by the Node launcher (src/runtime/relaunch.ts): the allocator keeps freed pages for reuse.
  const allocatorEnv = process.env.APIGW_BENCH_PURGE === "default" ? [] : ["env", "MIMALLOC_PURGE_DELAY=-1"];
  const gwBun = startPinned(TMP, "gw-bun", 0, [...allocatorEnv, ...gwArgv([bun[0]!, ...prof, ...bun.slice(1)], "gw-bun", bunPort), "-edge-bind", `127.0.0.1:${bunRelayPort}`, "-edge-certificate", "gw-cert"]);
  const nodeProf = PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE}`] : [];
  const gwNode = startPinned(TMP, "gw-node", 0, [...gwArgv([node[0]!, ...nodeProf, ...node.slice(1)], "gw-node", nodePort), "-edge-bind", `127.0.0.1:${relayPort}`, "-edge-certificate", "gw-cert"]);
  await waitReady(gwBun, async () => answers(bunPort, true), 60_000);
  await waitReady(gwNode, async () => answers(nodePort, true), 60_000);

  // One bundle per relay: through the Node gateway and through the Bun one.
  const edge = async (label: string, gateway: string, listen: number, relay: number) => {
    const dir = f(label);
    execFileSync(bun[0]!, [...bun.slice(1), "api-gateway", "bundle", "-gateway", gateway, "-target", "workerd", "-out", dir, "-listen", `127.0.0.1:${listen}`, "-relay", `127.0.0.1:${relay}`, "-relay-host", HOST, "-relay-certificate", "gw-cert", "-http-addr", `127.0.0.1:${http}`], { stdio: "ignore" });
    const proc = startPinned(TMP, label, 0, [join(ROOT, "node_modules/.bin/workerd"), "serve", join(dir, "config.capnp")]);
    await waitReady(proc, async () => answers(listen, true), 30_000);
    return proc;
  };
  const workerd = await edge("workerd", "gw-node", edgePort, relayPort);
  const workerdBun = await edge("workerd-bun", "gw-bun", edgeBunPort, bunRelayPort);

  writeFileSync(f("nginx.conf"), nginxConf({ port: nginxPort, backend: mtls, cert: f("gw.crt"), key: f("gw.key"), leafCert: f("gw-nginx.crt"), leafKey: f("gw-nginx.key") }));
  const nginx = startPinned(TMP, "nginx", 0, ["nginx", "-p", TMP, "-c", f("nginx.conf"), "-g", "daemon off;"]);
  await waitReady(nginx, async () => answers(nginxPort, true), 10_000);

  const all: Path[] = [
    { name: "direct (http)", port: plain, tls: false, cpu: () => 0 },
    { name: "gateway on Bun", port: bunPort, tls: true, cpu: () => cpuSeconds(gwBun.pid) },
    { name: "gateway on Node", port: nodePort, tls: true, cpu: () => cpuSeconds(gwNode.pid) },
    // The edge path: workerd, then the relay (a gateway process) into the mesh.
    { name: "workerd + Node relay", port: edgePort, tls: true, cpu: () => treeCpu(workerd.pid) + cpuSeconds(gwNode.pid) },
    { name: "workerd + Bun relay", port: edgeBunPort, tls: true, cpu: () => treeCpu(workerdBun.pid) + cpuSeconds(gwBun.pid) },
    { name: "nginx", port: nginxPort, tls: true, cpu: () => treeCpu(nginx.pid) },
  ];
  // APIGW_BENCH_ONLY=regex keeps some paths (direct and nginx always run: they are the baselines).
  const only = new RegExp(process.env.APIGW_BENCH_ONLY ?? ".");
  const paths = all.filter((p) => p.name === "direct (http)" || p.name === "nginx" || only.test(p.name));
  const modes = [
    { name: "c=32", connections: 32 },
    { name: "c=1", connections: 1 },
  ] as const;
  // Warm-up, not measured: the JIT runtimes compile the request path over their first seconds of load (nginx gets the same run).
  for (const p of paths) if (p.tls) await wrk(TMP, `https://127.0.0.1:${p.port}/`, { seconds: SECONDS, connections: 32 });
  const runs = new Map<string, { wrk: WrkResult[]; cpuUs: number[] }>();
  console.log(`bench/apigw: gateways, workerd and nginx pinned to CPU0; wrk (HTTPS, keep-alive), the backend and the agent on CPU1; one warm-up run per path, then ${ROUNDS} rounds of ${SECONDS}s per run`);
  for (let r = 1; r <= ROUNDS; r++) {
    for (const m of modes) {
      for (const p of paths) {
        const key = `${m.name}|${p.name}`;
        const conns0 = await backendConnections(plain);
        const c0 = p.cpu();
        const w = await wrk(TMP, `${p.tls ? "https" : "http"}://127.0.0.1:${p.port}/`, { seconds: SECONDS, connections: m.connections });
        const cpu = p.cpu() - c0;
        const opened = (await backendConnections(plain)) - conns0;
        const slot = runs.get(key) ?? { wrk: [], cpuUs: [] };
        slot.wrk.push(w);
        slot.cpuUs.push(p.name.startsWith("direct") || w.requests === 0 ? Number.NaN : (cpu * 1e6) / w.requests);
        runs.set(key, slot);
        console.log(`  round ${r} ${m.name.padEnd(5)} ${p.name.padEnd(21)} ${fmt(w.rps).padStart(7)} req/s  p50 ${fmt(w.p50Ms, 3)} ms  p99 ${fmt(w.p99Ms, 3)} ms  (errors ${w.socketErrors}, bad status ${w.badStatus}, backend connections opened ${opened})`);
      }
    }
  }
  console.log("");
  console.log(`${"mode".padEnd(6)}${"path".padEnd(22)}${"req/s".padStart(8)}${"/direct".padStart(9)}${"/nginx".padStart(8)}${"p50".padStart(10)}${"p50 added".padStart(11)}${"p99".padStart(10)}${"p99 added".padStart(11)}${"CPU/req".padStart(10)}`);
  for (const m of modes) {
    const get = (p: string) => runs.get(`${m.name}|${p}`);
    const d = get("direct (http)")!;
    const ng = get("nginx")!;
    const rps = (x: { wrk: WrkResult[] }) => median(x.wrk.map((w) => w.rps));
    for (const p of paths) {
      const x = get(p.name);
      if (!x) continue;
      const p50 = median(x.wrk.map((w) => w.p50Ms));
      const p99 = median(x.wrk.map((w) => w.p99Ms));
      const p50d = median(d.wrk.map((w) => w.p50Ms));
      const p99d = median(d.wrk.map((w) => w.p99Ms));
      const direct = p === paths[0];
      console.log(
        `${m.name.padEnd(6)}${p.name.padEnd(22)}${fmt(rps(x)).padStart(8)}${fmt(rps(x) / rps(d), 3).padStart(9)}${(direct ? "-" : fmt(rps(x) / rps(ng), 3)).padStart(8)}${`${fmt(p50, 3)}ms`.padStart(10)}${(direct ? "-" : `${fmt(p50 - p50d, 3)}ms`).padStart(11)}${`${fmt(p99, 3)}ms`.padStart(10)}${(direct ? "-" : `${fmt(p99 - p99d, 3)}ms`).padStart(11)}${(direct ? "-" : `${fmt(median(x.cpuUs), 1)}µs`).padStart(10)}`,
      );
    }
  }
  if (PROFILE) {
    await stop(gwNode, 15_000);
    await stop(gwBun, 15_000);
    const md = readdirSync(PROFILE).filter((n) => n.endsWith(".md")).sort().at(-1);
    console.log(md ? `\nProfile of the Bun gateway (${join(PROFILE, md)}), first lines:\n${readFileSync(join(PROFILE, md), "utf8").split("\n").slice(0, 80).join("\n")}` : `\nno profile written in ${PROFILE}`);
  }
  const target = (p: string) => median((runs.get(`c=32|${p}`)?.wrk ?? []).map((w) => w.rps)) / median(runs.get("c=32|nginx")!.wrk.map((w) => w.rps));
  console.log(`\nTarget >= 0.7 of nginx's rate (c=32): gateway on Bun ${fmt(target("gateway on Bun"), 3)}, on Node ${fmt(target("gateway on Node"), 3)}, workerd + Node relay ${fmt(target("workerd + Node relay"), 3)}, workerd + Bun relay ${fmt(target("workerd + Bun relay"), 3)}`);
  console.log("(medians of the rounds; 'added' = path - direct; CPU/req = utime+stime of the path's own processes per request (workerd + relay: both);");
  console.log(" direct is plain HTTP to the backend, every other path terminates TLS and dials the backend over mutual TLS; a shared 2-core VM: noisy)");
}

try {
  await main();
} finally {
  await stopAll();
  rmSync(join(ROOT, "dist", "bench-apigw"), { force: true, recursive: true });
  await sleep(100);
}
