/**
 * Starts a real dev agent (`consulate agent -dev`) on free loopback ports for
 * end-to-end tests, and runs the CLI as a subprocess the way a user would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { allEnv } from "../../src/runtime/process.ts";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const BUN = `${ROOT}node_modules/.bin/bun`;
export const MAIN = `${ROOT}src/cli/main.ts`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestAgent {
  readonly port: number;
  /** `127.0.0.1:<port>` */
  readonly address: string;
  /** Everything the agent printed so far. */
  output(): string;
  stop(): Promise<void>;
}

export async function startTestAgent(timeoutMs = 30_000): Promise<TestAgent> {
  const [http, dns, serf, serfWan, server] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
  const child = spawn(
    BUN,
    [MAIN, "agent", "-dev", "-http-port", String(http), "-dns-port", String(dns), "-serf-lan-port", String(serf), "-serf-wan-port", String(serfWan), "-server-port", String(server)],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout?.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  child.stderr?.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const started = Date.now();
  while (!out.includes("==> Consulate agent running!")) {
    if (child.exitCode !== null) throw new Error(`agent exited early (${child.exitCode}):\n${out}`);
    if (Date.now() - started > timeoutMs) {
      child.kill("SIGKILL");
      await exited;
      throw new Error(`agent did not start within ${timeoutMs}ms:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port: http,
    address: `127.0.0.1:${http}`,
    output: () => out,
    stop: () => stopChild(child, exited),
  };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliRun {
  readonly pid: number | undefined;
  readonly done: Promise<CliResult>;
  /** Output so far. */
  stdout(): string;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `consulate <args>`; the environment gets CONSUL_HTTP_ADDR unless `env` overrides it. */
export function startCli(args: string[], options: { address?: string; env?: Record<string, string>; stdin?: string } = {}): CliRun {
  const env: Record<string, string | undefined> = { ...allEnv(), ...(options.env ?? {}) };
  delete env.CONSUL_HTTP_TOKEN;
  if (options.address) env.CONSUL_HTTP_ADDR = options.address;
  const child = spawn(BUN, [MAIN, ...args], { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Uint8Array) => (stdout += new TextDecoder().decode(d)));
  child.stderr?.on("data", (d: Uint8Array) => (stderr += new TextDecoder().decode(d)));
  child.stdin?.end(options.stdin ?? "");
  const done = new Promise<CliResult>((resolve) => {
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
  return { pid: child.pid, done, stdout: () => stdout, kill: (s) => child.kill(s) };
}

export function runCliProcess(
  args: string[],
  options: { address?: string; env?: Record<string, string>; stdin?: string } = {},
): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Polls `check` until it returns true or the time is up. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 50): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
