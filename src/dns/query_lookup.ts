/**
 * Prepared queries for the DNS interface. The handler is synchronous, but a
 * query that fails over waits for other datacenters: a QueryingLookup runs
 * each query at once, answers those that finish at once (the local case),
 * and keeps the promises of the others; the caller awaits them and builds
 * the answer again, which then finds them settled (as rpc_lookup.ts does for
 * a client agent's catalog questions).
 */
import type { DnsReply } from "./handler.ts";
import type { DnsLookup, InstanceDeck, PreparedQueryResult, ServiceInstance } from "./lookup.ts";
import type { ExecuteReply } from "../query/execute.ts";
import { NoPathError, NotFoundError } from "../rpc/errors.ts";
import { isPromise, type MaybePromise, type RequestOptions, type Rpc } from "../rpc/types.ts";
import type { Node } from "../structs/catalog.ts";
import { parseGoDuration } from "../structs/duration.ts";

/** Runs a query by name or ID for a DNS question; null when there is no such query. */
export type QueryRunner = (dc: string, nameOrId: string, sourceIp: string, agent: string) => MaybePromise<PreparedQueryResult | null>;

/** An execute reply as the DNS answer builder reads it; `localDc` is the datacenter whose state a cache follows. */
export function dnsResult(r: ExecuteReply, localDc: string | null = null): PreparedQueryResult {
  const ttl = r.DNS.TTL === "" ? null : parseGoDuration(r.DNS.TTL);
  return {
    service: r.Service,
    datacenter: r.Datacenter,
    ttlSeconds: ttl === null ? null : Math.floor(ttl / 1000),
    instances: r.Nodes.map((n): ServiceInstance => ({ node: n.Node, service: n.Service, checks: n.Checks })),
    cacheable: r.Failovers === 0 && r.NearSorted !== true && r.Datacenter === localDc,
  };
}

/**
 * A runner over the RPC layer (PreparedQuery.Execute, near `_ip` when the
 * query says so). Unknown queries answer null (NXDOMAIN); other failures
 * throw.
 */
export function rpcQueryRunner(rpc: Rpc, opts: (dc: string) => RequestOptions, local: string | null = null): QueryRunner {
  return (dc, nameOrId, sourceIp, agent) => {
    const args = {
      QueryIDOrName: nameOrId,
      Limit: 0,
      Connect: false,
      Source: { Node: "", Ip: sourceIp },
      Agent: { Node: agent, Datacenter: dc, Segment: "" },
    };
    const onError = (err: unknown): null => {
      if (err instanceof NotFoundError || err instanceof NoPathError) return null;
      throw err;
    };
    try {
      const o = opts(dc);
      const r = rpc.call("PreparedQuery.Execute", args, o);
      return isPromise(r) ? r.then((v) => dnsResult(v.value, local), onError) : dnsResult(r.value, local);
    } catch (err) {
      return onError(err);
    }
  };
}

const keyOf = (dc: string, name: string, ip: string, agent: string): string => `${dc}\u0000${name}\u0000${ip}\u0000${agent}`;

export class QueryingLookup implements DnsLookup {
  private readonly inner: DnsLookup;
  private readonly run: QueryRunner;
  private readonly agent: string;
  /** Answers that came later, kept for the build that follows them. */
  private readonly settled = new Map<string, PreparedQueryResult | null>();
  private waiting: Map<string, Promise<PreparedQueryResult | null>> | null = null;

  constructor(inner: DnsLookup, run: QueryRunner, agent: string) {
    this.inner = inner;
    this.run = run;
    this.agent = agent;
    if (inner.version) this.version = () => inner.version!();
    if (inner.healthyInstances) this.healthyInstances = (dc, service, onlyPassing) => inner.healthyInstances!(dc, service, onlyPassing);
  }

  version?: () => number;
  healthyInstances?: (dc: string, service: string, onlyPassing: boolean) => InstanceDeck | null;

  knowsDatacenter(dc: string): boolean {
    return this.inner.knowsDatacenter(dc);
  }
  serviceInstances(dc: string, service: string): readonly ServiceInstance[] {
    return this.inner.serviceInstances(dc, service);
  }
  connectInstances(dc: string, service: string): readonly ServiceInstance[] {
    return this.inner.connectInstances(dc, service);
  }
  ingressInstances(dc: string, service: string): readonly ServiceInstance[] {
    return this.inner.ingressInstances(dc, service);
  }
  virtualIp(dc: string, service: string): string | null {
    return this.inner.virtualIp(dc, service);
  }
  node(dc: string, name: string): Node | null {
    return this.inner.node(dc, name);
  }
  nodes(dc: string): readonly Node[] {
    return this.inner.nodes(dc);
  }
  instancesByAddress(dc: string, address: string): readonly ServiceInstance[] {
    return this.inner.instancesByAddress(dc, address);
  }
  servers(dc: string): readonly ServiceInstance[] {
    return this.inner.servers(dc);
  }

  preparedQuery(dc: string, nameOrId: string, sourceIp: string): PreparedQueryResult | null {
    const key = keyOf(dc, nameOrId, sourceIp, this.agent);
    const known = this.settled.get(key);
    if (known !== undefined) return known;
    let r: MaybePromise<PreparedQueryResult | null>;
    try {
      r = this.run(dc, nameOrId, sourceIp, this.agent);
    } catch {
      return null;
    }
    if (!isPromise(r)) return r;
    (this.waiting ??= new Map()).set(key, r);
    return null;
  }

  /**
   * Builds with `build`; when a query had to wait, waits for it and builds
   * once more with its answer.
   */
  answer(build: () => DnsReply): DnsReply {
    this.waiting = null;
    const first = build();
    const waiting = this.waiting as Map<string, Promise<PreparedQueryResult | null>> | null;
    this.waiting = null;
    if (waiting === null) return first;
    const keys = [...waiting.keys()];
    return (async () => {
      const results = await Promise.all([...waiting.values()].map((p) => p.catch(() => null)));
      keys.forEach((k, i) => this.settled.set(k, results[i] ?? null));
      try {
        return await build();
      } finally {
        for (const k of keys) this.settled.delete(k);
      }
    })();
  }
}
