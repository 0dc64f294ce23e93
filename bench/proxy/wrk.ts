/**
 * One wrk run (pinned to CPU1) with optional request headers; the Lua `done`
 * hook prints the summary as one JSON line. Like bench/kv/wrk.ts, plus
 * headers (`Connection: close` makes every request a new connection).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runPinned } from "../kv/procs.ts";

export interface WrkResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly badStatus: number;
  readonly socketErrors: number;
}

let n = 0;

export async function wrk(tmp: string, url: string, o: { seconds: number; connections: number; headers?: Record<string, string> }): Promise<WrkResult> {
  const file = join(tmp, `wrk-${++n}.lua`);
  const lines = Object.entries(o.headers ?? {}).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`);
  lines.push(
    "done = function(summary, latency, requests)",
    "  local e = summary.errors",
    `  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"status":%d}\\n',`,
    "    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),",
    "    e.connect + e.read + e.write + e.timeout, e.status))",
    "end",
  );
  writeFileSync(file, lines.join("\n") + "\n");
  const argv = ["wrk", "-t1", `-c${o.connections}`, `-d${o.seconds}s`, "--latency", "-s", file, url];
  const out = await runPinned(tmp, "wrk", 1, argv, (o.seconds + 15) * 1000);
  const line = out.stdout.split("\n").find((l) => l.startsWith("WRKJSON "));
  if (out.code !== 0 || !line) throw new Error(`wrk ${argv.slice(1).join(" ")} failed (exit ${out.code}): ${out.stderr || out.stdout}`);
  const j = JSON.parse(line.slice(8)) as { requests: number; duration_us: number; p50_us: number; p99_us: number; errors: number; status: number };
  return { requests: j.requests, rps: j.requests / (j.duration_us / 1e6), p50Ms: j.p50_us / 1000, p99Ms: j.p99_us / 1000, badStatus: j.status, socketErrors: j.errors };
}
