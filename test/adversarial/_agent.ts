/**
 * A dev agent started as a real process for the adversarial tests, with its
 * DNS and server RPC ports known, plus the probes each test runs while it is
 * under attack: a `GET /v1/status/leader` and a `dig`, each timed.
 */
import { spawn } from "node:child_process";
import { freePort, startAgent, type AgentProcess } from "../e2e/_agent.ts";

export interface Target extends AgentProcess {
  readonly dnsPort: number;
  readonly rpcPort: number;
  readonly serfLanPort: number;
}

export async function startTarget(extra: string[] = []): Promise<Target> {
  const dnsPort = await freePort();
  const rpcPort = await freePort();
  const serfLanPort = await freePort();
  const agent = await startAgent(["-dev", "-node", "adv", "-dns-port", String(dnsPort), "-server-port", String(rpcPort), "-serf-lan-port", String(serfLanPort), ...extra]);
  return Object.assign(agent, { dnsPort, rpcPort, serfLanPort });
}

export interface Probe {
  readonly ok: boolean;
  /** How long the agent took to answer: for `dig`, the query time dig reports (no process start-up); else wall time. */
  readonly ms: number;
  readonly detail: string;
}

/** `GET /v1/status/leader`, timed; never throws. */
export async function probeHttp(base: string, timeoutMs = 10_000): Promise<Probe> {
  const t = performance.now();
  try {
    const res = await fetch(`${base}/v1/status/leader`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    return { ok: res.status === 200, ms: performance.now() - t, detail: `${res.status} ${text}` };
  } catch (err) {
    return { ok: false, ms: performance.now() - t, detail: (err as Error).message };
  }
}

/**
 * `dig` for the agent's own node (over TCP with `+tcp`); never throws. `ms`
 * is dig's own "Query time" (starting dig on a loaded machine takes far
 * longer than the answer), or the wall time when dig reported none.
 */
export function probeDns(port: number, ...opts: string[]): Promise<Probe> {
  const t = performance.now();
  return new Promise((resolve) => {
    const child = spawn("dig", ["@127.0.0.1", "-p", String(port), "adv.node.consul", "A", "+time=5", "+tries=1", "+noall", "+answer", "+stats", ...opts]);
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("close", (code) => {
      const answer = out.split("\n").filter((l) => l !== "" && !l.startsWith(";")).join(" ");
      const query = /Query time: (\d+) msec/.exec(out)?.[1];
      resolve({ ok: code === 0 && /\sA\s+127\.0\.0\.1/.test(answer), ms: query === undefined ? performance.now() - t : Number(query), detail: answer.trim() });
    });
  });
}

/** Both probes at once, `rounds` times in a row; the figures as [http ms, dig ms] pairs. */
export async function probeBoth(base: string, dnsPort: number, rounds: number): Promise<{ ok: boolean; figures: [number, number][]; failed: string[] }> {
  const figures: [number, number][] = [];
  const failed: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const [http, dns] = await Promise.all([probeHttp(base), probeDns(dnsPort)]);
    figures.push([Math.round(http.ms), Math.round(dns.ms)]);
    if (!http.ok) failed.push(`leader: ${http.detail}`);
    if (!dns.ok) failed.push(`dig: ${dns.detail}`);
  }
  return { ok: failed.length === 0, figures, failed };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resident set size of a process in bytes, from /proc (0 where there is none). */
export async function rssOf(pid: number): Promise<number> {
  try {
    const status = await Bun.file(`/proc/${pid}/status`).text();
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}
