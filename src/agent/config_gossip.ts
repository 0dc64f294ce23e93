/** Gossip membership settings: joining, rejoining, the gossip key, leaving, and the `gossip_lan` / `gossip_wan` timings. */
import { isObject } from "../structs/json.ts";
import { checkKeys } from "./config_keys.ts";
import { duration, expect, isNum } from "./config_values.ts";

/** Consul's `gossip_lan` / `gossip_wan` blocks (durations in ms); unset fields keep the pool's defaults. */
export interface GossipTimings {
  gossipNodes?: number;
  gossipIntervalMs?: number;
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  suspicionMult?: number;
  retransmitMult?: number;
}

export interface GossipSettings {
  /** `-join` / `start_join`: joined at start; failing all of them fails the start. */
  startJoin: string[];
  /** `-retry-join` / `retry_join`: joined in the background until one answers. */
  retryJoin: string[];
  /** `-join-wan` / `start_join_wan`: WAN pool members joined at start (servers). */
  startJoinWan: string[];
  /** `-retry-join-wan` / `retry_join_wan`: WAN pool members joined in the background until one answers. */
  retryJoinWan: string[];
  /** `retry_interval` (30s) and `retry_max` (0 = forever). */
  retryIntervalMs: number;
  retryMax: number;
  /** `-rejoin` / `rejoin_after_leave`: rejoin the members known before, even after a graceful leave. */
  rejoinAfterLeave: boolean;
  /** `-encrypt` / `encrypt`: base64 gossip key (ignored once a keyring file exists in the data dir). */
  encrypt: string;
  /** `leave_on_terminate` (default: true for clients, false for servers). */
  leaveOnTerminate: boolean | null;
  /** `skip_leave_on_interrupt` (default: false for clients, true for servers). */
  skipLeaveOnInterrupt: boolean | null;
  lan: GossipTimings;
  wan: GossipTimings;
}

export function defaultGossipSettings(): GossipSettings {
  return { startJoin: [], retryJoin: [], startJoinWan: [], retryJoinWan: [], retryIntervalMs: 30_000, retryMax: 0, rejoinAfterLeave: false, encrypt: "", leaveOnTerminate: null, skipLeaveOnInterrupt: null, lan: {}, wan: {} };
}

export function gossipTimings(file: string, key: string, v: unknown): GossipTimings {
  const o = expect<Record<string, unknown>>(file, key, v, isObject, "an object");
  checkKeys(file, `${key}.`, o, ["gossip_nodes", "suspicion_mult", "retransmit_mult", "gossip_interval", "probe_interval", "probe_timeout"]);
  const out: GossipTimings = {};
  const int = (k: string) => expect<number>(file, `${key}.${k}`, o[k], (x) => isNum(x) && (x as number) > 0, "a positive integer");
  if ("gossip_nodes" in o) out.gossipNodes = int("gossip_nodes");
  if ("suspicion_mult" in o) out.suspicionMult = int("suspicion_mult");
  if ("retransmit_mult" in o) out.retransmitMult = int("retransmit_mult");
  if ("gossip_interval" in o) out.gossipIntervalMs = duration(file, `${key}.gossip_interval`, o.gossip_interval);
  if ("probe_interval" in o) out.probeIntervalMs = duration(file, `${key}.probe_interval`, o.probe_interval);
  if ("probe_timeout" in o) out.probeTimeoutMs = duration(file, `${key}.probe_timeout`, o.probe_timeout);
  return out;
}
