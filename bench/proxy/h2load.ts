/**
 * One h2load run (pinned to CPU1): HTTP/2 with prior knowledge, or HTTP/1.1
 * with --h1, `connections` x `streams` requests in flight. Reports req/s and
 * the mean time per request (h2load gives no percentiles).
 */
import { runPinned } from "../kv/procs.ts";

export interface H2loadResult {
  readonly requests: number;
  readonly rps: number;
  readonly meanMs: number;
  readonly failed: number;
}

export async function h2load(tmp: string, url: string, o: { seconds: number; connections: number; streams: number; h1: boolean }): Promise<H2loadResult> {
  const argv = ["h2load", ...(o.h1 ? ["--h1"] : []), "-t1", `-c${o.connections}`, `-m${o.streams}`, `-D${o.seconds}`, url];
  const out = await runPinned(tmp, "h2load", 1, argv, (o.seconds + 15) * 1000);
  const done = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(out.stdout);
  const rate = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(out.stdout);
  const time = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(out.stdout);
  if (out.code !== 0 || !done || !rate || !time) throw new Error(`h2load ${argv.slice(1).join(" ")} failed (exit ${out.code}): ${out.stderr || out.stdout}`);
  const mean = time[1]!;
  const meanMs = mean.endsWith("us") ? Number.parseFloat(mean) / 1000 : mean.endsWith("ms") ? Number.parseFloat(mean) : Number.parseFloat(mean) * 1000;
  return { requests: Number(done[3]), rps: Number(rate[1]), meanMs, failed: Number(done[4]) };
}
