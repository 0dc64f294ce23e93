/**
 * Where a mesh gateway connection's CPU goes, without TLS crypto in the way:
 * each connection sends a real ClientHello and a small request, a plain TCP
 * backend answers and closes. Runs the gateway (`connect proxy
 * -gateway=mesh`) under Node and Bun, and as the floor a bare relay on the
 * same runtime (accept, connect, pipe: no hello read, no routing), and prints
 * the proxy's CPU µs per connection and per small request for each, with
 * ratios ours / bare relay, and a bare relay on Bun's own sockets
 * (Bun.listen/Bun.connect) to show what the node:net layer costs there.
 * PROFILE=dir adds `--cpu-prof` under Node and `--cpu-prof-md` under Bun;
 * ONLY=bun (or node) runs one runtime's rows.
 *
 *     bun bench/gateway/conn_profile.ts [connections]      (default 3000)
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { type AddressInfo, connect, createServer } from "node:net";
import { join } from "node:path";
import { FakeControlPlane } from "../../test/connect/_control_plane.ts";
import { TRUST_DOMAIN } from "../../test/connect/_certs.ts";
import { captureHello } from "../../test/gateways/_hello.ts";
import { cpuSeconds } from "../kv/procs.ts";
import { consulateArgv, ROOT } from "../_runtime.ts";

const N = Number(process.argv[2] ?? 3000);
const PARALLEL = 8;
const PROFILE = process.env.PROFILE ?? "";
const SNI = `web.default.dc1.internal.${TRUST_DOMAIN}`;

const freePort = () =>
  new Promise<number>((r) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => r(p));
    });
  });

// The backend answers every chunk with a small reply (a request/response protocol); a half-close ends it.
const backend = createServer({ allowHalfOpen: true }, (s) => {
  s.on("data", () => s.write("ok\n"));
  s.on("end", () => s.end());
  s.on("error", () => {});
});
await new Promise<void>((r) => backend.listen(0, "127.0.0.1", () => r()));
const backendPort = (backend.address() as AddressInfo).port;
const cp = await FakeControlPlane.start();
// Blocking queries held as long as the gateway asks (a real agent's), so its watches do not poll during measurements.
cp.maxWaitMs = 120_000;
cp.instances.set("web", [{ address: "127.0.0.1", port: backendPort, id: "web-1" }]);
const hello = await captureHello({ servername: SNI });

const TMP = mkdtempSync(join(tmpdir(), "gateway-conn-profile-"));
const BARE = `const net = require("node:net");
const [port, up] = process.argv.slice(2).map(Number);
net.createServer({ allowHalfOpen: true, noDelay: true }, (c) => {
  const u = net.connect({ port: up, host: "127.0.0.1", allowHalfOpen: true, noDelay: true });
  c.on("error", () => u.destroy()); u.on("error", () => c.destroy());
  c.pipe(u); u.pipe(c);
}).listen(port, "127.0.0.1");`;
writeFileSync(join(TMP, "bare_relay.cjs"), BARE);
// The same relay on Bun's own sockets (no node:net stream layer; small writes only, so no back-pressure handling).
const BUN_NATIVE = `const [port, up] = process.argv.slice(2).map(Number);
Bun.listen({ hostname: "127.0.0.1", port, socket: {
  open(c) { c.data = { up: null, pending: [] };
    Bun.connect({ hostname: "127.0.0.1", port: up, socket: {
      open(u) { u.data = c; c.data.up = u; for (const p of c.data.pending) u.write(p); c.data.pending = []; },
      data(u, d) { u.data.write(d); }, close(u) { u.data.end(); }, error() {} } }).catch(() => c.end()); },
  data(c, d) { if (c.data.up) c.data.up.write(d); else c.data.pending.push(new Uint8Array(d)); },
  close(c) { c.data.up?.end(); }, error() {} } });`;
writeFileSync(join(TMP, "bun_native_relay.mjs"), BUN_NATIVE);

async function listening(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), r(true)));
    s.once("error", () => r(false));
  });
}

/** One connection: the hello, then `requests` small request/response rounds, then a half-close. */
function oneConnection(port: number, requests: number): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let left = requests;
    s.setNoDelay(true);
    s.on("connect", () => s.write(hello));
    s.on("data", () => {
      if (--left > 0) s.write("GET / HTTP/1.1\r\n\r\n");
      else s.end();
    });
    s.on("error", () => resolve());
    s.on("close", () => resolve());
  });
}

async function measure(port: number, pid: number, conns: number, requests: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next++ < conns) await oneConnection(port, requests);
    }),
  );
  return ((cpuSeconds(pid) - c0) * 1e6) / conns;
}

async function run(label: string, argv: string[], port: number): Promise<{ label: string; conn: number; req: number }> {
  // As bench/gateway/run.sh runs it under Bun (Node ignores it).
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: "ignore", env: { ...process.env, MIMALLOC_PURGE_DELAY: "-1" } });
  for (let i = 0; i < 200 && !(await listening(port)); i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1_000));
  await measure(port, child.pid!, 200, 1); // warm-up
  const conn = await measure(port, child.pid!, N, 1);
  const req = (await measure(port, child.pid!, Math.max(50, Math.floor(N / 20)), 100)) / 100;
  child.kill("SIGTERM");
  await new Promise((r) => child.once("exit", r));
  return { label, conn, req };
}

const ONLY = process.env.ONLY ?? "";
const rows: { label: string; conn: number; req: number }[] = [];
for (const rt of (["node", "bun"] as const).filter((r) => ONLY === "" || ONLY === r)) {
  const p1 = await freePort();
  const prof = !PROFILE ? [] : rt === "node" ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE}`] : ["--cpu-prof-md", `--cpu-prof-dir=${PROFILE}`];
  const argv = consulateArgv(rt);
  rows.push(await run(`ours (${rt})`, [argv[0]!, ...prof, ...argv.slice(1), "connect", "proxy", "-gateway=mesh", "-address", `127.0.0.1:${p1}`, "-http-addr", cp.address, "-log-level", "error"], p1));
  const p2 = await freePort();
  rows.push(await run(`bare relay (${rt})`, [rt === "node" ? "node" : join(ROOT, "node_modules/.bin/bun"), join(TMP, "bare_relay.cjs"), String(p2), String(backendPort)], p2));
}
if (ONLY !== "node") {
  const p3 = await freePort();
  rows.push(await run("bare relay (Bun.listen/Bun.connect)", [join(ROOT, "node_modules/.bin/bun"), join(TMP, "bun_native_relay.mjs"), String(p3), String(backendPort)], p3));
}
process.stdout.write(`\n${N} connections (${PARALLEL} at a time), each a ClientHello + one reply; then small request/response rounds on ${Math.max(50, Math.floor(N / 20))} connections x 100\n\n| proxy | CPU µs/conn | CPU µs/req |\n|---|---|---|\n`);
for (const r of rows) process.stdout.write(`| ${r.label} | ${r.conn.toFixed(0)} | ${r.req.toFixed(1)} |\n`);
const row = (label: string) => rows.find((r) => r.label === label);
const ratio = (what: string, a: string, b: string) => {
  const x = row(a);
  const y = row(b);
  if (x && y) process.stdout.write(`${what}: per connection ${(x.conn / y.conn).toFixed(2)}x, per request ${(x.req / y.req).toFixed(2)}x\n`);
};
ratio("node: ours / bare node:net relay", "ours (node)", "bare relay (node)");
ratio("bun: ours / bare node:net relay", "ours (bun)", "bare relay (bun)");
ratio("bun: ours / bare native relay", "ours (bun)", "bare relay (Bun.listen/Bun.connect)");
ratio("bun: bare node:net relay / bare native relay", "bare relay (bun)", "bare relay (Bun.listen/Bun.connect)");
backend.close();
await cp.stop();
rmSync(TMP, { recursive: true, force: true });
process.exit(0);
