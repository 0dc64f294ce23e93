/**
 * The simulated scenarios bench/gossip prints and test/gossip asserts:
 * failure detection and dissemination, false positives under packet loss and
 * with one CPU-starved member, message load, and coordinate accuracy.
 */
import type { GossipConfig } from "../config.ts";
import { distance, newCoordinate } from "../coordinate.ts";
import { randomInt, seededRandom } from "../random.ts";
import type { Matrix } from "./phantom.ts";
import { SimCluster } from "./cluster.ts";

export interface LoadFigures {
  /** Datagrams each member sends per second (UDP; streams excluded). */
  readonly packetsPerNodePerSec: number;
  readonly bytesPerNodePerSec: number;
}

/** Runs in chunks of this much virtual time, calling the options' `tick` in between. */
const CHUNK_MS = 5000;

function runChunked(c: SimCluster, ms: number, tick: (() => void) | undefined, stop?: () => boolean): void {
  const end = c.clock.now() + ms;
  while (c.clock.now() < end) {
    let stopped = false;
    c.runFor(Math.min(CHUNK_MS, end - c.clock.now()), stop ? () => (stopped = stop()) : undefined);
    if (stopped) return;
    tick?.();
  }
}

function measureLoad(c: SimCluster, ms: number, tick?: () => void): LoadFigures {
  const before = c.totals();
  runChunked(c, ms, tick);
  const after = c.totals();
  const alive = c.alive().length;
  return {
    packetsPerNodePerSec: (after.packets - before.packets) / alive / (ms / 1000),
    bytesPerNodePerSec: (after.bytes - before.bytes) / alive / (ms / 1000),
  };
}

export interface FailureResult {
  readonly n: number;
  /** Kill → the first member marks the victim failed. */
  readonly firstFailedMs: number;
  /** Kill → every live member has marked it failed. */
  readonly allFailedMs: number;
  /** First → last member to mark it failed. */
  readonly disseminationMs: number;
  readonly disseminationGossipRounds: number;
  readonly disseminationProbeRounds: number;
  /** Members marked failed that were never killed. */
  readonly falsePositives: number;
  readonly steadyLoad: LoadFigures;
  readonly failureLoad: LoadFigures;
}

export interface ScenarioOptions {
  readonly n: number;
  readonly seed: number;
  readonly config?: Partial<GossipConfig>;
  readonly loss?: number;
  /** Called between chunks of virtual time (the bench collects garbage there). */
  readonly tick?: () => void;
}

/** Kills one member and measures how long until every other member knows. */
export function failureScenario(o: ScenarioOptions & { readonly maxMs?: number }): FailureResult {
  const c = new SimCluster({ n: o.n, seed: o.seed, ...(o.config ? { config: o.config } : {}), ...(o.loss ? { loss: o.loss } : {}) });
  const steadyLoad = measureLoad(c, 5000, o.tick);
  const victim = c.nodes[randomInt(seededRandom(o.seed), o.n)] ?? (c.nodes[0] as (typeof c.nodes)[number]);
  const before = c.totals();
  const t0 = c.clock.now();
  c.kill(victim);
  const knowers = new Set<string>();
  let first = -1;
  let last = -1;
  const need = o.n - 1;
  const start = c.failures.length;
  let seen = start;
  runChunked(c, o.maxMs ?? 300_000, o.tick, () => {
    for (; seen < c.failures.length; seen++) {
      const f = c.failures[seen];
      if (!f || f.subject !== victim.name || knowers.has(f.observer)) continue;
      knowers.add(f.observer);
      if (first < 0) first = f.at;
      if (knowers.size === need) last = f.at;
    }
    return last >= 0;
  });
  const after = c.totals();
  const elapsed = c.clock.now() - t0;
  const cfg = c.config;
  const dissemination = last >= 0 && first >= 0 ? last - first : Number.NaN;
  void c.shutdown();
  return {
    n: o.n,
    firstFailedMs: first >= 0 ? first - t0 : Number.NaN,
    allFailedMs: last >= 0 ? last - t0 : Number.NaN,
    disseminationMs: dissemination,
    disseminationGossipRounds: dissemination / cfg.gossipIntervalMs,
    disseminationProbeRounds: dissemination / cfg.probeIntervalMs,
    falsePositives: c.failures.filter((f) => f.subject !== victim.name).length,
    steadyLoad,
    failureLoad: {
      packetsPerNodePerSec: (after.packets - before.packets) / (o.n - 1) / (elapsed / 1000),
      bytesPerNodePerSec: (after.bytes - before.bytes) / (o.n - 1) / (elapsed / 1000),
    },
  };
}

export interface StabilityResult {
  readonly n: number;
  readonly durationMs: number;
  /** member-failed events about members that were alive all along (any observer). */
  readonly falsePositives: number;
  /** Distinct members some observer wrongly marked failed. */
  readonly falselyFailedMembers: number;
  readonly suspicions: number;
  readonly refutes: number;
  readonly load: LoadFigures;
  /** Fraction of datagrams the network dropped. */
  readonly lossRate: number;
}

/** No one dies: every member-failed event is a false positive (packet loss in the network). */
export function lossScenario(o: ScenarioOptions & { readonly durationMs: number }): StabilityResult {
  const c = new SimCluster({ n: o.n, seed: o.seed, ...(o.config ? { config: o.config } : {}), loss: o.loss ?? 0.1 });
  const load = measureLoad(c, o.durationMs, o.tick);
  let suspicions = 0;
  let refutes = 0;
  for (const n of c.nodes) {
    const s = n.serf.stats();
    suspicions += s.suspicions;
    refutes += s.refutes;
  }
  void c.shutdown();
  return {
    n: o.n,
    durationMs: o.durationMs,
    falsePositives: c.failures.length,
    falselyFailedMembers: new Set(c.failures.map((f) => f.subject)).size,
    suspicions,
    refutes,
    load,
    lossRate: c.net.counters.packetsLost / Math.max(1, c.net.counters.packetsSent),
  };
}

export interface SlowMemberResult extends StabilityResult {
  readonly lifeguard: boolean;
  /** False failures of healthy members (not the slow one). */
  readonly healthyMarkedFailed: number;
  /** Times some member marked the slow member itself failed. */
  readonly slowMarkedFailed: number;
  /** Suspicions raised by the slow member, and its final local health score. */
  readonly suspicionsBySlow: number;
  readonly slowHealth: number;
}

/**
 * One member is CPU-starved: it handles every inbound packet `lagMs` (±50%)
 * late while its own timers keep time, so acks to its probes look lost and
 * refutations reach it late (the slow-member case Lifeguard was built for).
 */
export function slowMemberScenario(o: ScenarioOptions & { readonly durationMs: number; readonly lifeguard: boolean; readonly lagMs: number }): SlowMemberResult {
  const c = new SimCluster({ n: o.n, seed: o.seed, config: { ...o.config, lifeguard: o.lifeguard }, ...(o.loss ? { loss: o.loss } : {}) });
  c.runFor(2000);
  const slow = c.nodes[1] as (typeof c.nodes)[number];
  slow.exec.lagInbound(o.lagMs, seededRandom(o.seed ^ 0x510));
  const load = measureLoad(c, o.durationMs, o.tick);
  let suspicions = 0;
  let refutes = 0;
  for (const n of c.nodes) {
    const s = n.serf.stats();
    suspicions += s.suspicions;
    refutes += s.refutes;
  }
  const ss = slow.serf.stats();
  void c.shutdown();
  return {
    n: o.n,
    durationMs: o.durationMs,
    lifeguard: o.lifeguard,
    falsePositives: c.failures.length,
    falselyFailedMembers: new Set(c.failures.map((f) => f.subject)).size,
    healthyMarkedFailed: c.failures.filter((f) => f.subject !== slow.name).length,
    slowMarkedFailed: c.failures.filter((f) => f.subject === slow.name).length,
    suspicionsBySlow: ss.suspicions,
    slowHealth: ss.health,
    suspicions,
    refutes,
    load,
    lossRate: c.net.counters.packetsLost / Math.max(1, c.net.counters.packetsSent),
  };
}

export interface CoordinateResult {
  readonly n: number;
  readonly durationMs: number;
  /** Median |estimated − true| / true over sampled pairs, with the members' own coordinates. */
  readonly medianError: number;
  readonly p90Error: number;
  /** The same for a do-nothing estimator: every coordinate left at the origin. */
  readonly originMedianError: number;
  /** And for the best constant guess: the mean RTT for every pair. */
  readonly meanRttMedianError: number;
}

/** Members probe each other over links whose delay is truth/2 each way; Vivaldi learns from the probe RTTs. */
export function coordinateScenario(o: ScenarioOptions & { readonly durationMs: number; readonly truth: Matrix }): CoordinateResult {
  const t = o.truth;
  const c = new SimCluster({
    n: o.n,
    seed: o.seed,
    ...(o.config ? { config: o.config } : {}),
    latencyMs: (i, j) => (((t[i] as number[])[j] as number) * 1000) / 2,
  });
  runChunked(c, o.durationMs, o.tick);
  const r = seededRandom(o.seed ^ 0xc00d);
  const coords = c.nodes.map((n) => n.serf.coordinate() ?? newCoordinate());
  const origin = newCoordinate();
  const pairs: [number, number][] = [];
  let sum = 0;
  for (let k = 0; k < 20_000; k++) {
    const i = randomInt(r, o.n);
    const j = randomInt(r, o.n);
    if (i === j) continue;
    pairs.push([i, j]);
    sum += (t[i] as number[])[j] as number;
  }
  const mean = sum / pairs.length;
  const errs = (est: (i: number, j: number) => number): number[] =>
    pairs
      .map(([i, j]) => {
        const actual = (t[i] as number[])[j] as number;
        return Math.abs(est(i, j) - actual) / actual;
      })
      .sort((a, b) => a - b);
  const ours = errs((i, j) => distance(coords[i] as typeof origin, coords[j] as typeof origin));
  const med = (e: number[]): number => e[e.length >> 1] ?? Number.NaN;
  void c.shutdown();
  return {
    n: o.n,
    durationMs: o.durationMs,
    medianError: med(ours),
    p90Error: ours[Math.floor(ours.length * 0.9)] ?? Number.NaN,
    originMedianError: med(errs(() => distance(origin, origin))),
    meanRttMedianError: med(errs(() => mean)),
  };
}
