/**
 * Running a resolved query (Consul's PreparedQuery.Execute and queryFailover),
 * with Consulate's tiers, SkipLocal and MinHealthy on top:
 *
 *   for each tier (the query itself first, then `Service.Tiers` in order):
 *     the local datacenter (unless SkipLocal), shuffled, sorted by `near`, limited;
 *     then the NearestN other datacenters by WAN round trip, then the listed
 *     Datacenters (and Targets' datacenters) not tried yet, each once;
 *   the first answer with at least MinHealthy (default 1) instances wins;
 *   failing that, the first answer that had any instance at all.
 *
 * With no tiers, SkipLocal or MinHealthy this is exactly Consul's algorithm.
 * The local answer is given without a promise; only failover waits.
 */
import { localInstances } from "./filter.ts";
import { shuffle } from "../dns/outcome.ts";
import { sortByNear } from "../server/endpoints/rtt.ts";
import type { CheckServiceNode, Tables } from "../state/mod.ts";
import type { PreparedQuery, QueryFailoverOptions, ServiceQuery } from "../structs/prepared_query.ts";

export interface ExecuteReply {
  readonly Service: string;
  readonly Nodes: CheckServiceNode[];
  readonly DNS: { readonly TTL: string };
  readonly Datacenter: string;
  readonly PeerName: string;
  readonly Failovers: number;
  /** Consulate's own, not on Consul's wire: a sort by distance was asked (`near`), so the order matters. */
  readonly NearSorted?: boolean;
}

/** Who asked (Consul's QuerySource for the agent and for `?near`). */
export interface ExecuteArgs {
  readonly QueryIDOrName: string;
  readonly Limit: number;
  readonly Connect: boolean;
  /** `?near=` (a node, `_agent` or `_ip`) and the client's address. */
  readonly Source: { readonly Node: string; readonly Ip: string };
  readonly Agent: { readonly Node: string; readonly Datacenter: string; readonly Segment: string };
}

export interface ExecuteRemoteArgs {
  readonly Query: PreparedQuery;
  readonly Limit: number;
  readonly Connect: boolean;
}

/**
 * How a server reaches other datacenters for failover; federation supplies
 * it. Without one, every other datacenter is unknown and skipped.
 */
export interface QueryRemotes {
  /** The other datacenters, nearest first by WAN round trip. */
  datacentersByDistance(): readonly string[] | Promise<readonly string[]>;
  /** PreparedQuery.ExecuteRemote in `dc`; rejects when it has not answered within `timeoutMs`. */
  executeRemote(dc: string, args: ExecuteRemoteArgs, timeoutMs: number): Promise<ExecuteReply>;
}

export interface ExecuteDeps {
  readonly datacenter: string;
  readonly tables: Tables;
  readonly random: () => number;
  readonly remotes: QueryRemotes | null;
  /** How long one remote datacenter may take before it is skipped. */
  readonly remoteTimeoutMs: number;
  readonly warn?: (msg: string) => void;
}

/** The query as one tier sees it: the tier's fields over the query's own, without Consulate's extra fields. */
export function tierQueries(q: PreparedQuery): PreparedQuery[] {
  const { Tiers, SkipLocal: _skip, MinHealthy: _min, ...plain } = q.Service;
  const base: PreparedQuery = { ...q, Service: plain };
  const out = [base];
  for (const t of Tiers ?? []) {
    const s: ServiceQuery = {
      ...plain,
      Service: t.Service ?? plain.Service,
      Tags: t.Tags ?? plain.Tags,
      NodeMeta: t.NodeMeta ?? plain.NodeMeta,
      ServiceMeta: t.ServiceMeta ?? plain.ServiceMeta,
      OnlyPassing: t.OnlyPassing ?? plain.OnlyPassing,
      Failover: t.Failover ?? plain.Failover,
    };
    out.push({ ...base, Service: s });
  }
  return out;
}

/** Consul's ExecuteRemote body (and the local half of Execute before sorting): filtered, shuffled, limited. */
export function executeHere(deps: ExecuteDeps, q: PreparedQuery, limit: number, connect: boolean): ExecuteReply {
  const nodes = shuffle(localInstances(deps.tables, q.Service, connect).nodes, deps.random);
  return reply(deps.datacenter, q, limit > 0 && nodes.length > limit ? nodes.slice(0, limit) : nodes, 0);
}

function reply(dc: string, q: PreparedQuery, nodes: CheckServiceNode[], failovers: number): ExecuteReply {
  return { Service: q.Service.Service, Nodes: nodes, DNS: { TTL: q.DNS.TTL }, Datacenter: dc, PeerName: "", Failovers: failovers };
}

/** The local answer: shuffled, then sorted by distance from the source node, the source itself first, then limited. */
function localAnswer(deps: ExecuteDeps, q: PreparedQuery, args: ExecuteArgs): ExecuteReply {
  let nodes = shuffle(localInstances(deps.tables, q.Service, args.Connect).nodes, deps.random);
  let source = args.Source.Node;
  if (source === "" && q.Service.Near !== "") source = q.Service.Near;
  const nearAsked = source !== "";
  if (source === "_agent") source = args.Agent.Node;
  else if (source === "_ip") {
    source = "";
    if (args.Source.Ip !== "") {
      for (const n of deps.tables.nodes.values()) {
        if (n.Address === args.Source.Ip) {
          source = n.Node;
          break;
        }
      }
    }
  }
  if (source !== "") {
    nodes = sortByNear(deps.tables, source, nodes, (n) => n.Node.Node);
    const at = nodes.slice(0, 10).findIndex((n) => n.Node.Node === source);
    if (at > 0) [nodes[0], nodes[at]] = [nodes[at]!, nodes[0]!];
  }
  if (args.Limit > 0 && nodes.length > args.Limit) nodes = nodes.slice(0, args.Limit);
  const r = reply(deps.datacenter, q, nodes, 0);
  return nearAsked ? { ...r, NearSorted: true } : r;
}

/** Consul's queryFailover plan: NearestN by distance, then the listed datacenters it knows, each once. */
export function failoverPlan(f: QueryFailoverOptions, nearest: readonly string[], local: string): string[] {
  const known = new Set(nearest);
  const out: string[] = [];
  const seen = new Set<string>([local]);
  for (const dc of nearest.slice(0, Math.max(0, f.NearestN))) {
    if (!seen.has(dc)) out.push(dc);
    seen.add(dc);
  }
  const listed = [...(f.Datacenters ?? []), ...(f.Targets ?? []).filter((t) => t.Peer === "" && t.Datacenter !== "").map((t) => t.Datacenter)];
  for (const dc of listed) {
    if (!known.has(dc) || seen.has(dc)) continue;
    out.push(dc);
    seen.add(dc);
  }
  return out;
}

const hasFailover = (f: QueryFailoverOptions): boolean => f.NearestN > 0 || (f.Datacenters ?? []).length > 0 || (f.Targets ?? []).length > 0;

export function executeQuery(deps: ExecuteDeps, query: PreparedQuery, args: ExecuteArgs): ExecuteReply | Promise<ExecuteReply> {
  const min = Math.max(1, query.Service.MinHealthy ?? 1);
  const skipLocal = query.Service.SkipLocal === true;
  // The common case: the query itself answers locally, with no promise and no copy of it.
  if (!skipLocal) {
    const first = localAnswer(deps, query, args);
    if (first.Nodes.length >= min) return first;
    if ((query.Service.Tiers ?? []).length === 0 && !hasFailover(query.Service.Failover)) return first;
  }
  return failover(deps, tierQueries(query), args, min, skipLocal);
}

async function failover(deps: ExecuteDeps, tiers: PreparedQuery[], args: ExecuteArgs, min: number, skipLocal: boolean): Promise<ExecuteReply> {
  let nearest: readonly string[] | null = null;
  let failovers = 0;
  let fallback: ExecuteReply | null = null;
  let last: ExecuteReply = reply(deps.datacenter, tiers[0]!, [], 0);
  for (const tier of tiers) {
    if (!skipLocal) {
      const here = localAnswer(deps, tier, args);
      if (here.Nodes.length >= min) return { ...here, Failovers: failovers };
      if (here.Nodes.length > 0) fallback ??= here;
      last = here;
    }
    if (!hasFailover(tier.Service.Failover)) continue;
    nearest ??= deps.remotes ? await deps.remotes.datacentersByDistance() : [];
    for (const dc of failoverPlan(tier.Service.Failover, nearest, deps.datacenter)) {
      failovers++;
      let r: ExecuteReply;
      try {
        r = await deps.remotes!.executeRemote(dc, { Query: tier, Limit: args.Limit, Connect: args.Connect }, deps.remoteTimeoutMs);
      } catch (err) {
        deps.warn?.(`Failed querying for service ${JSON.stringify(tier.Service.Service)} in datacenter ${JSON.stringify(dc)}: ${(err as Error).message}`);
        continue;
      }
      if (r.Nodes.length >= min) return { ...r, Failovers: failovers };
      if (r.Nodes.length > 0) fallback ??= r;
      last = r;
    }
  }
  return { ...(fallback ?? last), Failovers: failovers };
}
