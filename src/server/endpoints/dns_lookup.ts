/**
 * Internal.DNSLookup: the catalog questions of a client agent's DNS
 * interface, answered by this server's own DNS lookup over its state.
 */
import type { Server } from "../server.ts";
import { type DnsLookup, dnsResult, StateDnsLookup } from "../../dns/mod.ts";
import { execute } from "./prepared_query.ts";
import { NoPathError, NotFoundError } from "../../rpc/errors.ts";
import { isPromise } from "../../rpc/types.ts";
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
      return l.virtualIp(op.Dc, op.Name);
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
  if (a.Ops.some((op) => op.Op === "preparedQuery")) return withQueries(s, l, a.Ops, opts);
  return blockingRead(s, opts, () => [], () => ({ index: s.state.lastApplied, value: a.Ops.map((op) => answer(l, op)) }));
}

/** A batch with prepared queries: those run PreparedQuery.Execute (which may fail over and wait). */
async function withQueries(s: Server, l: DnsLookup, ops: readonly DnsLookupOp[], o: RequestOptions): Promise<QueryReply<DnsLookupAnswer[]>> {
  const base = await blockingRead(s, o, () => [], () => ({ index: s.state.lastApplied, value: null }));
  const value = await Promise.all(
    ops.map(async (op): Promise<DnsLookupAnswer> => {
      if (op.Op !== "preparedQuery") return answer(l, op);
      const args = { QueryIDOrName: op.Name, Limit: 0, Connect: false, Source: { Node: "", Ip: op.SourceIp }, Agent: { Node: op.Agent ?? "", Datacenter: op.Dc, Segment: "" } };
      try {
        // Another datacenter's query runs there (Consul forwards PreparedQuery.Execute with the dc).
        const remote = op.Dc !== s.config.datacenter;
        if (remote && !s.remote) return null;
        const r = remote ? s.remote!.rpc.call("PreparedQuery.Execute", args, { ...o, datacenter: op.Dc }) : execute(s, args, o);
        return dnsResult((isPromise(r) ? await r : r).value);
      } catch (err) {
        if (err instanceof NotFoundError || err instanceof NoPathError) return null;
        throw err;
      }
    }),
  );
  return { ...base, value };
}
