/**
 * How an endpoint answers a read: at once (no promise) when the request does
 * not block, else parked on the watch topics until the index passes the
 * client's (Consul's blockingQuery). The consistency modes hook in here: in
 * a cluster, a default read first waits until this replica has applied
 * everything committed when it arrived, a `consistent` one for a barrier
 * entry, and a `stale` one not at all (see Server.readGate).
 */
import type { Server } from "../server.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";

/**
 * `topics` is called only for a blocking request, so the common read
 * allocates nothing for it.
 */
export function blockingRead<T>(
  server: Server,
  opts: RequestOptions,
  topics: () => readonly string[],
  run: () => QueryReply<T>,
): MaybePromise<QueryReply<T>> {
  const gate = server.readGate(opts);
  if (gate === null) {
    if (opts.minIndex <= 0) return withMeta(server, opts, run());
    return server.query(opts, topics(), run).then((r) => withMeta(server, opts, r));
  }
  return gate.then(() => (opts.minIndex <= 0 ? run() : server.query(opts, topics(), run))).then((r) => withMeta(server, opts, r));
}

/** Adds X-Consul-KnownLeader / LastContact in a cluster; a single server's reply goes out as it is. */
export function withMeta<T>(server: Server, opts: RequestOptions, r: QueryReply<T>): QueryReply<T> {
  if (!server.cluster) return r;
  return { ...r, ...server.readMeta(opts) };
}
