/**
 * The web UI's services list at scale: agent CPU time per request of
 * `GET /v1/internal/ui/services` against the same run's `GET /v1/catalog/services`
 * (the plain list of names and tags), on one -dev agent (CPU0; this driver on
 * CPU1) holding UI_BENCH_SERVICES services on one other node, first without checks,
 * then with a check on every service. Requests go one at a time with
 * `Accept-Encoding: gzip`, as the browser sends them; rounds interleave the two
 * paths and the medians are printed with their ratio.
 *
 *     bun bench/ui/services.ts        # RUNTIME=node|bun|deno, UI_BENCH_SERVICES=5000, UI_BENCH_REQUESTS=20
 */
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { env, writeStdout } from "../../src/runtime/process.ts";
import { consulateArgv, runtimeBanner, sutRuntime } from "../_runtime.ts";
import { cpuSeconds, runBench, startPinned, stop, waitReady } from "../kv/procs.ts";

const RUNTIME = sutRuntime();
const SERVICES = Number(env("UI_BENCH_SERVICES") ?? "5000");
const REQUESTS = Number(env("UI_BENCH_REQUESTS") ?? "20");
const ROUNDS = 3;
const TMP = mkdtempSync(join(tmpdir(), "consulate-bench-ui-"));
const PATHS = ["/v1/catalog/services", "/v1/internal/ui/services"] as const;
const out = (s = ""): void => writeStdout(s + "\n");
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => resolve(typeof a === "object" && a ? a.port : 0));
    });
  });
}

async function fill(base: string, withChecks: boolean): Promise<void> {
  // Another node than the agent's own, which anti-entropy would empty.
  await fetch(`${base}/v1/catalog/register`, { method: "PUT", body: JSON.stringify({ Node: "bulk-node", Address: "10.9.9.9" }) });
  const names = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i).padStart(5, "0")}`);
  for (let i = 0; i < names.length; i += 64) {
    const ops = names.slice(i, i + 64).flatMap((n) => [
      { Service: { Verb: "set", Node: "bulk-node", Service: { ID: n, Service: n, Port: 1000, Tags: ["bulk"] } } },
      ...(withChecks ? [{ Check: { Verb: "set", Check: { Node: "bulk-node", CheckID: `${n}-alive`, Name: "alive", Status: "passing", ServiceID: n } } }] : []),
    ]);
    const res = await fetch(`${base}/v1/txn`, { method: "PUT", body: JSON.stringify(ops) });
    if (res.status !== 200) throw new Error(`txn: ${res.status} ${await res.text()}`);
  }
}

/** Agent CPU milliseconds per request of `path` (REQUESTS sequential requests) and the body's size once unzipped. */
async function cpuPerRequest(base: string, pid: number, path: string): Promise<{ ms: number; bytes: number }> {
  let bytes = 0;
  const c0 = cpuSeconds(pid);
  for (let i = 0; i < REQUESTS; i++) {
    const res = await fetch(base + path, { headers: { "Accept-Encoding": "gzip" } });
    bytes = (await res.arrayBuffer()).byteLength;
  }
  return { ms: ((cpuSeconds(pid) - c0) * 1000) / REQUESTS, bytes };
}

async function main(): Promise<number> {
  out(`# /v1/internal/ui/services against /v1/catalog/services, ${SERVICES} services; ${runtimeBanner(RUNTIME)}`);
  for (const withChecks of [false, true]) {
    const [http, dns, server, lan, wan] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
    const agent = startPinned(TMP, `agent-${withChecks ? "checks" : "plain"}`, 0, [
      ...consulateArgv(RUNTIME), "agent", "-dev", "-node", "bench-agent", "-log-level", "warn",
      "-http-port", String(http), "-dns-port", String(dns), "-server-port", String(server), "-serf-lan-port", String(lan), "-serf-wan-port", String(wan),
    ]);
    const base = `http://127.0.0.1:${http}`;
    try {
      await waitReady(agent, async () => (await fetch(`${base}/v1/status/leader`)).status === 200 && (await fetch(`${base}/v1/status/leader`).then((r) => r.json())) !== "", 60_000);
      await fill(base, withChecks);
      const ms: Record<string, number[]> = Object.fromEntries(PATHS.map((p) => [p, []]));
      const size: Record<string, number> = {};
      for (const p of PATHS) await cpuPerRequest(base, agent.pid, p);
      for (let r = 0; r < ROUNDS; r++) {
        for (const p of PATHS) {
          const m = await cpuPerRequest(base, agent.pid, p);
          ms[p]!.push(m.ms);
          size[p] = m.bytes;
        }
      }
      const [cat, ui] = PATHS.map((p) => median(ms[p]!));
      out(`${withChecks ? "a check on every service" : "no checks"}: ` + PATHS.map((p) => `${p} ${median(ms[p]!).toFixed(1)} ms CPU/request (${size[p]} bytes)`).join(", ") + `; ratio ${(ui! / cat!).toFixed(1)}`);
    } finally {
      await stop(agent);
    }
  }
  return 0;
}

await runBench("ui services", main);
