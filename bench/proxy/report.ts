/**
 * The tables bench/proxy prints from its rounds: medians per path and mode,
 * the same-run ratios (ours / HAProxy, ours / direct), latency added over
 * direct, each pair's CPU per request, and the issue's targets judged.
 */
import type { H2loadResult } from "./h2load.ts";
import type { WrkResult } from "./wrk.ts";

/** A path's wrk runs and the CPU of the proxies on it per request, for one mode. */
export interface PathRuns {
  readonly runs: WrkResult[];
  readonly cpuUsPerReq: number[];
}

export const newPath = (): PathRuns => ({ runs: [], cpuUsPerReq: [] });

/** The paths measured in each mode (the same names as the rows printed). */
export type PathName = "direct" | "l4" | "haTcp" | "http" | "haHttp" | "chain";

export interface Mode {
  readonly name: string;
  readonly connections: number;
  readonly close: boolean;
}

export type Results = Record<string, Record<PathName, PathRuns>>;

export type H2Runs = Record<string, (H2loadResult & { sidecarUsPerReq: number })[]>;

export const median = (xs: number[]) => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
export const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "-");
const ms = (n: number) => (Number.isFinite(n) ? `${fmt(n, 3)}ms` : "-");
const us = (n: number) => (Number.isFinite(n) ? `${fmt(n, 1)}µs` : "-");
const med = (p: PathRuns, f: (w: WrkResult) => number) => median(p.runs.map(f));
const rps = (p: PathRuns) => med(p, (w) => w.rps);
const cpu = (p: PathRuns) => median(p.cpuUsPerReq);
/** Latency a path adds over direct at a percentile (medians of the rounds). */
const added = (p: PathRuns, direct: PathRuns, f: (w: WrkResult) => number) => med(p, f) - med(direct, f);
const p50 = (w: WrkResult) => w.p50Ms;
const p99 = (w: WrkResult) => w.p99Ms;

/** One table of a path through our two sidecars against the HAProxy pair and direct. */
function pairTable(title: string, modes: readonly Mode[], results: Results, ours: PathName, peer: PathName): void {
  const rows = modes.filter((m) => results[m.name]![ours].runs.length > 0);
  if (rows.length === 0) return;
  console.log("");
  console.log(title);
  console.log(`${"mode".padEnd(17)}${"direct req/s".padStart(13)}${"ours req/s".padStart(11)}${"HAProxy".padStart(9)}${"ours/HAP".padStart(10)}${"ours/direct".padStart(12)}${"HAP/direct".padStart(11)}${"p50 added ours".padStart(15)}${"HAProxy".padStart(11)}${"p99 added ours".padStart(16)}${"HAProxy".padStart(11)}`);
  for (const m of rows) {
    const x = results[m.name]!;
    const [d, o, h] = [rps(x.direct), rps(x[ours]), rps(x[peer])];
    console.log(
      `${m.name.padEnd(17)}${fmt(d).padStart(13)}${fmt(o).padStart(11)}${fmt(h).padStart(9)}${fmt(o / h, 3).padStart(10)}${fmt(o / d, 3).padStart(12)}${fmt(h / d, 3).padStart(11)}${ms(added(x[ours], x.direct, p50)).padStart(15)}${ms(added(x[peer], x.direct, p50)).padStart(11)}${ms(added(x[ours], x.direct, p99)).padStart(16)}${ms(added(x[peer], x.direct, p99)).padStart(11)}`,
    );
  }
}

function cpuTable(modes: readonly Mode[], results: Results): void {
  console.log("");
  console.log("Proxy CPU (utime+stime of the pair's two processes) per request; with Connection: close each request is a new client connection");
  console.log(`${"mode".padEnd(28)}${"ours tcp".padStart(11)}${"HAP tcp".padStart(11)}${"ours/HAP".padStart(9)}${"ours http".padStart(11)}${"HAP http".padStart(11)}${"ours/HAP".padStart(9)}`);
  for (const m of modes) {
    const x = results[m.name]!;
    const [o, h, oh, hh] = [cpu(x.l4), cpu(x.haTcp), cpu(x.http), cpu(x.haHttp)];
    console.log(`${(m.close ? `${m.name} (per new conn)` : m.name).padEnd(28)}${us(o).padStart(11)}${us(h).padStart(11)}${fmt(o / h, 2).padStart(9)}${us(oh).padStart(11)}${us(hh).padStart(11)}${fmt(oh / hh, 2).padStart(9)}`);
  }
}

/** The issue's targets, each judged from the medians (a "-" when a path was not measured). */
function targets(modes: readonly Mode[], results: Results): void {
  const lines: string[] = [];
  const judge = (what: string, value: number, ok: (v: number) => boolean, goal: string, d = 3) => lines.push(`  ${what.padEnd(46)} ${fmt(value, d).padStart(8)}  ${goal.padEnd(8)} ${Number.isFinite(value) ? (ok(value) ? "met" : "NOT met") : "-"}`);
  for (const m of modes) {
    const x = results[m.name]!;
    if (m.close) {
      judge(`${m.name} tcp: ours/HAProxy tcp`, rps(x.l4) / rps(x.haTcp), (v) => v >= 0.5, ">= 0.5");
      judge(`${m.name} tcp: ours/direct`, rps(x.l4) / rps(x.direct), (v) => v >= 0.3, ">= 0.3");
      judge(`${m.name} http: ours/HAProxy http`, rps(x.http) / rps(x.haHttp), (v) => v >= 0.5, ">= 0.5");
      judge(`${m.name} http: ours/direct`, rps(x.http) / rps(x.direct), (v) => v >= 0.3, ">= 0.3");
    } else if (m.connections > 1) {
      judge(`${m.name} tcp: ours/HAProxy tcp`, rps(x.l4) / rps(x.haTcp), (v) => v >= 0.7, ">= 0.7");
      judge(`${m.name} tcp: ours/direct`, rps(x.l4) / rps(x.direct), (v) => v >= 0.6, ">= 0.6");
      judge(`${m.name} tcp: p99 added (ms)`, added(x.l4, x.direct, p99), (v) => v < 5, "< 5", 2);
    } else {
      judge(`${m.name} tcp: p50 added (ms)`, added(x.l4, x.direct, p50), (v) => v < 0.3, "< 0.3");
    }
  }
  console.log("\ntargets (issue 21), from the medians above:");
  for (const l of lines) console.log(l);
}

function chainTable(modes: readonly Mode[], results: Results): void {
  const rows = modes.filter((m) => results[m.name]!.chain.runs.length > 0);
  if (rows.length === 0) return;
  console.log("\nL7 chain (router -> splitter -> resolver, http; pooled sidecar-to-sidecar connections) vs L4 sidecars (tcp) vs direct, same rounds:");
  console.log(`${"mode".padEnd(17)}${"chain req/s".padStart(12)}${"chain/L4".padStart(10)}${"chain/direct".padStart(14)}${"p50 added".padStart(11)}${"chain CPU/req".padStart(15)}${"L4 CPU/req".padStart(12)}${"CPU chain/L4".padStart(14)}`);
  for (const m of rows) {
    const x = results[m.name]!;
    const r = rps(x.chain);
    console.log(
      `${m.name.padEnd(17)}${fmt(r).padStart(12)}${fmt(r / rps(x.l4), 3).padStart(10)}${fmt(r / rps(x.direct), 3).padStart(14)}${ms(added(x.chain, x.direct, p50)).padStart(11)}${us(cpu(x.chain)).padStart(15)}${us(cpu(x.l4)).padStart(12)}${fmt(cpu(x.chain) / cpu(x.l4), 2).padStart(14)}`,
    );
  }
  console.log("(target: chain CPU/req <= 1.15x the L4 path's; p50 added through two sidecars < 0.3 ms at c=1)");
}

function h2Table(h2: H2Runs): void {
  if (Object.keys(h2).length === 0) return;
  console.log("\nHTTP/2 multiplexed vs HTTP/1.1 (h2load, same rounds):");
  console.log(`${"run".padEnd(22)}${"req/s".padStart(10)}${"mean".padStart(11)}${"sidecar CPU/req".padStart(17)}`);
  for (const [name, xs] of Object.entries(h2)) {
    console.log(`${name.padEnd(22)}${fmt(median(xs.map((x) => x.rps))).padStart(10)}${ms(median(xs.map((x) => x.meanMs))).padStart(11)}${us(median(xs.map((x) => x.sidecarUsPerReq))).padStart(17)}`);
  }
  const r = (a: string, b: string) => median((h2[a] ?? []).map((x) => x.rps)) / median((h2[b] ?? []).map((x) => x.rps));
  console.log(`h2 via / h2 direct ${fmt(r("h2 via c=1 m=32", "h2 direct c=1 m=32"), 3)}; h2 via / h1 via chain ${fmt(r("h2 via c=1 m=32", "h1 via chain c=32"), 3)}; h1 via chain / h1 direct ${fmt(r("h1 via chain c=32", "h1 direct c=32"), 3)}`);
}

export function report(modes: readonly Mode[], results: Results, h2: H2Runs): void {
  pairTable("L4 path (tcp service db): direct vs two sidecars vs two HAProxy in mode tcp, same rounds; 'added' = path - direct", modes, results, "l4", "haTcp");
  pairTable("HTTP path (http service hdb; ours: the L7 relay over pooled sidecar-to-sidecar connections) vs two HAProxy in mode http, http-reuse always", modes, results, "http", "haHttp");
  cpuTable(modes, results);
  console.log("\n(medians of the rounds; a shared 2-core VM: treat as noisy)");
  targets(modes, results);
  chainTable(modes, results);
  h2Table(h2);
}
