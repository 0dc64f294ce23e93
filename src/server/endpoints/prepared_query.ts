/** PreparedQuery.* endpoints (Consul's agent/consul/prepared_query_endpoint.go). */
import { blockingRead, withMeta } from "./read.ts";
import { ApplyError, type Server } from "../server.ts";
import { type ExecuteDeps, executeHere, executeQuery, type ExecuteArgs, type ExecuteRemoteArgs, type ExecuteReply, type QueryRemotes } from "../../query/execute.ts";
import { NotFoundError, RpcError } from "../../rpc/errors.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { MessageType, QUERIES_TOPIC, queryGet, queryList, queryResolve, QueryResolveError } from "../../state/mod.ts";
import { parseGoDuration } from "../../structs/duration.ts";
import { type PreparedQuery, QUERY_NOT_FOUND, queryProblem } from "../../structs/prepared_query.ts";

/**
 * How long one remote datacenter may take during failover before it is
 * skipped; a datacenter that cannot be reached at all fails at once.
 */
export const REMOTE_TIMEOUT_MS = 1000;

/** Failover over the server's federation (Server.remote); null for a datacenter alone. */
function remotesOf(s: Server, o: RequestOptions): QueryRemotes | null {
  const r = s.remote;
  if (!r) return null;
  const local = s.config.datacenter;
  return {
    datacentersByDistance: () => r.datacenters().map((d) => d.datacenter).filter((dc) => dc !== local),
    executeRemote: (dc, args, timeoutMs) => {
      const opts: RequestOptions = { datacenter: dc, minIndex: 0, waitMs: 0, consistency: o.consistency, maxStaleMs: o.maxStaleMs, ...(o.token !== undefined ? { token: o.token } : {}) };
      return withTimeout(Promise.resolve(r.rpc.call("PreparedQuery.ExecuteRemote", args, opts)), timeoutMs, dc).then((reply) => reply.value);
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, dc: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RpcError(`datacenter ${dc} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export async function apply(s: Server, a: { readonly Op: "create" | "update" | "delete"; readonly Query: PreparedQuery }): Promise<string> {
  let query = a.Query;
  if (a.Op === "create") {
    if (query.ID !== "") throw new ApplyError("ID must be empty when creating a new prepared query");
    let id = crypto.randomUUID();
    while (s.state.t.preparedQueries.has(id)) id = crypto.randomUUID();
    query = { ...query, ID: id };
  } else if (a.Op !== "update" && a.Op !== "delete") {
    throw new ApplyError(`Unknown prepared query operation: ${String(a.Op)}`);
  }
  if (a.Op !== "create" && !s.state.t.preparedQueries.has(query.ID)) {
    throw new ApplyError(`Cannot modify non-existent prepared query: '${query.ID}'`);
  }
  if (a.Op !== "delete") {
    const problem = queryProblem(query, parseGoDuration);
    if (problem) throw new ApplyError(`Invalid prepared query: ${problem}`);
  }
  await s.mustWrite({ Type: MessageType.PreparedQuery, Now: s.clock.now(), Op: a.Op, Query: query });
  return query.ID;
}

export function get(s: Server, a: { readonly QueryID: string }, o: RequestOptions): MaybePromise<QueryReply<PreparedQuery[]>> {
  return blockingRead(s, o, () => [QUERIES_TOPIC], () => {
    const r = queryGet(s.state.t, a.QueryID);
    if (!r.value) throw new NotFoundError(QUERY_NOT_FOUND);
    return { index: r.index, value: [r.value] };
  });
}

export function list(s: Server, _a: unknown, o: RequestOptions): MaybePromise<QueryReply<PreparedQuery[]>> {
  return blockingRead(s, o, () => [QUERIES_TOPIC], () => queryList(s.state.t));
}

function resolve(s: Server, a: ExecuteArgs): { index: number; query: PreparedQuery } {
  try {
    const r = queryResolve(s.state.t, a.QueryIDOrName, { segment: a.Agent.Segment });
    if (!r.value) throw new NotFoundError(QUERY_NOT_FOUND);
    return { index: r.index, query: r.value };
  } catch (err) {
    if (err instanceof QueryResolveError) throw new ApplyError(err.message);
    throw err;
  }
}

/** Runs `fn` once the read gate allows (a default read waits until this replica caught up). */
function gated<T>(s: Server, o: RequestOptions, fn: () => MaybePromise<QueryReply<T>>): MaybePromise<QueryReply<T>> {
  const opts = o.minIndex === 0 ? o : { ...o, minIndex: 0 };
  const gate = s.readGate(opts);
  const run = (): MaybePromise<QueryReply<T>> => {
    const r = fn();
    return r instanceof Promise ? r.then((v) => withMeta(s, opts, v)) : withMeta(s, opts, r);
  };
  return gate === null ? run() : gate.then(run);
}

export function explain(s: Server, a: ExecuteArgs, o: RequestOptions): MaybePromise<QueryReply<PreparedQuery>> {
  return gated(s, o, () => {
    const r = resolve(s, a);
    return { index: r.index, value: r.query };
  });
}

function deps(s: Server, o: RequestOptions): ExecuteDeps {
  return {
    datacenter: s.config.datacenter,
    tables: s.state.t,
    random: Math.random,
    remotes: remotesOf(s, o),
    remoteTimeoutMs: REMOTE_TIMEOUT_MS,
  };
}

export function execute(s: Server, a: ExecuteArgs, o: RequestOptions): MaybePromise<QueryReply<ExecuteReply>> {
  return gated(s, o, () => {
    const { index, query } = resolve(s, a);
    const r = executeQuery(deps(s, o), query, a);
    const at = Math.max(index, s.state.lastApplied);
    return r instanceof Promise ? r.then((value) => ({ index: at, value })) : { index: at, value: r };
  });
}

export function executeRemote(s: Server, a: ExecuteRemoteArgs, o: RequestOptions): MaybePromise<QueryReply<ExecuteReply>> {
  return gated(s, o, () => ({ index: s.state.lastApplied, value: executeHere(deps(s, o), a.Query, a.Limit, a.Connect) }));
}
