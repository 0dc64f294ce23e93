/**
 * The RPC a server agent uses once it is federated: calls for its own
 * datacenter go to the local transport unchanged (the in-process fast path
 * keeps its synchronous answers); calls for another datacenter become one
 * NATS request to that datacenter's queue group. A blocking call travels with
 * its index and wait, parks in the target datacenter, and is cancelled there
 * when the caller's signal aborts (the HTTP client went away).
 */
import type { DatacenterLinks } from "./links.ts";
import { cancelSubject, isDatacenterName, rpcSubject } from "./subjects.ts";
import { encodeText, type ReplyFrame } from "./wire.ts";
import { NoPathError } from "../src/rpc/errors.ts";
import type { ArgsOf, MaybePromise, Method, ReplyOf, RequestOptions, Rpc } from "../src/rpc/types.ts";
import { remoteError } from "../src/rpc/wire_errors.ts";
import { effectiveWait, MAX_WAIT_MS } from "../src/server/blocking.ts";

/** A non-blocking call to another datacenter that takes longer than this fails (ms). */
export const CROSS_DC_TIMEOUT_MS = 5_000;

/** The options that cross the wire: the caller's signal stays here. */
function wireOptions(o: RequestOptions): RequestOptions {
  return { datacenter: o.datacenter, minIndex: o.minIndex, waitMs: o.waitMs, consistency: o.consistency, maxStaleMs: o.maxStaleMs, ...(o.token !== undefined ? { token: o.token } : {}) };
}

// Random start: ids from servers of several datacenters meet in one cancellation subject.
let nextId = 1 + Math.floor(Math.random() * 2 ** 40);

function replyOf<M extends Method>(reply: ReplyFrame): ReplyOf<M> {
  if ("e" in reply) throw remoteError(reply.e);
  return reply.r as ReplyOf<M>;
}

/**
 * Sends one call to another datacenter over its link and returns the reply
 * (the entry point the query and gateway code use through `FederatedRpc`).
 * The request is queued as JSON text: it is written straight into the
 * message that carries it (batch.ts).
 */
export function forward<M extends Method>(links: DatacenterLinks, method: M, args: ArgsOf<M>, opts: RequestOptions): Promise<ReplyOf<M>> {
  const dc = opts.datacenter;
  const link = isDatacenterName(dc) ? links.get(dc) : null;
  if (!link) return Promise.reject(new NoPathError());
  const blocking = opts.minIndex > 0;
  const id = nextId++;
  if (nextId >= Number.MAX_SAFE_INTEGER) nextId = 1;
  let frame: string;
  try {
    frame = encodeText({ i: id, m: method, a: args, o: wireOptions(opts) });
  } catch (err) {
    return Promise.reject(err);
  }
  if (!blocking) return link.request(rpcSubject(dc), id, frame, { timeoutMs: CROSS_DC_TIMEOUT_MS }).then(replyOf<M>);
  const timeout = effectiveWait(Math.min(opts.waitMs || MAX_WAIT_MS, MAX_WAIT_MS), () => 1) + CROSS_DC_TIMEOUT_MS;
  const signal = opts.signal instanceof AbortSignal ? opts.signal : undefined;
  const reply = link.request(rpcSubject(dc), id, frame, { timeoutMs: timeout, blocking, ...(signal ? { signal } : {}) });
  if (!signal) return reply.then(replyOf<M>);
  return reply.then(replyOf<M>, (err: unknown) => {
    // The caller went away: the read parked in the other datacenter ends there too.
    if (signal.aborted) link.publish(cancelSubject(dc), new TextEncoder().encode(String(id)));
    throw err;
  });
}

/** Local calls to `local`, others over the links. */
export class FederatedRpc implements Rpc {
  readonly datacenter: string;
  private readonly local: Rpc;
  private readonly links: DatacenterLinks;

  constructor(datacenter: string, local: Rpc, links: DatacenterLinks) {
    this.datacenter = datacenter;
    this.local = local;
    this.links = links;
  }

  call<M extends Method>(method: M, args: ArgsOf<M>, opts: RequestOptions): MaybePromise<ReplyOf<M>> {
    if (opts.datacenter === this.datacenter || opts.datacenter === "") return this.local.call(method, args, opts);
    return forward(this.links, method, args, opts);
  }
}
