/**
 * bench/gossip, simulated part: 1,000 members (GOSSIP_SIM_N) in virtual time
 * with Consul's LAN timings. Prints failure detection and dissemination,
 * false positives under 10% loss and with one CPU-starved member (Lifeguard
 * on, and off as the same-run baseline), message load, and Vivaldi accuracy
 * against do-nothing estimators. Figures are virtual-time, so the machine's
 * load changes only the wall time of the run, never the results.
 */
import { LAN_CONFIG, suspicionTimeoutMs } from "../../src/gossip/config.ts";
import { collectGarbage } from "../../src/runtime/mod.ts";
import { DEFAULT_VIVALDI } from "../../src/gossip/coordinate.ts";
import { seededRandom } from "../../src/gossip/random.ts";
import { circleMatrix, evaluate, gridMatrix, lineMatrix, planeMatrix, randomMatrix, simulate, splitMatrix, vivaldiClients } from "../../src/gossip/sim/phantom.ts";
import { coordinateScenario, failureScenario, lossScenario, slowMemberScenario } from "../../src/gossip/sim/scenarios.ts";

const N = Number(process.env.GOSSIP_SIM_N ?? 1000);
const SEEDS = Number(process.env.GOSSIP_SIM_SEEDS ?? 3);
const STABLE_MS = Number(process.env.GOSSIP_SIM_STABLE_S ?? 60) * 1000;
// Long runs allocate faster than the collector keeps up; collect between chunks.
const tick = collectGarbage;
const COORD_MS = Number(process.env.GOSSIP_SIM_COORD_S ?? 200) * 1000;

const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : "n/a");
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;
const wall = (): number => performance.now();

function section(title: string): void {
  console.log(`\n## ${title}`);
}

function table(head: string[], rows: (string | number)[][]): void {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  for (const [k, r] of cells.entries()) {
    console.log(r.map((c, i) => c.padEnd(w[i] ?? 0)).join("  "));
    if (k === 0) console.log(w.map((x) => "-".repeat(x)).join("  "));
  }
}

/** Sections to run (argv: failure loss slow coords phantoms); run.sh runs each in its own process to bound memory. */
const only = new Set(process.argv.slice(2));
const want = (s: string): boolean => only.size === 0 || only.has(s);

const c = LAN_CONFIG;
if (want("header")) console.log(`# gossip simulation: ${N} members, Consul LAN timings (probe ${c.probeIntervalMs} ms / timeout ${c.probeTimeoutMs} ms, gossip ${c.gossipIntervalMs} ms x ${c.gossipNodes}, suspicion mult ${c.suspicionMult} (max x${c.suspicionMaxTimeoutMult}), retransmit mult ${c.retransmitMult}, ${c.indirectChecks} indirect checks, push-pull ${c.pushPullIntervalMs / 1000} s)`);
if (want("header")) console.log("one-way link delay 0.5 ms unless noted; figures are virtual time (deterministic per seed)");

// ---- failure detection ---------------------------------------------------------
if (want("failure")) {
  section("Failure of one member (kill -9): time until every member marks it failed");
  const t0 = wall();
  const rows: (string | number)[][] = [];
  const model = (n: number): number => suspicionTimeoutMs(c.suspicionMult, n, c.probeIntervalMs) / 1000 + 1.6;
  for (const n of [100, N]) {
    const rs = Array.from({ length: SEEDS }, (_, s) => failureScenario({ n, seed: 100 + s, tick }));
    const all = median(rs.map((r) => r.allFailedMs / 1000));
    rows.push([
      n,
      f(median(rs.map((r) => r.firstFailedMs / 1000))),
      f(all),
      f(model(n)),
      f(all / model(n)),
      f(median(rs.map((r) => r.disseminationMs))),
      f(median(rs.map((r) => r.disseminationGossipRounds)), 1),
      f(Math.log2(n), 1),
      rs.reduce((a, r) => a + r.falsePositives, 0),
      f(median(rs.map((r) => r.steadyLoad.packetsPerNodePerSec))),
      f(median(rs.map((r) => r.steadyLoad.bytesPerNodePerSec)), 0),
      f(median(rs.map((r) => r.failureLoad.packetsPerNodePerSec))),
    ]);
}
table(["n", "first s", "all s", "model s", "all/model", "spread ms", "spread rounds", "log2 n", "false+", "pkt/node/s", "B/node/s", "pkt/node/s (failure)"], rows);
console.log(`(median of ${SEEDS} seeds; model = suspicion floor ${c.suspicionMult}*max(1,log10 n)*probe + 1.6 s detection, as BENCHMARKS.md (e); spread = first to last member marking it failed, in gossip rounds of ${c.gossipIntervalMs} ms; wall ${f((wall() - t0) / 1000, 0)} s)`);

}

// ---- false positives under loss ------------------------------------------------
if (want("loss")) {
  section(`False positives with 10% packet loss on every link, ${STABLE_MS / 1000} s, nobody failing`);
  const t1 = wall();
  const lossRows: (string | number)[][] = [];
  for (const [label, cfg] of [
    ["Lifeguard, TCP pings (Consul default)", {}],
    ["Lifeguard, UDP only", { disableTcpPings: true }],
    ["classic SWIM (no Lifeguard), UDP only", { disableTcpPings: true, lifeguard: false }],
  ] as const) {
    const r = lossScenario({ n: N, seed: 7, loss: 0.1, durationMs: STABLE_MS, config: cfg, tick });
    lossRows.push([label, f(r.lossRate * 100, 1), r.suspicions, r.refutes, r.falsePositives, r.falselyFailedMembers, f(r.load.packetsPerNodePerSec)]);
}
table(["config", "loss %", "suspicions", "refutes", "false failures", "members hit", "pkt/node/s"], lossRows);
console.log(`(wall ${f((wall() - t1) / 1000, 0)} s)`);

}

// ---- slow member -----------------------------------------------------------------
if (want("slow")) {
  section(`One CPU-starved member (handles inbound packets 10 s ±50% late, timers on time), ${STABLE_MS / 1000} s`);
  const t2 = wall();
  const slowRows: (string | number)[][] = [];
  const slow: Record<string, number> = {};
  for (const lifeguard of [true, false]) {
    const r = slowMemberScenario({ n: N, seed: 9, lifeguard, lagMs: 10_000, durationMs: STABLE_MS, tick });
    slow[String(lifeguard)] = r.healthyMarkedFailed;
    slowRows.push([lifeguard ? "Lifeguard" : "classic SWIM", r.healthyMarkedFailed, r.falselyFailedMembers - (r.slowMarkedFailed > 0 ? 1 : 0), r.slowMarkedFailed, r.suspicionsBySlow, r.slowHealth, f(r.load.packetsPerNodePerSec)]);
}
table(["config", "healthy marked failed", "distinct healthy hit", "slow one marked failed", "suspicions by slow one", "its health score", "pkt/node/s"], slowRows);
console.log(`(false failures of healthy members: Lifeguard ${slow.true} vs classic ${slow.false}; the slow member itself cannot answer within the suspicion timeout, so others may rightly mark it failed; wall ${f((wall() - t2) / 1000, 0)} s)`);

}

// ---- coordinates -----------------------------------------------------------------
if (want("coords")) {
  section("Vivaldi coordinates learned from probe RTTs");
  const t3 = wall();
  const coordRows: (string | number)[][] = [];
  for (const [label, truth] of [
    ["plane 100 ms wide + 0-10 ms access links", planeMatrix(N, 0.1, 0.01, seededRandom(4))],
    ["two sites: 1 ms inside, +10 ms between", splitMatrix(N, 0.001, 0.01)],
  ] as const) {
    const r = coordinateScenario({ n: N, seed: 4, durationMs: COORD_MS, truth, tick });
    coordRows.push([label, f(r.medianError, 3), f(r.p90Error, 3), f(r.originMedianError, 3), f(r.meanRttMedianError, 3), f(r.medianError / r.meanRttMedianError, 3)]);
}
table(["latency matrix", "median rel. err", "p90", "do-nothing (origin)", "constant mean RTT", "ours/mean-RTT"], coordRows);
console.log(`(${N} members probing each other for ${COORD_MS / 1000} s of virtual time, ~1 RTT sample per member per second; errors over 20k random pairs; wall ${f((wall() - t3) / 1000, 0)} s)`);

}

if (want("phantoms")) {
  section("Vivaldi on Serf's phantom matrices (coordinate/performance_test.go), 1000 cycles");
  const serfBounds: Record<string, [number, number]> = { line: [0.0031, 0.013], grid: [0.0016, 0.023], split: [0.00006, 0.00048], height: [0.0028, 0.064], random: [0.075, 0.33] };
  const phantomRows: (string | number)[][] = [];
  for (const [name, truth, dims] of [
    ["line", lineMatrix(10, 0.01), 8],
    ["grid", gridMatrix(25, 0.01), 8],
    ["split", splitMatrix(25, 0.001, 0.01), 8],
    ["height", circleMatrix(25, 0.1), 2],
    ["random", randomMatrix(25, 0.1, 0.01, seededRandom(1)), 8],
  ] as const) {
    const r = seededRandom(1);
    const clients = vivaldiClients(truth.length, { ...DEFAULT_VIVALDI, dimensionality: dims }, r);
    simulate(clients, truth, 1000, r);
    const s = evaluate(clients, truth);
    const [ba, bm] = serfBounds[name] as [number, number];
    phantomRows.push([name, f(s.avg, 6), f(ba, 6), f(s.avg / ba), f(s.max, 6), f(bm, 6), f(s.max / bm)]);
}
table(["phantom", "avg err", "serf bound", "ratio", "max err", "serf bound", "ratio"], phantomRows);
}
