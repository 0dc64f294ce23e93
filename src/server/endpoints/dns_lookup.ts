/**
 * Internal.DNSLookup: the catalog questions of a client agent's DNS
 * interface, answered by this server's own DNS lookup over its state.
 */
import type { Server } from "../server.ts";
import { type DnsLookup, StateDnsLookup } from "../../dns/mod.ts";
import type { DnsLookupAnswer, DnsLookupOp } from "../../rpc/methods.ts";

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

export function dnsLookup(s: Server, a: { readonly Ops: readonly DnsLookupOp[] }): DnsLookupAnswer[] {
  const l = lookupOf(s);
  return a.Ops.map((op) => answer(l, op));
}
