/**
 * Helpers for end-to-end tests of the agent API: an agent process with an
 * optional JSON config file (DNS on a free port, so agents never fight over 8600),
 * and small HTTP and polling helpers.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AgentProcess, freePort, startAgent, tempDir } from "./_agent.ts";

export interface LocalAgent extends AgentProcess {
  readonly dir: string;
  get<T = unknown>(path: string): Promise<{ status: number; index: string | null; body: T }>;
  put(path: string, body?: unknown): Promise<{ status: number; text: string }>;
}

const cleanups: (() => Promise<unknown>)[] = [];

/** Stops every agent and removes every folder started through this module. */
export async function cleanupAll(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
}

/** A temporary folder removed by cleanupAll. */
export async function newDir(): Promise<string> {
  const t = await tempDir("consulate-agent-e2e-");
  cleanups.push(() => t.remove());
  return t.path;
}

/**
 * Starts `consulate agent` with `args` plus a config file holding `config`.
 * `dir` reuses a data folder (for restarts); otherwise a fresh one is made.
 */
export async function startLocalAgent(args: string[], config: Record<string, unknown> = {}, dir?: string): Promise<LocalAgent> {
  const path = dir ?? (await newDir());
  const configFile = join(path, "config.json");
  await writeFile(configFile, JSON.stringify(config));
  const proc = await startAgent([...args, "-dns-port", String(await freePort()), "-config-file", configFile]);
  cleanups.push(() => proc.kill());
  const base = proc.base;
  return {
    ...proc,
    dir: path,
    async get<T>(p: string) {
      const res = await fetch(`${base}${p}`);
      const text = await res.text();
      return { status: res.status, index: res.headers.get("X-Consul-Index"), body: (text === "" ? null : JSON.parse(text)) as T };
    },
    async put(p: string, body?: unknown) {
      const res = await fetch(`${base}${p}`, { method: "PUT", body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
      return { status: res.status, text: await res.text() };
    },
  };
}

/** Polls until `check` holds; returns how long it took. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await Bun.sleep(25);
  }
  return Date.now() - started;
}

/** A loopback HTTP target whose status code the test sets. */
export function flippingServer(): { url: string; setStatus(code: number): void; hits(): number; stop(): void } {
  let status = 200;
  let hits = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch() {
      hits++;
      return new Response(status === 200 ? "healthy" : "broken", { status });
    },
  });
  cleanups.push(async () => server.stop(true));
  return { url: `http://127.0.0.1:${server.port}/health`, setStatus: (c) => (status = c), hits: () => hits, stop: () => server.stop(true) };
}
