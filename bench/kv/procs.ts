/**
 * Child processes of the KV bench: started pinned to one CPU, recorded in a
 * pid file so run.sh's trap can kill them even if this runner dies, and read
 * back through /proc for CPU time and RSS.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { appendFileSync, openSync, readFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { exit, onSignal, writeStderr } from "../../src/runtime/process.ts";

export class ProcessStartError extends Error {
  override readonly name = "ProcessStartError";
  readonly label: string;
  constructor(label: string, message: string) {
    super(`${label}: ${message}`);
    this.label = label;
  }
}

export interface Child {
  readonly label: string;
  readonly pid: number;
  readonly logFile: string;
  readonly proc: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
}

const children = new Set<Child>();
/** Run-to-completion tools (wrk, the fan-out client) still going. */
const tools = new Set<ChildProcess>();

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;

/** Field 22 of /proc/<pid>/stat, so the shell trap never kills a recycled pid. */
function startTime(pid: number): string {
  const f = statFields(pid);
  return f?.[19] ?? "0";
}

/** Fields after the `(comm)` part of /proc/<pid>/stat: index 0 is field 3 (state). */
function statFields(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, "utf8");
    return raw.slice(raw.lastIndexOf(")") + 2).trim().split(" ");
  } catch {
    return null;
  }
}

/** utime+stime of `pid` in seconds (fields 14 and 15 of /proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  if (!f) return Number.NaN;
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/**
 * Busy seconds of one CPU since boot from /proc/stat (user, nice, system, irq,
 * softirq, steal), to see how much of the server's core went to others.
 */
export function cpuBusySeconds(cpu: number): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return Number.NaN;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / CLK_TCK;
}

/** Resident set size of `pid` in bytes (VmRSS), NaN when it is gone. */
export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/**
 * Starts `argv` under `taskset -c <cpu>` (taskset execs, so the pid is the
 * program's own), output to `<tmp>/<label>.log`.
 */
export function startPinned(tmp: string, label: string, cpu: number, argv: readonly string[], cwd?: string): Child {
  const logFile = join(tmp, `${label}.log`);
  const fd = openSync(logFile, "a");
  const proc = spawn("taskset", ["-c", String(cpu), ...argv], { stdio: ["ignore", fd, fd], cwd });
  if (proc.pid === undefined) throw new ProcessStartError(label, `could not spawn ${argv.join(" ")}`);
  const pid = proc.pid;
  const exited = new Promise<number | string>((resolve) => proc.on("exit", (code, sig) => resolve(code ?? sig ?? -1)));
  const child: Child = { label, pid, logFile, proc, exited };
  children.add(child);
  void exited.then(() => children.delete(child));
  appendFileSync(join(tmp, "pids"), `${pid} ${startTime(pid)}\n`);
  return child;
}

/** Runs `argv` pinned to `cpu` to completion and returns its stdout. */
export async function runPinned(tmp: string, label: string, cpu: number, argv: readonly string[], timeoutMs: number): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const proc = spawn("taskset", ["-c", String(cpu), ...argv], { stdio: ["ignore", "pipe", "pipe"] });
  if (proc.pid === undefined) throw new ProcessStartError(label, `could not spawn ${argv.join(" ")}`);
  appendFileSync(join(tmp, "pids"), `${proc.pid} ${startTime(proc.pid)}\n`);
  let stdout = "";
  let stderr = "";
  proc.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  tools.add(proc);
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const code = await new Promise<number | string>((resolve) => proc.on("exit", (c, sig) => resolve(c ?? sig ?? -1)));
  clearTimeout(timer);
  tools.delete(proc);
  return { code, stdout, stderr };
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(child: Child, graceMs = 3000): Promise<void> {
  if (!children.has(child)) return;
  child.proc.kill("SIGTERM");
  const timer = setTimeout(() => child.proc.kill("SIGKILL"), graceMs);
  await child.exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  for (const t of tools) t.kill("SIGKILL");
  await Promise.all([...children].map((c) => stop(c)));
}

export function tail(child: Child, lines = 20): string {
  try {
    return readFileSync(child.logFile, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 100 ms until it returns true; throws after `timeoutMs` or if `child` exits. */
export async function waitReady(child: Child, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (!children.has(child)) throw new ProcessStartError(child.label, `exited during start-up:\n${tail(child)}`);
    try {
      if (await probe()) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new ProcessStartError(child.label, `not ready after ${timeoutMs} ms:\n${tail(child)}`);
}

/** Polls RSS until three successive samples 100 ms apart differ by under 1 %, or `maxMs`. */
export async function stableRss(pid: number, maxMs = 5000): Promise<number> {
  const deadline = performance.now() + maxMs;
  let prev = rssBytes(pid);
  let calm = 0;
  while (performance.now() < deadline && calm < 3) {
    await sleep(100);
    const now = rssBytes(pid);
    calm = Math.abs(now - prev) < prev * 0.01 ? calm + 1 : 0;
    prev = now;
  }
  return prev;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * Runs a bench's `main` and exits with its code; every child started here is
 * stopped on the way out, on SIGINT/SIGTERM too. `onError` runs after a
 * failure that was not an interruption (to show the servers' logs).
 */
export async function runBench(name: string, main: () => Promise<number>, onError?: () => void): Promise<never> {
  let cleaning: Promise<void> | null = null;
  let interrupted = false;
  const cleanup = (): Promise<void> => (cleaning ??= stopAll());
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    onSignal(sig, () => {
      interrupted = true;
      writeStderr(`\n${sig}: stopping servers\n`);
      void cleanup().then(() => exit(130));
    });
  }
  let code = 1;
  try {
    code = await main();
  } catch (err) {
    if (!interrupted) {
      writeStderr(`${name} bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
      onError?.();
    }
  } finally {
    await cleanup();
  }
  exit(code);
}
