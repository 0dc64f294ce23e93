/**
 * One wrk run against one server, pinned to CPU1, with the server's CPU time
 * read from /proc around it. Every run uses a generated Lua script whose
 * `done` hook prints the summary as one JSON line, so nothing is scraped from
 * wrk's human-readable table.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpuBusySeconds, cpuSeconds, runPinned } from "./procs.ts";

export interface Request {
  readonly method: "GET" | "PUT" | "POST";
  readonly path: string;
  readonly body?: string;
  readonly contentType?: string;
}

export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx/3xx answers (wrk counts status > 399). */
  readonly badStatus: number;
  /** Connect, read, write errors and timeouts. */
  readonly socketErrors: number;
  /** Server CPU (utime+stime) per 1,000 requests, in ms. */
  readonly cpuMsPer1k: number;
  /**
   * Share of CPU0's time spent on anything but the server during the run
   * (other processes, interrupts, steal): interference on a shared VM.
   */
  readonly cpu0OtherPct: number;
}

export class WrkError extends Error {
  override readonly name = "WrkError";
}

interface DoneJson {
  requests: number;
  duration_us: number;
  p50_us: number;
  p99_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
}

function luaString(s: string): string {
  return JSON.stringify(s); // JSON string escapes are valid Lua escapes for ASCII bodies
}

function script(req: Request): string {
  const lines = [`wrk.method = ${luaString(req.method)}`];
  if (req.body !== undefined) lines.push(`wrk.body = ${luaString(req.body)}`);
  if (req.contentType) lines.push(`wrk.headers["Content-Type"] = ${luaString(req.contentType)}`);
  lines.push(
    "done = function(summary, latency, requests)",
    "  local e = summary.errors",
    `  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',`,
    "    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),",
    "    e.connect, e.read, e.write, e.status, e.timeout))",
    "end",
  );
  return lines.join("\n") + "\n";
}

let scripts = 0;

export async function wrk(tmp: string, url: string, req: Request, opts: { seconds: number; connections: number; serverPid: number }): Promise<WrkResult> {
  const file = join(tmp, `wrk-${++scripts}.lua`);
  writeFileSync(file, script(req));
  const cpu0 = cpuSeconds(opts.serverPid);
  const busy0 = cpuBusySeconds(0);
  const wall0 = performance.now();
  const argv = ["wrk", "-t1", `-c${opts.connections}`, `-d${opts.seconds}s`, "--latency", "-s", file, url + req.path];
  const out = await runPinned(tmp, "wrk", 1, argv, (opts.seconds + 15) * 1000);
  const cpu1 = cpuSeconds(opts.serverPid);
  const busy1 = cpuBusySeconds(0);
  const wall = (performance.now() - wall0) / 1000;
  const line = out.stdout.split("\n").find((l) => l.startsWith("WRKJSON "));
  if (out.code !== 0 || !line) throw new WrkError(`wrk ${argv.slice(1).join(" ")} failed (exit ${out.code}): ${out.stderr || out.stdout}`);
  const j = JSON.parse(line.slice("WRKJSON ".length)) as DoneJson;
  const seconds = j.duration_us / 1e6;
  return {
    requests: j.requests,
    seconds,
    rps: j.requests / seconds,
    p50Ms: j.p50_us / 1000,
    p99Ms: j.p99_us / 1000,
    badStatus: j.status,
    socketErrors: j.connect + j.read + j.write + j.timeout,
    cpuMsPer1k: j.requests > 0 ? ((cpu1 - cpu0) * 1000 * 1000) / j.requests : Number.NaN,
    cpu0OtherPct: Math.max(0, (100 * (busy1 - busy0 - (cpu1 - cpu0))) / wall),
  };
}
