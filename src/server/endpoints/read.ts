/**
 * How an endpoint answers a read: at once (no promise) when the request does
 * not block, else parked on the watch topics until the index passes the
 * client's (Consul's blockingQuery). The consistency modes hook in here.
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
  if (opts.minIndex <= 0) return run();
  return server.query(opts, topics(), run);
}
