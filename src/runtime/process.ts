/**
 * Process-level facilities (arguments, environment, signals, exit). Every
 * runtime we support implements `node:process`, so one implementation serves
 * all three; the rest of the code reaches the process only through here.
 */
import nodeProcess from "node:process";

export function args(): string[] {
  return nodeProcess.argv.slice(2);
}

/** The runtime's own options the process was started with (node --flag ... script). */
export function execArgv(): string[] {
  return nodeProcess.execArgv;
}

export function env(name: string): string | undefined {
  return nodeProcess.env[name];
}

export function allEnv(): Record<string, string | undefined> {
  return { ...nodeProcess.env };
}

export function pid(): number {
  return nodeProcess.pid;
}

export function cwd(): string {
  return nodeProcess.cwd();
}

export function exit(code: number): never {
  nodeProcess.exit(code);
}

export function setExitCode(code: number): void {
  nodeProcess.exitCode = code;
}

export type Signal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** Runs `handler` on each delivery of `signal`; returns a function that stops listening. */
export function onSignal(signal: Signal, handler: () => void): () => void {
  nodeProcess.on(signal, handler);
  return () => {
    nodeProcess.off(signal, handler);
  };
}

/**
 * Sends a signal to a whole process group (kill(2) with -pgid): a check's
 * script and whatever it started. False when the group is gone or the
 * platform has no groups, so the caller can fall back to the one process.
 */
export function killProcessGroup(pgid: number, signal: Signal | "SIGKILL" = "SIGKILL"): boolean {
  try {
    nodeProcess.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export function writeStdout(text: string | Uint8Array): void {
  nodeProcess.stdout.write(text);
}

export function writeStderr(text: string): void {
  nodeProcess.stderr.write(text);
}

/** Reads all of standard input as bytes. */
export async function readStdin(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of nodeProcess.stdin) {
    chunks.push(typeof chunk === "string" ? new TextEncoder().encode(chunk) : (chunk as Uint8Array));
  }
  const total = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Process memory in bytes (resident set, V8/JSC heap total and used), for `/v1/agent/metrics`. */
export function memoryUsage(): { rss: number; heapTotal: number; heapUsed: number } {
  const m = nodeProcess.memoryUsage();
  return { rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed };
}

/** Which runtime is executing, for `version` output and diagnostics only. */
export function runtimeName(): string {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun) return `bun ${g.Bun.version}`;
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  return `node ${nodeProcess.versions.node}`;
}
