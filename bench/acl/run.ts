/**
 * KV GET rate with ACLs on (default deny, a token whose policy has 50 rules)
 * against ACLs off, in one run: two dev agents started here, alternated
 * rounds of closed-loop GETs from this process, median of each side.
 *
 *     bun bench/acl/run.ts [seconds-per-round=3] [rounds=3] [concurrency=32]
 *
 * Prints both rates and on/off (the target: >= 0.9). On Linux it also
 * prints each agent's CPU time per request (from /proc), whose ratio holds on
 * a machine shared with other work, where the rates swing with the load.
 * bench/acl/inprocess.ts measures the same without sockets.
 */
import { consulateArgv, runtimeBanner, sutRuntime } from "../_runtime.ts";
import { benchRules } from "./rules.ts";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const RUNTIME = sutRuntime();
const MGMT = "7b1c2f4e-1d3a-4b5c-8d6e-9f0a1b2c3d4e";
const [seconds = 3, rounds = 3, concurrency = 32] = process.argv.slice(2).map(Number);

async function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function agent(dir: string, acl: boolean): Promise<{ base: string; child: ChildProcess }> {
  const http = await freePort();
  const config = join(dir, `${acl ? "on" : "off"}.json`);
  await writeFile(config, JSON.stringify(acl ? { acl: { enabled: true, default_policy: "deny", tokens: { initial_management: MGMT } } } : {}));
  const [cmd, ...args] = [...consulateArgv(RUNTIME), "agent", "-dev", "-node", acl ? "acl-on" : "acl-off", "-config-file", config, "-http-port", String(http), "-log-level", "warn"];
  for (const f of ["-dns-port", "-serf-lan-port", "-serf-wan-port", "-server-port"]) args.push(f, String(await freePort()));
  const child = spawn(cmd!, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d));
  child.stderr!.on("data", (d: Buffer) => (out += d));
  const deadline = Date.now() + 30_000;
  while (!out.includes("agent running!")) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`agent did not start:\n${out}`);
    await Bun.sleep(50);
  }
  return { base: `http://127.0.0.1:${http}`, child };
}

async function put(url: string, body: string, token = MGMT): Promise<unknown> {
  const res = await fetch(url, { method: "PUT", body, headers: { "X-Consul-Token": token } });
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** CPU time (user + system) a process has used, in ms; null where /proc is missing. */
async function cpuMs(pid: number | undefined): Promise<number | null> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => null);
  if (stat === null) return null;
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms (USER_HZ 100)
}

const cpuPerRequest: Record<string, number[]> = { off: [], on: [] };

/** Closed-loop GETs for `seconds`; requests a second. Notes the agent's CPU time per request under `side`. */
async function load(url: string, token: string, side?: { name: "off" | "on"; pid: number | undefined }): Promise<number> {
  const cpu0 = side ? await cpuMs(side.pid) : null;
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const headers = token ? { "X-Consul-Token": token } : undefined;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const res = await fetch(url, headers ? { headers } : {});
        if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
        done++;
      }
    }),
  );
  const cpu1 = side ? await cpuMs(side.pid) : null;
  if (side && cpu0 !== null && cpu1 !== null && done > 0) cpuPerRequest[side.name]!.push(((cpu1 - cpu0) * 1000) / done);
  return done / seconds;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dir = await mkdtemp(join(tmpdir(), "bench-acl-"));
const off = await agent(dir, false);
const on = await agent(dir, true);
try {
  const rules = benchRules();
  let token = "";
  for (let attempt = 0; ; attempt++) {
    try {
      const policy = (await put(`${on.base}/v1/acl/policy`, JSON.stringify({ Name: "bench", Rules: rules.join("\n") }))) as { ID: string };
      token = ((await put(`${on.base}/v1/acl/token`, JSON.stringify({ Policies: [{ ID: policy.ID }] }))) as { SecretID: string }).SecretID;
      break;
    } catch (err) {
      if (attempt > 50) throw err;
      await Bun.sleep(100); // the leader writes the management token just after start
    }
  }
  await put(`${off.base}/v1/kv/bench/key`, "x".repeat(64));
  await put(`${on.base}/v1/kv/bench/key`, "x".repeat(64));
  // Warm up both (JIT, token cache).
  await load(`${off.base}/v1/kv/bench/key`, "");
  await load(`${on.base}/v1/kv/bench/key`, token);
  const offRates: number[] = [];
  const onRates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    offRates.push(await load(`${off.base}/v1/kv/bench/key`, "", { name: "off", pid: off.child.pid }));
    onRates.push(await load(`${on.base}/v1/kv/bench/key`, token, { name: "on", pid: on.child.pid }));
  }
  const a = median(offRates);
  const b = median(onRates);
  console.log(runtimeBanner(RUNTIME));
  console.log(`KV GET, ${concurrency} concurrent, ${rounds} rounds of ${seconds}s each, median req/s`);
  console.log(`  ACLs off:                        ${a.toFixed(0)}  (rounds: ${offRates.map((x) => x.toFixed(0)).join(", ")})`);
  console.log(`  ACLs on, token with ${rules.length} rules:   ${b.toFixed(0)}  (rounds: ${onRates.map((x) => x.toFixed(0)).join(", ")})`);
  // Rounds run in pairs, so the ratio of each pair cancels most of what a shared machine's load does to both.
  const pairs = onRates.map((x, i) => x / offRates[i]!);
  console.log(`  on/off: ${(b / a).toFixed(3)} (medians); ${median(pairs).toFixed(3)} (median of paired rounds: ${pairs.map((x) => x.toFixed(2)).join(", ")})`);
  if (cpuPerRequest.off!.length > 0 && cpuPerRequest.on!.length > 0) {
    const cOff = median(cpuPerRequest.off!);
    const cOn = median(cpuPerRequest.on!);
    const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(", ");
    console.log(`  agent CPU per request (us, median): off ${cOff.toFixed(0)} (${fmt(cpuPerRequest.off!)}), on ${cOn.toFixed(0)} (${fmt(cpuPerRequest.on!)})`);
    console.log(`  requests per CPU-second on/off: ${(cOff / cOn).toFixed(3)}`);
  }
} finally {
  off.child.kill("SIGKILL");
  on.child.kill("SIGKILL");
  await rm(dir, { recursive: true, force: true });
}
