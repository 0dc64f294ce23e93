/**
 * What a server knows of other datacenters, when its agent is federated
 * (set by federation/; null on a server alone). Endpoints that reach across
 * datacenters (prepared-query failover, replication) go through it.
 */
import type { Rpc } from "../rpc/types.ts";

export interface RemoteDatacenters {
  /** Calls for any datacenter: the own one in-process, others over NATS (set `datacenter` in the options). */
  readonly rpc: Rpc;
  /** Reachable datacenters, nearest first, this one first; with the estimated RTT in ms (Infinity when unknown). */
  datacenters(): readonly { readonly datacenter: string; readonly rttMs: number }[];
  /** The primary datacenter as the federation follows it (a promotion moves it). */
  primary?(): string;
}
