/**
 * CLI start-up: wall time of `consulate version` and `consulate kv get` on
 * Node, Bun and Deno (and through `npx`), median of N runs, each printed with
 * the same-run start-up of the bare runtime as the baseline.
 *
 *   npx bun bench/cli/run.ts [checkout] [runs]
 *
 * Measured on the shared 2-core box (load ~19) at the change that made
 * commands load lazily (same run, 7 runs each, version / kv get):
 *   before: node 4299 / 6907 ms, bun 2412 / 3078 ms, deno 2989 / 2432 ms, npx 13910 ms (version)
 *   after:  node  892 / 2537 ms, bun  378 /  513 ms, deno 1656 / 1469 ms
 * (bare runtime start in the same runs: node ~700-870 ms, bun ~180 ms, deno ~660-1140 ms).
 *
 * `checkout` (default: this one) is a clone with `npm install` done, so two
 * checkouts can be compared on the same machine in the same run. A dev agent
 * (Node) on free ports answers the `kv get`.
 */
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const checkout = resolve(process.argv[2] ?? ROOT);
const runs = Number(process.argv[3] ?? 9);
const BUN = join(ROOT, "node_modules/.bin/bun");
const DENO = join(ROOT, "node_modules/.bin/deno");
const entry = join(checkout, "bin/consulate.mjs");

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => res(typeof a === "object" && a ? a.port : 0));
    });
  });

const ports = { http: await freePort(), dns: await freePort(), server: await freePort(), lan: await freePort(), wan: await freePort() };
const addr = `127.0.0.1:${ports.http}`;
const env = { ...process.env, CONSUL_HTTP_ADDR: addr, DENO_NO_UPDATE_CHECK: "1" };
const agent = spawn("node", [entry, "agent", "-dev", "-log-level", "error", "-http-port", `${ports.http}`, "-dns-port", `${ports.dns}`, "-server-port", `${ports.server}`, "-serf-lan-port", `${ports.lan}`, "-serf-wan-port", `${ports.wan}`], { stdio: "ignore" });
const stop = () => agent.kill("SIGTERM");
process.on("exit", stop);
for (let i = 0; i < 150; i++) {
  const ok = await fetch(`http://${addr}/v1/status/leader`).then((r) => r.text()).then((t) => t.length > 2, () => false);
  if (ok) break;
  await new Promise((r) => setTimeout(r, 200));
}
await fetch(`http://${addr}/v1/kv/bench/key`, { method: "PUT", body: "value" });

function median(cmd: string[], n = runs): number {
  spawnSync(cmd[0]!, cmd.slice(1), { env, stdio: "ignore", cwd: checkout }); // warm the file cache (and Deno's compile cache)
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const r = spawnSync(cmd[0]!, cmd.slice(1), { env, stdio: "ignore", cwd: checkout });
    times.push(performance.now() - t);
    if (r.status !== 0) throw new Error(`${cmd.join(" ")} exited ${r.status}`);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

const runtimes: Array<[string, string[], string[]]> = [
  ["node", ["node", entry], ["node", "-e", "0"]],
  ["bun", [BUN, entry], [BUN, "-e", "0"]],
  ["deno", [DENO, "run", "-A", entry], [DENO, "eval", "0"]],
  ["npx (node)", ["npx", "--no-install", "consulate"], ["node", "-e", "0"]],
];
console.log(`checkout ${checkout}, median of ${runs} runs, load ${spawnSync("cat", ["/proc/loadavg"], { encoding: "utf8" }).stdout.trim()}`);
console.log("runtime      bare start   version           kv get");
for (const [name, cli, bare] of runtimes) {
  // npx costs seconds on a busy machine: fewer runs of it.
  const n = name.startsWith("npx") ? Math.min(runs, 3) : runs;
  const base = median(bare, n);
  const v = median([...cli, "version"], n);
  const k = median([...cli, "kv", "get", "bench/key"], n);
  const f = (ms: number) => `${ms.toFixed(0).padStart(5)} ms (${(ms / base).toFixed(1)}x)`;
  console.log(`${name.padEnd(12)} ${base.toFixed(0).padStart(5)} ms   ${f(v)}   ${f(k)}`);
}
stop();
process.exit(0);
