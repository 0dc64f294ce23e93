/**
 * Starts `consulate agent` as a real process (under Bun) on free loopback
 * ports, for end-to-end tests that drive it the way a user does.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "../..");
export const BUN = join(ROOT, "node_modules/.bin/bun");

/** Ports this process handed out lately, so concurrent callers never get the same one. */
const handedOut = new Set<number>();

/**
 * Ports are drawn below the kernel's ephemeral range: a port in that range,
 * found free, can be taken by an outgoing connection's local end before the
 * agent binds it (a loaded CI run lost a cluster server's RPC port that way).
 */
const EPHEMERAL_LOW = (() => {
  try {
    const lo = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(lo) && lo > 0 ? lo : 32_768;
  } catch {
    return 32_768;
  }
})();
const PICK_LOW = 20_000;

/** Whether TCP and UDP can both bind the port on loopback now (gossip and DNS use both). */
async function bindable(port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((res) => {
    const s = createServer();
    s.once("error", () => res(false));
    s.listen(port, "127.0.0.1", () => s.close(() => res(true)));
  });
  if (!tcp) return false;
  return new Promise<boolean>((res) => {
    const u = createSocket("udp4");
    u.once("error", () => {
      u.close();
      res(false);
    });
    u.bind(port, "127.0.0.1", () => u.close(() => res(true)));
  });
}

/** A kernel-chosen port (inside the ephemeral range): where the range leaves no room below it. */
function kernelPort(): Promise<number> {
  return new Promise<number>((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const p = typeof a === "object" && a ? a.port : 0;
      s.close(() => res(p));
    });
  });
}

export async function freePort(): Promise<number> {
  for (let tries = 0; ; tries++) {
    const room = EPHEMERAL_LOW - PICK_LOW;
    const port = room > 1_000 && tries < 200 ? PICK_LOW + Math.floor(Math.random() * room) : await kernelPort();
    if (handedOut.has(port)) continue;
    if (port >= PICK_LOW && port < EPHEMERAL_LOW && !(await bindable(port))) continue;
    handedOut.add(port);
    if (handedOut.size > 4096) handedOut.delete(handedOut.values().next().value!);
    return port;
  }
}

export async function tempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface AgentProcess {
  readonly base: string;
  readonly port: number;
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

export type Runtime = "bun" | "deno" | "node";

export interface StartOptions {
  readonly port?: number;
  /** The runtime the agent runs on (Bun unless said): Deno runs the sources, Node a bundle built once per test process. */
  readonly runtime?: Runtime;
  /** The agent's open-file limit (`ulimit -n`), to show what exhausting it does. */
  readonly fdLimit?: number;
}

let nodeBundle: Promise<string> | null = null;

/** src/cli/main.ts bundled for Node inside the repo (bare imports resolve from node_modules), under one name that each run overwrites (bun test fires no process exit to remove it by). */
export function bundleAgentForNode(): Promise<string> {
  nodeBundle ??= (async () => {
    const out = join(ROOT, "dist", "agent-test.mjs");
    const build = spawn(join(ROOT, "node_modules/.bin/esbuild"), [join(ROOT, "src/cli/main.ts"), "--bundle", "--platform=node", "--format=esm", "--target=node20", `--outfile=${out}`, "--packages=external", "--log-level=warning"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    build.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => build.once("exit", r));
    if (code !== 0) throw new Error(`esbuild failed:\n${err}`);
    return out;
  })();
  return nodeBundle;
}

async function agentCommand(opts: StartOptions): Promise<string[]> {
  const runtime = opts.runtime ?? "bun";
  const cmd = runtime === "bun" ? [BUN, join(ROOT, "src/cli/main.ts")] : runtime === "deno" ? [join(ROOT, "node_modules/.bin/deno"), "run", "-A", join(ROOT, "src/cli/main.ts")] : ["node", await bundleAgentForNode()];
  return opts.fdLimit === undefined ? cmd : ["sh", "-c", `ulimit -n ${opts.fdLimit} && exec "$@"`, "agent", ...cmd];
}

export async function startAgent(args: string[], opts: StartOptions = {}): Promise<AgentProcess> {
  // A port found free may be taken (by an outgoing connection, say) before the agent binds it: try again with fresh ones.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(args, opts);
    } catch (err) {
      if (attempt >= 3 || !(err as Error).message.includes("EADDRINUSE")) throw err;
    }
  }
}

async function startOnce(args: string[], opts: StartOptions): Promise<AgentProcess> {
  const port = opts.port ?? (await freePort());
  // DNS, gossip and RPC on free ports too: the defaults (8600, 8301, 8302, 8300) would collide with any other agent running.
  const extra: string[] = [];
  for (const flag of ["-dns-port", "-serf-lan-port", "-serf-wan-port", "-server-port"]) {
    if (!args.includes(flag)) extra.push(flag, String(await freePort()));
  }
  const [bin, ...pre] = await agentCommand(opts);
  const child = spawn(bin!, [...pre, "agent", ...args, ...extra, "-http-port", String(port), ...(args.includes("-log-level") ? [] : ["-log-level", "warn"])], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const deadline = Date.now() + 45_000;
  while (!out.includes("agent running!")) {
    if (child.exitCode !== null) throw new Error(`agent exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`agent did not start:\n${out}`);
    }
    await Bun.sleep(25);
  }
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
