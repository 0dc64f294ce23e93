/**
 * Protocol timings. The LAN and WAN presets are memberlist's with Consul's
 * overrides (agent/consul/config.go, lib/serf/serf.go, agent/config/default.go);
 * serf's own agent uses the same LAN values, which keeps the bench fair.
 */
import { DEFAULT_VIVALDI } from "./coordinate.ts";
import type { VivaldiConfig } from "./coordinate.ts";

export interface GossipConfig {
  /** How often a member probes one other member. */
  readonly probeIntervalMs: number;
  /** How long a direct probe waits for an ack before asking others. */
  readonly probeTimeoutMs: number;
  /** Members asked to probe on our behalf when a direct probe fails. */
  readonly indirectChecks: number;
  readonly gossipIntervalMs: number;
  /** Members each gossip round sends piggybacked broadcasts to. */
  readonly gossipNodes: number;
  /** Dead members are still gossiped to for this long (so they learn they were declared dead). */
  readonly gossipToTheDeadMs: number;
  readonly suspicionMult: number;
  readonly suspicionMaxTimeoutMult: number;
  /** Each broadcast is sent retransmitMult × ⌈log10(n+1)⌉ times. */
  readonly retransmitMult: number;
  /** Full-state TCP exchange with one random member (scaled up above 32 members). */
  readonly pushPullIntervalMs: number;
  readonly tcpTimeoutMs: number;
  /** Lifeguard: probe interval and timeout stretch up to this factor when we look unhealthy. */
  readonly awarenessMaxMultiplier: number;
  /** Largest UDP payload we send; bigger messages go over a TCP stream. */
  readonly udpBufferSize: number;
  /** A dead member's name may be reclaimed by a new address after this long. */
  readonly deadNodeReclaimMs: number;
  /**
   * Lifeguard on: local-health awareness, nacks from indirect probers,
   * and suspicion timeouts that start long and shrink with confirmations.
   * Off gives classic SWIM (fixed suspicion timeout, no awareness): only for comparisons.
   */
  readonly lifeguard: boolean;
  /** Memberlist's DisableTcpPings: no TCP ping alongside the indirect probes. */
  readonly disableTcpPings: boolean;
  /** Serf: how often one failed member is retried. */
  readonly reconnectIntervalMs: number;
  /** Serf: failed members are forgotten (reaped) after this long. */
  readonly reconnectTimeoutMs: number;
  /** Serf: left members are forgotten after this long. */
  readonly tombstoneTimeoutMs: number;
  readonly reapIntervalMs: number;
  /** Serf: after broadcasting a leave, wait this long so it spreads before the sockets close. */
  readonly leavePropagateDelayMs: number;
  /** Serf: a query's default timeout is gossipInterval × queryTimeoutMult × ⌈log10(n+1)⌉. */
  readonly queryTimeoutMult: number;
  readonly querySizeLimit: number;
  readonly queryResponseSizeLimit: number;
  /** Serf: an encoded user event may not exceed this. */
  readonly userEventSizeLimit: number;
  /** Serf: user events (and queries) remembered per Lamport time slot for de-duplication. */
  readonly eventBufferSize: number;
  /**
   * Packets whose timestamp is further than this from our clock are dropped
   * as stale (so members' clocks must agree to within it); inside it a
   * replayed nonce is dropped. Nonces are kept for up to three windows.
   */
  readonly replayWindowMs: number;
  readonly vivaldi: VivaldiConfig;
  /** Turn coordinates off (Consul's `disable_coordinates`). */
  readonly disableCoordinates: boolean;
}

const HOUR = 3_600_000;

/** Consul's LAN pool (port 8301), which equals memberlist's DefaultLANConfig. */
export const LAN_CONFIG: GossipConfig = {
  probeIntervalMs: 1000,
  probeTimeoutMs: 500,
  indirectChecks: 3,
  gossipIntervalMs: 200,
  gossipNodes: 3,
  gossipToTheDeadMs: 30_000,
  suspicionMult: 4,
  suspicionMaxTimeoutMult: 6,
  retransmitMult: 4,
  pushPullIntervalMs: 30_000,
  tcpTimeoutMs: 10_000,
  awarenessMaxMultiplier: 8,
  udpBufferSize: 1400,
  deadNodeReclaimMs: 30_000,
  lifeguard: true,
  disableTcpPings: false,
  reconnectIntervalMs: 30_000,
  reconnectTimeoutMs: 72 * HOUR,
  tombstoneTimeoutMs: 24 * HOUR,
  reapIntervalMs: 15_000,
  leavePropagateDelayMs: 3000,
  queryTimeoutMult: 16,
  querySizeLimit: 1024,
  queryResponseSizeLimit: 1024,
  userEventSizeLimit: 512,
  eventBufferSize: 512,
  replayWindowMs: 30_000,
  vivaldi: DEFAULT_VIVALDI,
  disableCoordinates: false,
};

/** Consul's WAN pool (port 8302): memberlist's DefaultWANConfig with GossipNodes 3. */
export const WAN_CONFIG: GossipConfig = {
  ...LAN_CONFIG,
  probeIntervalMs: 5000,
  probeTimeoutMs: 3000,
  gossipIntervalMs: 500,
  gossipToTheDeadMs: 60_000,
  suspicionMult: 6,
  pushPullIntervalMs: 60_000,
  tcpTimeoutMs: 30_000,
};

/** Consul's `-dev` gossip: 100 ms intervals and a suspicion multiplier of 3. */
export const DEV_CONFIG: GossipConfig = {
  ...LAN_CONFIG,
  probeIntervalMs: 100,
  probeTimeoutMs: 100,
  gossipIntervalMs: 100,
  suspicionMult: 3,
};

/** Suspicion timeout floor: suspicionMult × max(1, log10(n)) × probeInterval (memberlist). */
export function suspicionTimeoutMs(mult: number, n: number, intervalMs: number): number {
  const scale = Math.max(1, Math.log10(Math.max(1, n)));
  return (mult * Math.floor(scale * 1000) * intervalMs) / 1000;
}

/** How many times one broadcast is sent: retransmitMult × ⌈log10(n+1)⌉ (memberlist). */
export function retransmitLimit(mult: number, n: number): number {
  return mult * Math.ceil(Math.log10(n + 1));
}

/** Push-pull slows down above 32 members so the cluster-wide TCP load stays flat (memberlist). */
export function pushPullScaleMs(intervalMs: number, n: number): number {
  if (n <= 32) return intervalMs;
  const mult = Math.ceil(Math.log2(n) - Math.log2(32)) + 1;
  return intervalMs * mult;
}
