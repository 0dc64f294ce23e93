/**
 * The DNS interface of a client agent: the handler stays synchronous, so a
 * query runs against a per-query lookup that records the catalog questions
 * it could not answer; they go to a server in one Internal.DNSLookup call,
 * and the query runs again with the answers (a name needs one round trip,
 * two when an answer leads to another question, e.g. CNAME targets).
 */
import type { DnsLookup, PreparedQueryResult, ServiceInstance } from "./lookup.ts";
import { NoPathError } from "../rpc/errors.ts";
import type { DnsLookupAnswer, DnsLookupOp } from "../rpc/methods.ts";
import type { QueryReply, RequestOptions, Rpc } from "../rpc/types.ts";
import type { Node } from "../structs/catalog.ts";

/**
 * How the DNS interface reads (Consul's agent/dns.go): with `allow_stale`
 * (the default) any server answers from its own state, unless that is older
 * than `max_stale`, in which case the question is asked again without
 * stale; without `allow_stale` every read is a default (leader-fresh) one.
 */
export interface StaleReads {
  readonly allowStale: boolean;
  readonly maxStaleMs: number;
}

const LEADER_READS: StaleReads = { allowStale: false, maxStaleMs: 0 };

function readOptions(datacenter: string, stale: StaleReads): RequestOptions {
  return stale.allowStale
    ? { datacenter, minIndex: 0, waitMs: 0, consistency: "stale", maxStaleMs: stale.maxStaleMs }
    : { datacenter, minIndex: 0, waitMs: 0, consistency: "default", maxStaleMs: 0 };
}

const keyOf = (op: DnsLookupOp): string => JSON.stringify(op);

export class RpcDnsLookup implements DnsLookup {
  private readonly rpc: Rpc;
  private readonly dc: string;
  private readonly stale: StaleReads;
  /** Batches asked again without stale because the answer was older than max_stale. */
  staleRetries = 0;
  private readonly answers = new Map<string, DnsLookupAnswer>();
  private missing = new Map<string, DnsLookupOp>();

  /** This agent's node, for prepared queries' `near=_agent`. */
  private readonly agent: string;
  /** Other datacenters this agent can ask (federation); each one's questions go to it. */
  private readonly remote: ((dc: string) => boolean) | null;

  constructor(rpc: Rpc, datacenter: string, stale: StaleReads = LEADER_READS, agent = "", remote: ((dc: string) => boolean) | null = null) {
    this.rpc = rpc;
    this.dc = datacenter;
    this.stale = stale;
    this.agent = agent;
    this.remote = remote;
  }

  /** Questions the last run could not answer. */
  get misses(): number {
    return this.missing.size;
  }

  /** Asks a server every question the last run recorded: one call per datacenter asked about. */
  async fill(): Promise<void> {
    const byDc = new Map<string, DnsLookupOp[]>();
    for (const op of this.missing.values()) {
      const dc = "Dc" in op && !this.knowsLocal(op.Dc) ? op.Dc.toLowerCase() : this.dc;
      const list = byDc.get(dc) ?? [];
      list.push(op);
      byDc.set(dc, list);
    }
    this.missing = new Map();
    await Promise.all([...byDc].map(([dc, ops]) => this.fillFrom(dc, ops)));
  }

  private async fillFrom(dc: string, ops: DnsLookupOp[]): Promise<void> {
    let reply: QueryReply<DnsLookupAnswer[]>;
    try {
      reply = await this.lookupIn(dc, ops, this.stale);
    } catch (err) {
      // Another datacenter we have no path to has nothing to offer: its names do not exist (NXDOMAIN, as Consul answers ErrNoDCPath).
      if (!(err instanceof NoPathError) || this.knowsLocal(dc)) throw err;
      for (const op of ops) this.answers.set(keyOf(op), nothing(op));
      return;
    }
    if (this.stale.allowStale && (reply.lastContact ?? 0) > this.stale.maxStaleMs) {
      // "Query results too stale, re-requesting": once more, from a server that has caught up.
      this.staleRetries++;
      reply = await this.lookupIn(dc, ops, LEADER_READS);
    }
    const answers = reply.value;
    ops.forEach((op, i) => this.answers.set(keyOf(op), answers[i] ?? null));
  }

  private async lookupIn(dc: string, ops: DnsLookupOp[], stale: StaleReads): Promise<QueryReply<DnsLookupAnswer[]>> {
    return await this.rpc.call("Internal.DNSLookup", { Ops: ops }, readOptions(dc, stale));
  }

  private knowsLocal(dc: string): boolean {
    return dc.toLowerCase() === this.dc.toLowerCase();
  }

  private ask<T extends DnsLookupAnswer>(op: DnsLookupOp, unknown: T): T {
    const key = keyOf(op);
    if (this.answers.has(key)) return this.answers.get(key) as T;
    this.missing.set(key, op);
    return unknown;
  }

  knowsDatacenter(dc: string): boolean {
    return this.knowsLocal(dc) || (this.remote?.(dc) ?? false);
  }
  serviceInstances(dc: string, service: string): readonly ServiceInstance[] {
    return this.ask<ServiceInstance[]>({ Op: "serviceInstances", Dc: dc, Name: service }, []);
  }
  connectInstances(dc: string, service: string): readonly ServiceInstance[] {
    return this.ask<ServiceInstance[]>({ Op: "connectInstances", Dc: dc, Name: service }, []);
  }
  ingressInstances(dc: string, service: string): readonly ServiceInstance[] {
    return this.ask<ServiceInstance[]>({ Op: "ingressInstances", Dc: dc, Name: service }, []);
  }
  virtualIp(dc: string, service: string): string | null {
    return this.ask<string | null>({ Op: "virtualIp", Dc: dc, Name: service }, null);
  }
  node(dc: string, name: string): Node | null {
    return this.ask<Node | null>({ Op: "node", Dc: dc, Name: name }, null);
  }
  nodes(dc: string): readonly Node[] {
    return this.ask<Node[]>({ Op: "nodes", Dc: dc }, []);
  }
  instancesByAddress(dc: string, address: string): readonly ServiceInstance[] {
    return this.ask<ServiceInstance[]>({ Op: "instancesByAddress", Dc: dc, Address: address }, []);
  }
  servers(dc: string): readonly ServiceInstance[] {
    return this.ask<ServiceInstance[]>({ Op: "servers", Dc: dc }, []);
  }
  preparedQuery(dc: string, nameOrId: string, sourceIp: string): PreparedQueryResult | null {
    return this.ask<PreparedQueryResult | null>({ Op: "preparedQuery", Dc: dc, Name: nameOrId, SourceIp: sourceIp, Agent: this.agent }, null);
  }
}

/** The answer that says "none": an empty list, or null for a single thing. */
function nothing(op: DnsLookupOp): DnsLookupAnswer {
  switch (op.Op) {
    case "virtualIp":
    case "node":
    case "preparedQuery":
      return null;
    default:
      return [];
  }
}

/** At most this many round trips per query; a query still missing answers then gets what it has. */
const MAX_PASSES = 4;

/**
 * Runs `run` against a fresh RpcDnsLookup until it asks nothing new. A run
 * that had to guess is thrown away; the last one is returned.
 */
export async function resolveOverRpc<R>(
  rpc: Rpc,
  datacenter: string,
  run: (lookup: DnsLookup) => R,
  stale: StaleReads = LEADER_READS,
  agent = "",
  remote: ((dc: string) => boolean) | null = null,
): Promise<R> {
  const lookup = new RpcDnsLookup(rpc, datacenter, stale, agent, remote);
  let out = run(lookup);
  for (let pass = 0; pass < MAX_PASSES && lookup.misses > 0; pass++) {
    await lookup.fill();
    out = run(lookup);
  }
  return out;
}

/**
 * A SERVFAIL answer to `query` that echoes its question (null when the query
 * is too mangled to answer at all).
 */
export function servfail(query: Uint8Array): Uint8Array | null {
  if (query.length < 12) return null;
  let at = 12;
  const qdcount = (query[4]! << 8) | query[5]!;
  if (qdcount >= 1) {
    while (at < query.length && query[at] !== 0) {
      if ((query[at]! & 0xc0) !== 0) return null;
      at += query[at]! + 1;
    }
    at += 5; // the root label, QTYPE, QCLASS
    if (at > query.length) return null;
  }
  const out = new Uint8Array(at);
  out.set(query.subarray(0, at));
  out[2] = 0x80 | (query[2]! & 0x79); // QR, keep opcode and RD
  out[3] = 0x02; // SERVFAIL
  out[4] = 0;
  out[5] = qdcount >= 1 ? 1 : 0;
  out.fill(0, 6, 12);
  return out;
}
