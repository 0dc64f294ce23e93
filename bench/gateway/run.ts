/**
 * Driver of bench/gateway/run.sh (runs on CPU1 with the load and the
 * backends; the proxies under test run on CPU0). Three paths to the same
 * backends: direct, HAProxy in TCP mode routing on req_ssl_sni, and the
 * Consulate mesh gateway (`connect proxy -gateway=mesh`, fed by the tests'
 * stand-in control plane). Three measurements each:
 *   1. small requests over persistent TLS (h2load --h1 -c32 to nginx `return 200`),
 *   2. new TLS connections (a client loop of full ECDSA handshakes, 8 at a time),
 *   3. bulk bytes after a ClientHello (opaque to both proxies: the per-byte cost),
 * with each proxy's CPU (utime+stime from /proc) per request, per connection and per GB.
 */
import { consulateArgv, defaultProxyRuntime, runtimeBanner, sutRuntime } from "../_runtime.ts";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { connect as netConnect, createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { FakeControlPlane } from "../../test/connect/_control_plane.ts";
import { TRUST_DOMAIN } from "../../test/connect/_certs.ts";
import { captureHello } from "../../test/gateways/_hello.ts";
import { type Child, cpuSeconds, runPinned, sleep, startPinned, stopAll, waitReady } from "../kv/procs.ts";

const TMP = process.env.GATEWAY_BENCH_TMP ?? "/tmp";
const SECONDS = Number(process.argv[2] ?? 5);
const ROUNDS = Number(process.env.GATEWAY_BENCH_ROUNDS ?? 3);
/** RUNTIME=node|bun|deno; by default what `consulate connect proxy` runs the gateway on (Bun when installed). */
const RUNTIME = sutRuntime(defaultProxyRuntime);
/**
 * Under Bun every socket read lands in a fresh buffer; with the allocator's
 * default (freed pages handed back to the OS within ~10 ms) a bulk stream
 * faults in new pages for every read, which cost several times the relay's
 * own work. MIMALLOC_PURGE_DELAY=-1 keeps freed pages for reuse (see
 * README.md); GATEWAY_BENCH_PURGE=default measures without it.
 */
const ALLOCATOR_ENV = RUNTIME === "bun" && process.env.GATEWAY_BENCH_PURGE !== "default" ? ["env", "MIMALLOC_PURGE_DELAY=-1"] : [];
const WEB_SNI = `web.default.dc1.internal.${TRUST_DOMAIN}`;
const BULK_SNI = `bulk.default.dc1.internal.${TRUST_DOMAIN}`;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

const median = (xs: number[]) => {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : Number.NaN;
};

async function main(): Promise<void> {
  // Backends on CPU1: nginx answering "ok" over TLS (ECDSA P-256), and a sink for bulk bytes.
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(TMP, "key.pem"), "-out", join(TMP, "cert.pem"), "-days", "2", "-subj", "/CN=localhost"], { stdio: "ignore" });
  const nginxPort = await freePort();
  writeFileSync(
    join(TMP, "nginx.conf"),
    `daemon off; worker_processes 1; pid ${TMP}/nginx.pid; error_log ${TMP}/nginx.err warn;
events { worker_connections 4096; }
http { access_log off; client_body_temp_path ${TMP}; proxy_temp_path ${TMP}; fastcgi_temp_path ${TMP}; uwsgi_temp_path ${TMP}; scgi_temp_path ${TMP};
  server { listen 127.0.0.1:${nginxPort} ssl; ssl_certificate ${TMP}/cert.pem; ssl_certificate_key ${TMP}/key.pem; keepalive_requests 1000000;
    location / { return 200 "ok\\n"; } } }
`,
  );
  const nginx = startPinned(TMP, "nginx", 1, ["nginx", "-c", join(TMP, "nginx.conf"), "-p", TMP]);
  await waitReady(nginx, () => listening(nginxPort), 10_000);

  let sunk = 0;
  const sink = createServer((s) => {
    s.on("data", (c: Uint8Array) => (sunk += c.length));
    s.on("error", () => {});
  });
  await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
  const sinkPort = (sink.address() as AddressInfo).port;

  const cp = await FakeControlPlane.start();
  // Blocking queries held as long as the gateway asks (a real agent's), so its watches do not poll during measurements.
  cp.maxWaitMs = 120_000;
  cp.instances.set("web", [{ address: "127.0.0.1", port: nginxPort, id: "web-1" }]);
  cp.instances.set("bulk", [{ address: "127.0.0.1", port: sinkPort, id: "bulk-1" }]);

  // The proxies on CPU0.
  const oursPort = await freePort();
  const ours = startPinned(TMP, "gateway", 0, [...ALLOCATOR_ENV, ...consulateArgv(RUNTIME), "connect", "proxy", "-gateway=mesh", "-address", `127.0.0.1:${oursPort}`, "-http-addr", cp.address, "-max-connections", "9000", "-log-level", "error"]);
  const haPort = await freePort();
  writeFileSync(
    join(TMP, "haproxy.cfg"),
    `global
  nbthread 1
  maxconn 9000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend sni
  bind 127.0.0.1:${haPort}
  tcp-request inspect-delay 5s
  tcp-request content accept if { req_ssl_hello_type 1 }
  use_backend be_web if { req_ssl_sni -i ${WEB_SNI} }
  use_backend be_bulk if { req_ssl_sni -i ${BULK_SNI} }
backend be_web
  server s1 127.0.0.1:${nginxPort}
backend be_bulk
  server s1 127.0.0.1:${sinkPort}
`,
  );
  const haproxy = startPinned(TMP, "haproxy", 0, ["haproxy", "-db", "-f", join(TMP, "haproxy.cfg")]);
  await waitReady(haproxy, () => listening(haPort), 10_000);
  await waitReady(ours, () => listening(oursPort), 20_000);
  await sleep(1_000);

  const paths: { name: string; port: number; proc: Child | null }[] = [
    { name: "direct", port: nginxPort, proc: null },
    { name: "haproxy", port: haPort, proc: haproxy },
    { name: "ours", port: oursPort, proc: ours },
  ];
  const hello = await captureHello({ servername: BULK_SNI });
  type Row = { rps: number[]; mean: number[]; cpuReq: number[]; cps: number[]; cpuConn: number[]; mbps: number[]; cpuGb: number[] };
  const rows: Record<string, Row> = {};
  for (const p of paths) rows[p.name] = { rps: [], mean: [], cpuReq: [], cps: [], cpuConn: [], mbps: [], cpuGb: [] };
  const cpu = (p: { proc: Child | null }) => (p.proc ? cpuSeconds(p.proc.pid) : 0);

  for (let round = 1; round <= ROUNDS; round++) {
    for (const p of paths) {
      const row = rows[p.name]!;
      // 1. Small requests over persistent TLS.
      let c0 = cpu(p);
      const h = await runPinned(TMP, "h2load", 1, ["h2load", "--h1", "-D", String(SECONDS), "-c", "32", "-t", "1", `--connect-to=127.0.0.1:${p.port}`, `https://${p.name === "direct" ? "localhost" : WEB_SNI}:${p.port}/`], (SECONDS + 30) * 1000);
      const req = Number(/requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/.exec(h.stdout)?.[2] ?? Number.NaN);
      row.rps.push(Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(h.stdout)?.[1] ?? Number.NaN));
      const m = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(h.stdout)?.[1] ?? "";
      row.mean.push(m.endsWith("us") ? Number.parseFloat(m) / 1000 : Number.parseFloat(m));
      if (p.proc) row.cpuReq.push(((cpu(p) - c0) * 1e6) / req);

      // 2. New TLS connections, 8 at a time, each a full handshake.
      c0 = cpu(p);
      let conns = 0;
      const until = performance.now() + SECONDS * 1000;
      const loop = async () => {
        while (performance.now() < until) {
          await new Promise<void>((resolve) => {
            const s = tlsConnect({ host: "127.0.0.1", port: p.port, servername: WEB_SNI, rejectUnauthorized: false });
            s.once("secureConnect", () => {
              conns++;
              s.destroy();
              resolve();
            });
            s.once("error", () => resolve());
          });
        }
      };
      const t0 = performance.now();
      await Promise.all(Array.from({ length: 8 }, loop));
      row.cps.push(conns / ((performance.now() - t0) / 1000));
      if (p.proc) row.cpuConn.push(((cpu(p) - c0) * 1e6) / conns);

      // 3. Bulk: a ClientHello, then opaque bytes as fast as they go.
      c0 = cpu(p);
      sunk = 0;
      const bulkPort = p.name === "direct" ? sinkPort : p.port;
      const s = netConnect(bulkPort, "127.0.0.1");
      await new Promise((r) => s.once("connect", r));
      s.write(hello);
      const chunk = Buffer.alloc(256 * 1024, 0x5a);
      const b0 = performance.now();
      const stopAt = b0 + SECONDS * 1000;
      while (performance.now() < stopAt) if (!s.write(chunk)) await new Promise((r) => s.once("drain", r));
      s.destroy();
      const secs = (performance.now() - b0) / 1000;
      row.mbps.push(sunk / 1e6 / secs);
      if (p.proc) row.cpuGb.push((cpu(p) - c0) / (sunk / 1e9));
      await sleep(300);
    }
    process.stdout.write(`round ${round}/${ROUNDS} done\n`);
  }

  const med = (name: string, k: keyof Row) => median(rows[name]![k]);
  const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }) : "n/a");
  process.stdout.write(`\n${runtimeBanner(RUNTIME, defaultProxyRuntime)}\nmedians of ${ROUNDS} round(s), ${SECONDS} s per measurement; proxies on CPU0, load and backends on CPU1${ALLOCATOR_ENV.length ? `; ours with ${ALLOCATOR_ENV[1]}` : ""}\n\n`);
  process.stdout.write("| path | small req/s (h2load c=32) | mean ms | proxy CPU µs/req | new conn/s | proxy CPU µs/conn | bulk MB/s | proxy CPU s/GB |\n|---|---|---|---|---|---|---|---|\n");
  for (const p of paths) {
    process.stdout.write(`| ${p.name} | ${f(med(p.name, "rps"))} | ${f(med(p.name, "mean"), 3)} | ${f(med(p.name, "cpuReq"), 1)} | ${f(med(p.name, "cps"))} | ${f(med(p.name, "cpuConn"))} | ${f(med(p.name, "mbps"))} | ${f(med(p.name, "cpuGb"), 2)} |\n`);
  }
  const r = (a: number, b: number) => f(a / b, 2);
  process.stdout.write(`\nratios (ours / haproxy, ours / direct):\n`);
  process.stdout.write(`  small-request rate   ${r(med("ours", "rps"), med("haproxy", "rps"))}  ${r(med("ours", "rps"), med("direct", "rps"))}   (target >= 0.95 of haproxy)\n`);
  process.stdout.write(`  added mean latency   ours +${f(med("ours", "mean") - med("direct", "mean"), 3)} ms, haproxy +${f(med("haproxy", "mean") - med("direct", "mean"), 3)} ms\n`);
  process.stdout.write(`  new-connection rate  ${r(med("ours", "cps"), med("haproxy", "cps"))}  ${r(med("ours", "cps"), med("direct", "cps"))}\n`);
  process.stdout.write(`  bulk throughput      ${r(med("ours", "mbps"), med("haproxy", "mbps"))}  ${r(med("ours", "mbps"), med("direct", "mbps"))}   (target >= 0.8 of haproxy)\n`);
  process.stdout.write(`  CPU per request      ${r(med("ours", "cpuReq"), med("haproxy", "cpuReq"))}x haproxy\n`);
  process.stdout.write(`  CPU per connection   ${r(med("ours", "cpuConn"), med("haproxy", "cpuConn"))}x haproxy   (target <= 1.5)\n`);
  process.stdout.write(`  CPU per GB           ${r(med("ours", "cpuGb"), med("haproxy", "cpuGb"))}x haproxy\n`);
  sink.close();
  await cp.stop();
  await stopAll();
  process.exit(0);
}

main().catch(async (err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  await stopAll();
  process.exit(1);
});
