/**
 * examples/federation/run.sh driven from a test: a free block of ports, a
 * temporary BASE_DIR, `up` (optionally fewer datacenters), `stop`/`start`,
 * and `down` with the folder removed.
 */
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { ROOT, tempDir } from "./_agent.ts";

const SCRIPT = join(ROOT, "examples/federation/run.sh");

export interface Federation {
  /** Datacenter -> its server's HTTP address (host:port). */
  readonly http: ReadonlyMap<string, string>;
  /** Datacenter -> its DNS port. */
  readonly dns: ReadonlyMap<string, number>;
  readonly baseDir: string;
  readonly portBase: number;
  /** Runs `run.sh <args>`; rejects with its output when it fails. */
  run(...args: string[]): Promise<string>;
  /** `run.sh down` and the folder removed. */
  down(): Promise<void>;
}

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** A block of 300 ports below the ephemeral range whose fixed run.sh ports are free now. */
export async function federationPortBase(from = 20_000, blocks = 120): Promise<number> {
  for (;;) {
    const base = from + Math.floor(Math.random() * blocks) * 100;
    let ok = true;
    for (let dc = 0; dc < 3 && ok; dc++) for (const off of [0, 10, 11, 12, 13, 14]) if (!(await portFree(base + dc * 100 + off))) ok = false;
    if (ok) return base;
  }
}

/** Starts `datacenters` (default all three) with run.sh and waits until they are linked. */
export async function startFederation(o: { datacenters?: readonly string[]; env?: Record<string, string> } = {}): Promise<Federation> {
  const dir = await tempDir("consulate-federation-");
  const portBase = await federationPortBase();
  const env: Record<string, string> = { BASE_DIR: dir.path, PORT_BASE: String(portBase), ...(o.datacenters ? { DATACENTERS: o.datacenters.join(" ") } : {}), ...o.env };
  const run = (...args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const child = spawn("bash", [SCRIPT, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.once("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`run.sh ${args.join(" ")} exited ${code}:\n${out}`))));
    });
  const http = new Map<string, string>();
  const dns = new Map<string, number>();
  const down = async () => {
    await run("down").catch((err: Error) => console.error(err.message));
    await dir.remove();
  };
  try {
    const out = await run("up");
    for (const line of out.split("\n")) {
      const m = /^DC=(dc\d) HTTP=([\d.]+:\d+) DNS=[\d.]+:(\d+)$/.exec(line.trim());
      if (m) {
        http.set(m[1]!, m[2]!);
        dns.set(m[1]!, Number(m[3]));
      }
    }
  } catch (err) {
    await down();
    throw err;
  }
  return { http, dns, baseDir: dir.path, portBase, run, down };
}
