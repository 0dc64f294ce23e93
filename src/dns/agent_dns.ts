/**
 * The agent's DNS interface: the handler over the state store, upstream
 * recursors when configured, and the UDP/TCP listeners on the client address.
 */
import { AnswerCache } from "./answer_cache.ts";
import type { DnsConfig } from "./config.ts";
import { type DnsReply, handleDns } from "./handler.ts";
import { type Recursor, UpstreamRecursor } from "./recursor.ts";
import { type DnsHandle, type DnsListener, type DnsServerStats, listenDns } from "./server.ts";
import { resolveOverRpc, servfail } from "./rpc_lookup.ts";
import { StateDnsLookup, type StateSource } from "./state_lookup.ts";
import { QueryingLookup, type QueryRunner } from "./query_lookup.ts";
import type { RequestOptions, Rpc } from "../rpc/types.ts";
import type { Authorizer } from "../acl/mod.ts";
import { AclDnsLookup } from "./acl_lookup.ts";

/** How the DNS interface reads (Consul's dns_config.allow_stale and max_stale). */
export function dnsReadOptions(config: DnsConfig): RequestOptions {
  return config.allowStale
    ? { datacenter: config.datacenter, minIndex: 0, waitMs: 0, consistency: "stale", maxStaleMs: config.maxStaleMs }
    : { datacenter: config.datacenter, minIndex: 0, waitMs: 0, consistency: "default", maxStaleMs: 0 };
}

export interface AgentDnsOptions {
  readonly host: string;
  /** A negative port turns DNS off, as `ports.dns = -1` does in Consul. */
  readonly port: number;
  readonly config: DnsConfig;
  /** A server agent reads its own state store... */
  readonly state?: StateSource;
  /** ...a client agent asks a server over RPC. */
  readonly rpc?: Rpc;
  /**
   * A server in a cluster: null when its own state may answer a read of
   * these options, else a promise that resolves once it has caught up
   * (rejects when it cannot: no leader). Without it, the local state is
   * always fresh enough (a single server).
   */
  readonly readGate?: (opts: RequestOptions) => Promise<void> | null;
  readonly serverPort: number;
  /** A server agent runs prepared queries through this (PreparedQuery.Execute); without it they answer NXDOMAIN. */
  readonly queries?: QueryRunner;
  /**
   * Other datacenters (a federated server): names under `<dc>` are answered
   * by a server of that datacenter over `rpc`, uncached; local names keep
   * the state store and the answer cache.
   */
  readonly remote?: { readonly rpc: Rpc; isRemote(dc: string): boolean };
  /** With ACLs on (server agents): the dns token's authorizer now; DNS hides what it cannot read. */
  readonly authorizer?: () => Authorizer;
}

/** The lower-cased labels of the first question's name; null when it cannot be read. */
export function questionLabels(query: Uint8Array): string[] | null {
  if (query.length < 12 || ((query[4]! << 8) | query[5]!) < 1) return null;
  const labels: string[] = [];
  let at = 12;
  while (at < query.length && query[at] !== 0) {
    const len = query[at]!;
    if ((len & 0xc0) !== 0 || at + 1 + len > query.length) return null;
    let label = "";
    for (let i = at + 1; i <= at + len; i++) label += String.fromCharCode(query[i]!);
    labels.push(label.toLowerCase());
    at += len + 1;
  }
  return labels;
}

const anyDatacenter = (): boolean => true;

export interface RunningDns {
  readonly port: number;
  stats(): DnsServerStats;
  stop(): Promise<void>;
}

export async function startAgentDns(opts: AgentDnsOptions): Promise<RunningDns | null> {
  if (opts.port < 0) return null;
  const config = opts.config;
  const recursor: Recursor | null =
    config.recursors.length > 0 ? new UpstreamRecursor({ servers: config.recursors, timeoutMs: config.recursorTimeoutMs, strategy: config.recursorStrategy }) : null;
  let handle: DnsHandle;
  if (opts.state) {
    const state = new StateDnsLookup(opts.state, { datacenter: config.datacenter, selfNode: config.nodeName, serverPort: opts.serverPort });
    const querying = opts.queries ? new QueryingLookup(state, opts.queries, config.nodeName) : null;
    const base = querying ?? state;
    const lookup = opts.authorizer ? new AclDnsLookup(base, opts.authorizer) : base;
    const udpCtx = { config, lookup, recursor, transport: "udp" as const, cache: new AnswerCache() };
    const tcpCtx = { config, lookup, recursor, transport: "tcp" as const, cache: new AnswerCache() };
    const gate = opts.readGate;
    const reads = dnsReadOptions(config);
    const remote = opts.remote;
    const stale = { allowStale: config.allowStale, maxStaleMs: config.maxStaleMs };
    const isRemote = (dc: string) => remote?.isRemote(dc.toLowerCase()) ?? false;
    // No closure per query on the common path: the thunk exists only where prepared queries need one.
    const answerHere = (query: Uint8Array, ctx: typeof udpCtx | typeof tcpCtx, remoteAddress: string, nowMs?: number): DnsReply =>
      querying ? querying.answer(() => handleDns(query, ctx, remoteAddress, nowMs)) : handleDns(query, ctx, remoteAddress, nowMs);
    handle = (query, transport, remoteAddress, nowMs) => {
      // A name that mentions another datacenter is answered there (a label that merely looks like one only skips the cache).
      if (remote && questionLabels(query)?.some(isRemote)) {
        return (async () => {
          try {
            return await resolveOverRpc(remote.rpc, config.datacenter, (lookup) => handleDns(query, { config, lookup, recursor, transport }, remoteAddress), stale, config.nodeName, isRemote);
          } catch {
            return servfail(query);
          }
        })();
      }
      const ctx = transport === "udp" ? udpCtx : tcpCtx;
      // allow_stale: this server's state, unless it is older than max_stale; else (or without allow_stale) wait until it has caught up.
      const wait = gate ? gate(reads) : null;
      if (wait === null) return answerHere(query, ctx, remoteAddress, nowMs);
      return wait.then(() => answerHere(query, ctx, remoteAddress), () => servfail(query));
    };
  } else if (opts.rpc) {
    const rpc = opts.rpc;
    const stale = { allowStale: config.allowStale, maxStaleMs: config.maxStaleMs };
    handle = async (query, transport, remoteAddress) => {
      try {
        // Any datacenter is asked of our servers, which forward it there (or answer "No path to datacenter": NXDOMAIN).
        return await resolveOverRpc(rpc, config.datacenter, (lookup) => handleDns(query, { config, lookup, recursor, transport }, remoteAddress), stale, config.nodeName, anyDatacenter);
      } catch {
        // No server answered: SERVFAIL, as Consul's DNS does when its RPC fails.
        return servfail(query);
      }
    };
  } else {
    throw new TypeError("startAgentDns needs a state store or an RPC client");
  }
  let listener: DnsListener;
  try {
    listener = await listenDns({ host: opts.host, port: opts.port, handle });
  } catch (err) {
    recursor?.close();
    throw err;
  }
  return {
    port: listener.port,
    stats: () => listener.stats(),
    async stop() {
      await listener.stop();
      recursor?.close();
    },
  };
}
