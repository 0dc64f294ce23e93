/**
 * ACL enforcement at the server's RPC boundary, in one table: what each
 * method requires of the caller's token (checked before the endpoint runs),
 * and how each read's answer is filtered to what the token may see (after it
 * runs, so a blocking read is filtered on every wake). HTTP requests on any
 * agent reach these endpoints with their token, and so does a client agent's
 * own RPC (with its agent token), so no path goes around it.
 *
 * Methods absent from the table need no permission (status, CA roots,
 * datacenter lists) or check ACLs themselves (ACL.*).
 */
import { ANONYMOUS_TOKEN_ID, type Authorizer, type Level, PermissionDeniedError, type Resource } from "../../acl/mod.ts";
import type { ArgsOf, MaybePromise, Method, QueryReply, ReplyOf, RequestOptions } from "../../rpc/types.ts";
import type { Server } from "../server.ts";
import type { HealthCheck, Node, NodeService, RegisterRequest } from "../../structs/catalog.ts";
import type { TxnOp } from "../../state/commands.ts";
import { intentionGet, nodeKey } from "../../state/mod.ts";
import type { ServiceInstance } from "../../dns/lookup.ts";
import type { DnsLookupAnswer } from "../../rpc/methods.ts";
import { type PreparedQuery, REDACTED_TOKEN } from "../../structs/prepared_query.ts";
import type { EndpointTable, Handler } from "./table.ts";

type Check<M extends Method> = (a: Authorizer, args: ArgsOf<M>, s: Server) => void;
type Filter<M extends Method> = (a: Authorizer, value: FilteredValue<M>, args: ArgsOf<M>, s: Server) => FilteredValue<M>;
type FilteredValue<M extends Method> = ReplyOf<M> extends QueryReply<infer T> ? T : never;

interface Rule<M extends Method> {
  readonly check?: Check<M>;
  /** Answers the visible part; sets the "filtered" mark through `hidden` when it dropped anything. */
  readonly filter?: Filter<M>;
}

/** Throws Consul's permission-denied error unless `level` on `resource` (named `name`) is allowed. */
export function demand(a: Authorizer, resource: Resource, level: Level, name = ""): void {
  if (!a.allowed(resource, level, name)) throw new PermissionDeniedError(a.accessorId, resource, level, name);
}

let dropped = false;
/** Keeps the items `ok` allows, noting whether any were dropped (read by the wrapper right after the filter). */
function keep<T>(items: readonly T[], ok: (item: T) => boolean): T[] {
  const out = items.filter(ok);
  if (out.length !== items.length) dropped = true;
  return out;
}
function hide<T>(value: T | null, ok: boolean): T | null {
  if (value !== null && !ok) {
    dropped = true;
    return null;
  }
  return value;
}

const nodeOk = (a: Authorizer, n: { Node: string }): boolean => a.allowed("node", "read", n.Node);
const serviceOk = (a: Authorizer, name: string): boolean => a.allowed("service", "read", name);
const checkOk = (a: Authorizer, c: HealthCheck): boolean => (c.ServiceName ? serviceOk(a, c.ServiceName) : true) && a.allowed("node", "read", c.Node);
const instanceOk = (a: Authorizer, i: { node: Node; service: NodeService }): boolean => nodeOk(a, i.node) && serviceOk(a, i.service.Service);

function checkRegister(a: Authorizer, r: RegisterRequest, s: Server): void {
  const known = s.state.t.nodes.get(r.Node);
  const nodeChanged = !known || known.Address !== r.Address;
  if (!r.SkipNodeUpdate || nodeChanged) demand(a, "node", "write", r.Node);
  if (r.Service) {
    demand(a, "service", "write", r.Service.Service);
    const dest = (r.Service as { Proxy?: { DestinationServiceName?: string } }).Proxy?.DestinationServiceName;
    if (dest) demand(a, "service", "write", dest);
  }
  for (const c of r.Checks) {
    if (c.ServiceID) {
      const svc = r.Service?.ID === c.ServiceID ? r.Service.Service : s.state.t.services.get(nodeKey(r.Node, c.ServiceID))?.Service.Service;
      demand(a, "service", "write", svc ?? c.ServiceName ?? "");
    } else demand(a, "node", "write", r.Node);
  }
}

function checkTxnOps(a: Authorizer, ops: readonly TxnOp[]): void {
  for (const op of ops) {
    if ("KV" in op) {
      const { Verb, Entry } = op.KV;
      if (Verb === "delete-tree") {
        if (!a.keyWritePrefixAllowed(Entry.Key)) throw new PermissionDeniedError(a.accessorId, "key", "write", Entry.Key);
      } else if (Verb.startsWith("get") || Verb.startsWith("check")) demand(a, "key", "read", Entry.Key);
      else demand(a, "key", "write", Entry.Key);
    } else if ("Node" in op) demand(a, "node", op.Node.Verb === "get" ? "read" : "write", op.Node.Node.Node);
    else if ("Service" in op) demand(a, "service", op.Service.Verb === "get" ? "read" : "write", op.Service.Service.Service);
    else demand(a, op.Check.Check.ServiceName ? "service" : "node", op.Check.Verb === "get" ? "read" : "write", op.Check.Check.ServiceName || op.Check.Check.Node);
  }
}

/** Config entry kinds and the permission each needs (Consul's CanRead/CanWrite per kind). */
function configCheck(a: Authorizer, kind: string, name: string, level: "read" | "write"): void {
  switch (kind) {
    case "service-intentions":
      return demand(a, "intention", level, name);
    case "proxy-defaults":
    case "mesh":
      if (level === "read") return; // readable by anyone, as Consul's
      return demand(a, "mesh", "write");
    case "exported-services":
    case "jwt-provider":
    case "sameness-group":
    case "http-route":
    case "tcp-route":
    case "inline-certificate":
    case "file-system-certificate":
      return demand(a, "mesh", level);
    case "api-gateway":
      return level === "read" ? demand(a, "service", "read", name) : demand(a, "mesh", "write");
    default:
      return demand(a, "service", level, name);
  }
}

const configReadOk = (a: Authorizer, kind: string, name: string): boolean => {
  try {
    configCheck(a, kind, name, "read");
    return true;
  } catch {
    return false;
  }
};

function dnsAnswerOk(a: Authorizer, answer: DnsLookupAnswer): DnsLookupAnswer {
  if (answer === null || typeof answer === "string") return answer;
  if (Array.isArray(answer)) {
    if (answer.length === 0) return answer;
    if ("service" in (answer[0] as object)) return keep(answer as ServiceInstance[], (i) => instanceOk(a, i));
    return keep(answer as Node[], (n) => nodeOk(a, n));
  }
  if ("instances" in answer) return { ...answer, instances: keep(answer.instances, (i) => instanceOk(a, i)) };
  return hide(answer as Node, nodeOk(a, answer as Node));
}

export const ENFORCE: { readonly [M in Method]?: Rule<M> } = {
  "Catalog.Register": { check: (a, r, s) => checkRegister(a, r, s) },
  "Catalog.Deregister": {
    check: (a, r, s) => {
      if (r.ServiceID) {
        const svc = s.state.t.services.get(nodeKey(r.Node, r.ServiceID));
        demand(a, "service", "write", svc?.Service.Service ?? r.ServiceID);
      } else if (r.CheckID) {
        const c = s.state.t.checks.get(nodeKey(r.Node, r.CheckID));
        if (c?.ServiceName) demand(a, "service", "write", c.ServiceName);
        else demand(a, "node", "write", r.Node);
      } else demand(a, "node", "write", r.Node);
    },
  },
  "Catalog.ListNodes": { filter: (a, v) => keep(v, (n) => nodeOk(a, n)) },
  "Catalog.ListServices": {
    filter: (a, v) => {
      const out: Record<string, string[]> = {};
      for (const [name, tags] of Object.entries(v)) if (serviceOk(a, name)) out[name] = tags;
      if (Object.keys(out).length !== Object.keys(v).length) dropped = true;
      return out;
    },
  },
  "Catalog.ServiceNodes": { filter: (a, v) => keep(v, (r) => instanceOk(a, r)) },
  "Catalog.ConnectServiceNodes": { filter: (a, v) => keep(v, (r) => instanceOk(a, r)) },
  "Catalog.VirtualIPForService": { check: (a, r) => demand(a, "service", "read", r.ServiceName) },
  "Catalog.GatewayServices": { check: (a, r) => demand(a, "service", "read", r.ServiceName), filter: (a, v) => (v === null ? v : keep(v, (g) => serviceOk(a, g.Service.Name))) },
  "Catalog.NodeServices": {
    filter: (a, v) => {
      if (v === null) return v;
      if (!nodeOk(a, v.node)) return hide(v, false);
      return { node: v.node, services: keep(v.services, (s) => serviceOk(a, s.Service)) };
    },
  },
  "Health.NodeChecks": { filter: (a, v) => keep(v, (c) => checkOk(a, c)) },
  "Health.ServiceChecks": { filter: (a, v) => keep(v, (c) => checkOk(a, c)) },
  "Health.ChecksInState": { filter: (a, v) => keep(v, (c) => checkOk(a, c)) },
  "Health.ServiceNodes": { filter: (a, v) => keep(v, (r) => nodeOk(a, r.Node) && serviceOk(a, r.Service.Service)).map((r) => ({ ...r, Checks: r.Checks.filter((c) => checkOk(a, c)) })) },
  "Health.ConnectServiceNodes": { filter: (a, v) => keep(v, (r) => nodeOk(a, r.Node) && serviceOk(a, r.Service.Service)) },

  "KVS.Get": { check: (a, r) => demand(a, "key", "read", r.Key) },
  "KVS.List": { filter: (a, v) => keep(v, (row) => a.allowed("key", "read", row.Key)) },
  "KVS.ListKeys": { filter: (a, v) => keep(v, (k) => a.allowed("key", "read", k)) },
  "KVS.Apply": {
    check: (a, r) => {
      if (r.Op === "delete-tree") {
        if (!a.keyWritePrefixAllowed(r.Entry.Key)) throw new PermissionDeniedError(a.accessorId, "key", "write", r.Entry.Key);
      } else demand(a, "key", "write", r.Entry.Key);
    },
  },

  "Session.Apply": {
    check: (a, r, s) => {
      const node = r.Op === "create" ? r.Session.Node : s.state.t.sessions.get(r.ID)?.Node;
      if (node !== undefined) demand(a, "session", "write", node);
    },
  },
  "Session.Renew": {
    check: (a, r, s) => {
      const node = s.state.t.sessions.get(r.SessionID)?.Node;
      if (node !== undefined) demand(a, "session", "write", node);
    },
  },
  "Session.Get": { filter: (a, v) => keep(v, (x) => a.allowed("session", "read", x.Node)) },
  "Session.List": { filter: (a, v) => keep(v, (x) => a.allowed("session", "read", x.Node)) },
  "Session.NodeSessions": { filter: (a, v) => keep(v, (x) => a.allowed("session", "read", x.Node)) },

  "Txn.Apply": { check: (a, r) => checkTxnOps(a, r.Ops) },
  "Txn.Read": { check: (a, r) => checkTxnOps(a, r.Ops) },

  "ConfigEntry.Apply": { check: (a, r) => configCheck(a, r.Entry.Kind as string, r.Entry.Name as string, "write") },
  "ConfigEntry.Delete": { check: (a, r) => configCheck(a, r.Kind, r.Name, "write") },
  "ConfigEntry.Get": { check: (a, r) => configCheck(a, r.Kind, r.Name, "read") },
  "ConfigEntry.List": { filter: (a, v) => keep(v, (e) => configReadOk(a, e.Kind, e.Name)) },

  "Intention.Apply": {
    check: (a, r, s) => {
      let dest = r.Intention.DestinationName;
      if (r.Intention.ID) dest = intentionGet(s.state.t, r.Intention.ID).value?.DestinationName ?? dest;
      demand(a, "intention", "write", dest);
    },
  },
  "Intention.Get": { filter: (a, v) => v },
  "Intention.List": { filter: (a, v) => keep(v, (i) => a.allowed("intention", "read", i.DestinationName)) },
  "Intention.Match": { filter: (a, v) => v.map((list) => keep(list, (i) => a.allowed("intention", "read", i.DestinationName))) },
  "Intention.Check": { check: (a, r) => demand(a, "service", "read", r.DestinationName) },

  "ConnectCA.ConfigurationGet": { check: (a) => demand(a, "operator", "read") },
  "ConnectCA.ConfigurationSet": { check: (a) => demand(a, "operator", "write") },

  "Snapshot.Save": { check: (a) => demand(a, "acl", "write") },
  "Snapshot.Restore": { check: (a) => demand(a, "acl", "write") },

  "Internal.EventFire": { check: (a, r) => demand(a, "event", "write", r.Name.replace(/^consul:event:/, "")) },
  "Internal.KeyringOperation": { check: (a, r) => demand(a, "keyring", r.Operation === "list" ? "read" : "write") },
  // The UI dumps show what the token may read: instances (node and service read), nodes with their visible services and checks.
  "Internal.ServiceDump": {
    filter: (a, v) => ({
      Nodes: keep(v.Nodes, (r) => nodeOk(a, r.Node) && serviceOk(a, r.Service.Service)).map((r) => ({ ...r, Checks: r.Checks.filter((c) => checkOk(a, c)) })),
      Gateways: keep(v.Gateways, (g) => serviceOk(a, g.Gateway.Name) && serviceOk(a, g.Service.Name)),
    }),
  },
  "Internal.NodeDump": {
    filter: (a, v) => keep(v, (n) => nodeOk(a, n)).map((n) => ({ ...n, Services: keep(n.Services, (s) => serviceOk(a, s.Service)), Checks: keep(n.Checks, (c) => checkOk(a, c)) })),
  },
  "Internal.GatewayServiceDump": {
    check: (a, r) => demand(a, "service", "read", r.ServiceName),
    filter: (a, v) => keep(v, (i) => (i.Node === null || nodeOk(a, i.Node)) && serviceOk(a, i.GatewayService?.Service.Name ?? i.Service?.Service ?? "")),
  },
  "Internal.ServiceTopology": {
    check: (a, r) => demand(a, "service", "read", r.ServiceName),
    filter: (a, v) => {
      const ok = (r: { Node: Node; Service: NodeService }) => nodeOk(a, r.Node) && serviceOk(a, r.Service.Service);
      return { ...v, Upstreams: keep(v.Upstreams, ok), Downstreams: keep(v.Downstreams, ok) };
    },
  },
  "Internal.DNSLookup": { filter: (a, v) => v.map((answer) => dnsAnswerOk(a, answer)) },

  "Coordinate.Update": { check: (a, r) => demand(a, "node", "write", r.Node) },
  "Coordinate.ListNodes": { filter: (a, v) => keep(v, (c) => a.allowed("node", "read", c.Node)) },
  "Coordinate.Node": { filter: (a, v) => keep(v, (c) => a.allowed("node", "read", c.Node)) },

  // Consul's redactPreparedQueryTokens: a query's token is shown only to a caller with acl:write; queries need query:read on their name.
  "PreparedQuery.Explain": { filter: (a, v) => redactQueryToken(a, v) },

  "PreparedQuery.Apply": {
    check: (a, r, s) => {
      demand(a, "query", "write", r.Query.Name);
      const existing = s.state.t.preparedQueries.get(r.Query.ID);
      if (existing && existing.Name !== r.Query.Name) demand(a, "query", "write", existing.Name);
    },
  },
  "PreparedQuery.Get": { filter: (a, v) => keep(v, (q) => a.allowed("query", "read", q.Name)).map((q) => redactQueryToken(a, q)) },
  "PreparedQuery.List": { filter: (a, v) => keep(v, (q) => a.allowed("query", "read", q.Name)).map((q) => redactQueryToken(a, q)) },
  "PreparedQuery.Execute": {
    filter: (a, v, args, s) => {
      // Results are filtered with the query's stored token when it has one, else the caller's (Consul's Execute).
      const t = s.state.t;
      const q = t.preparedQueries.get(args.QueryIDOrName) ?? t.preparedQueries.get(t.queriesByName.get(args.QueryIDOrName.toLowerCase()) ?? "");
      let authz = a;
      if (q?.Token) {
        try {
          authz = s.acl.authorizer(q.Token);
        } catch {
          authz = a;
        }
      }
      return { ...v, Nodes: keep(v.Nodes, (n) => nodeOk(authz, n.Node) && serviceOk(authz, n.Service.Service)) };
    },
  },
  "DiscoveryChain.Get": { check: (a, r) => demand(a, "service", "read", r.Name) },

  "Operator.RaftGetConfiguration": { check: (a) => demand(a, "operator", "read") },
  "Operator.RaftRemovePeer": { check: (a) => demand(a, "operator", "write") },
  "Operator.AutopilotGetConfiguration": { check: (a) => demand(a, "operator", "read") },
  "Operator.AutopilotSetConfiguration": { check: (a) => demand(a, "operator", "write") },
  "Operator.ServerHealth": { check: (a) => demand(a, "operator", "read") },
  "Operator.AutopilotState": { check: (a) => demand(a, "operator", "read") },
};

function redactQueryToken(a: Authorizer, q: PreparedQuery): PreparedQuery {
  return q.Token === "" || a.allowed("acl", "write") ? q : { ...q, Token: REDACTED_TOKEN };
}

/** Intention.Get's single answer: the read is refused rather than filtered, as Consul's. */
function intentionGetCheck(a: Authorizer, v: { DestinationName: string }): void {
  demand(a, "intention", "read", v.DestinationName);
}

function filterReply<M extends Method>(s: Server, method: M, rule: Rule<M>, a: Authorizer, args: ArgsOf<M>, r: QueryReply<unknown>): QueryReply<unknown> {
  if (method === "Intention.Get") {
    intentionGetCheck(a, r.value as { DestinationName: string });
    return r;
  }
  dropped = false;
  const value = rule.filter!(a, r.value as FilteredValue<M>, args, s);
  const filtered = dropped && a.accessorId !== ANONYMOUS_TOKEN_ID;
  dropped = false;
  return filtered ? { ...r, value, filteredByACLs: true } : { ...r, value };
}

/**
 * The endpoint table with each method's rule applied (no-op while ACLs are
 * off). Every method first waits, in a secondary, for the primary to resolve
 * a token this datacenter does not hold (ServerAcl.pending).
 */
export function withAcl(table: EndpointTable): EndpointTable {
  const out: Record<string, Handler<Method>> = {};
  for (const [method, handler] of Object.entries(table) as [Method, Handler<Method>][]) {
    const rule = ENFORCE[method] as Rule<Method> | undefined;
    const guarded = rule ? enforced(method, rule, handler) : handler;
    out[method] = (s: Server, args: ArgsOf<Method>, opts: RequestOptions): MaybePromise<ReplyOf<Method>> => {
      const p = s.acl.pending(opts.token);
      return p === null ? guarded(s, args, opts) : p.then(() => guarded(s, args, opts));
    };
  }
  return out as unknown as EndpointTable;
}

function enforced(method: Method, rule: Rule<Method>, handler: Handler<Method>): Handler<Method> {
  return (s: Server, args: ArgsOf<Method>, opts: RequestOptions): MaybePromise<ReplyOf<Method>> => {
    if (!s.acl.enabled) return handler(s, args, opts);
    const a = s.acl.authorizer(opts.token);
    rule.check?.(a, args, s);
    if (!rule.filter) return handler(s, args, opts);
    const r = handler(s, args, opts) as MaybePromise<QueryReply<unknown>>;
    if (r instanceof Promise) return r.then((v) => filterReply(s, method, rule, a, args, v)) as Promise<ReplyOf<Method>>;
    return filterReply(s, method, rule, a, args, r) as ReplyOf<Method>;
  };
}
