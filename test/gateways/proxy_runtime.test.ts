/**
 * `consulate connect proxy` started by Node runs the proxy under Bun (a
 * child of the Node launcher), or in place with CONSULATE_PROXY_RUNTIME=node:
 *   - the child is Bun (/proc/<pid>/exe), registers, and drains and
 *     deregisters on the SIGTERM the launcher relays; the launcher exits 0;
 *   - SIGKILL of the launcher ends the child (a sidecar here) within about a second;
 *   - a signal that kills the child is the launcher's exit code (128 + n);
 *   - CONSULATE_PROXY_RUNTIME=node keeps the gateway in the Node process, a
 *     bad value is refused.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, readlinkSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { runCli } from "../../src/cli/run.ts";
import { exitCodeOf, findBun, packageRoot, parseProxyRuntime } from "../../src/runtime/relaunch.ts";
import { memoryIo } from "../cli/memory_io.ts";
import { type AgentProcess, bundleAgentForNode, freePort, ROOT, startAgent } from "../e2e/_agent.ts";

let agent: AgentProcess;
let bundle: string;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(async () => {
  [agent, bundle] = await Promise.all([startAgent(["-dev"]), bundleAgentForNode()]);
}, 60_000);

/** Launches one gateway and waits until it is ready (one at a time: each start is seconds of CPU on a loaded 2-core machine). */
async function start(extra: string[], env: Record<string, string> = {}): Promise<{ l: Launched; admin: number; pid: number }> {
  const admin = await freePort();
  const l = await launch(admin, extra, env);
  return { l, admin, pid: await ready(l, admin) };
}
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await agent?.stop();
});

interface Launched {
  readonly launcher: ChildProcess;
  readonly exited: Promise<number | null>;
  output(): string;
}

/** `node <bundle> connect proxy <mode> ...` with its admin listener on `admin`; the mode is a mesh gateway unless `extra` starts with "-service". */
async function launch(admin: number, extra: string[], env: Record<string, string> = {}): Promise<Launched> {
  const mode = extra[0] === "-service" ? [] : ["-gateway=mesh", "-address", `127.0.0.1:${await freePort()}`];
  const args = ["connect", "proxy", ...mode, "-admin-bind", `127.0.0.1:${admin}`, "-http-addr", `127.0.0.1:${agent.port}`, ...extra];
  const launcher = spawn("node", [bundle, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  let out = "";
  launcher.stdout!.on("data", (d) => (out += d));
  launcher.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => launcher.once("exit", (code) => r(code)));
  cleanups.push(async () => {
    for (const pid of children(launcher.pid!)) killQuietly(pid);
    if (launcher.exitCode === null) launcher.kill("SIGKILL");
    await exited;
  });
  return { launcher, exited, output: () => out };
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const exe = (pid: number) => readlinkSync(`/proc/${pid}/exe`);

/** Whether `pid` still runs (an orphan that exited stays a zombie until init reaps it). */
function running(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | null> | T | null, output = () => ""): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await Promise.resolve(probe()).catch((err: Error) => {
      if (err.message.startsWith("the launcher exited")) throw err;
      return null;
    });
    if (v !== null) return v;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms\n${output()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits for the gateway's /ready, then returns the process serving it (the launcher's Bun child, or the launcher). */
async function ready(l: Launched, admin: number): Promise<number> {
  await until("the gateway's /ready", 40_000, async () => {
    if (l.launcher.exitCode !== null) throw new Error(`the launcher exited with ${l.launcher.exitCode}:\n${l.output()}`);
    return (await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200 ? true : null;
  }, l.output);
  const kids = children(l.launcher.pid!);
  expect(kids.length).toBeLessThanOrEqual(1);
  return kids[0] ?? l.launcher.pid!;
}

const services = async () => Object.keys((await (await fetch(`${agent.base}/v1/agent/services`)).json()) as Record<string, unknown>);

test("under Bun when installed: registers, drains on the relayed SIGTERM, deregisters, exits 0", async () => {
  expect(findBun(packageRoot(bundle))).not.toBeNull();
  const { l, admin, pid } = await start(["-register", "-proxy-id", "mgw-bun", "-drain-timeout", "500ms"]);
  expect(pid).not.toBe(l.launcher.pid);
  expect(exe(pid)).toMatch(/bun/);
  expect(exe(l.launcher.pid!)).toMatch(/node/);
  await until("registered", 10_000, async () => ((await services()).includes("mgw-bun") ? true : null));
  const port = Number(/mesh-gateway listening on 127\.0\.0\.1:(\d+)/.exec(l.output())?.[1]);
  // A connection that never sends its ClientHello keeps the drain waiting until its deadline.
  const held: Socket = connect(port, "127.0.0.1");
  await new Promise((r) => held.once("connect", r));
  cleanups.push(async () => held.destroy());
  await until("the connection counted open", 5_000, async () => (/_connections_active [1-9]/.test(await (await fetch(`http://127.0.0.1:${admin}/stats/prometheus`)).text()) ? true : null));
  l.launcher.kill("SIGTERM");
  expect(await l.exited).toBe(0);
  expect(l.output()).toContain("drain deadline passed: closed 1 connection(s)");
  expect(l.output()).toContain("==> Consul Connect proxy shutdown");
  expect(running(pid)).toBe(false);
  expect(await services()).not.toContain("mgw-bun");
}, 60_000);

test("a sidecar too: SIGKILL of the launcher ends the Bun child within about a second", async () => {
  const { l, pid } = await start(["-service", "web", "-upstream", `db:${await freePort()}`]);
  expect(exe(pid)).toMatch(/bun/);
  l.launcher.kill("SIGKILL");
  await l.exited;
  const t0 = Date.now();
  // The child stops on its pipe's end of file and exits within 1 s whatever its stop does; the rest is scheduling on a loaded machine.
  await until("the orphaned child's exit", 2500, () => (running(pid) ? null : true));
  expect(Date.now() - t0).toBeLessThan(2500);
}, 60_000);

test("the launcher exits with the child's status: 128 + n when signal n ends it", async () => {
  const { l, pid } = await start([]);
  expect(pid).not.toBe(l.launcher.pid);
  process.kill(pid, "SIGKILL");
  expect(await l.exited).toBe(137);
  expect(exitCodeOf(3, null)).toBe(3);
  expect(exitCodeOf(null, "SIGHUP")).toBe(129);
}, 60_000);

test("CONSULATE_PROXY_RUNTIME=node keeps the gateway on Node; a bad value is refused", async () => {
  const { l, pid } = await start([], { CONSULATE_PROXY_RUNTIME: "node" });
  expect(pid).toBe(l.launcher.pid!);
  expect(exe(pid)).toMatch(/node/);
  l.launcher.kill("SIGTERM");
  expect(await l.exited).toBe(0);

  for (const bad of ["deno", "quick", " "]) expect(() => parseProxyRuntime(bad)).toThrow('CONSULATE_PROXY_RUNTIME must be "node" or "bun"');
  const io = memoryIo({ env: { CONSULATE_PROXY_RUNTIME: "fast" } });
  expect(await runCli(["connect", "proxy", "-gateway=mesh", "-address", "127.0.0.1:0"], io)).toBe(1);
  expect(io.stderrText()).toContain('==> CONSULATE_PROXY_RUNTIME must be "node" or "bun" (unset: Bun when it is installed, else Node), not "fast"');
}, 60_000);
