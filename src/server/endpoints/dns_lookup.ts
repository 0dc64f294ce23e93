/**
 * Internal.DNSLookup: the catalog questions of a client agent's DNS
 * interface, answered by this server's own DNS lookup over its state.
 */
import type { Server } from "../server.ts";
import { type DnsLookup, StateDnsLookup } from "../../dns/mod.ts";
import type { DnsLookupAnswer, DnsLookupOp } from "../../rpc/methods.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { blockingRead } from "./read.ts";

const lookups = new WeakMap<Server, DnsLookup>();

function lookupOf(s: Server): DnsLookup {
  let l = lookups.get(s);
  if (!l) {
    l = new StateDnsLookup(s.state, { datacenter: s.config.datacenter, selfNode: s.config.nodeName, serverPort: s.config.serverPort });
    lookups.set(s, l);
  }
  return l;
}

export function answer(l: DnsLookup, op: DnsLookupOp): DnsLookupAnswer {
  switch (op.Op) {
    case "serviceInstances":
      return [...l.serviceInstances(op.Dc, op.Name)];
    case "connectInstances":
      return [...l.connectInstances(op.Dc, op.Name)];
    case "ingressInstances":
      return [...l.ingressInstances(op.Dc, op.Name)];
    case "virtualIp":
      return l.virtualIp(op.Name);
    case "node":
      return l.node(op.Dc, op.Name);
    case "nodes":
      return [...l.nodes(op.Dc)];
    case "instancesByAddress":
      return [...l.instancesByAddress(op.Dc, op.Address)];
    case "servers":
      return [...l.servers(op.Dc)];
    case "preparedQuery":
      return l.preparedQuery(op.Dc, op.Name, op.SourceIp);
  }
}

/**
 * Answers the batch as a read in the request's consistency (the DNS
 * interface asks `stale` bounded by max_stale, or `default`), so it carries
 * the read's LastContact back to the agent.
 */
export function dnsLookup(s: Server, a: { readonly Ops: readonly DnsLookupOp[] }, o: RequestOptions): MaybePromise<QueryReply<DnsLookupAnswer[]>> {
  const l = lookupOf(s);
  const opts = o.minIndex === 0 ? o : { ...o, minIndex: 0 };
  return blockingRead(s, opts, () => [], () => ({ index: s.state.lastApplied, value: a.Ops.map((op) => answer(l, op)) }));
}
