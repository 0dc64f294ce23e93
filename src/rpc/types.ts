/**
 * The typed RPC layer between agents and servers (Consul's net/rpc endpoints:
 * `Catalog.Register`, `KVS.Get`, ...). One interface, several transports:
 * in-process (this agent is a server), the server RPC port (client agents),
 * and later NATS (between servers and datacenters).
 *
 * A call may answer synchronously: the in-process transport returns a
 * non-blocking read's reply as a plain value, so the HTTP hot path gains no
 * promise. Callers handle both with `isPromise`.
 */
import type { Endpoints } from "./methods.ts";

export type Consistency = "default" | "stale" | "consistent";

/**
 * What every request carries (Consul's QueryOptions / WriteRequest). The
 * HTTP layer's parsed query options satisfy it as they are, so a handler
 * passes them through without copying.
 */
export interface RequestOptions {
  /** Target datacenter. */
  readonly datacenter: string;
  /** Blocking: answer once the index passes this (0 answers at once). */
  readonly minIndex: number;
  /** Blocking: longest wait in ms (0 means the server default). */
  readonly waitMs: number;
  readonly consistency: Consistency;
  /** `?max_stale`: a stale answer older than this is retried consistently. */
  readonly maxStaleMs: number;
  /** ACL token, once ACLs exist. */
  readonly token?: string;
  /**
   * Aborts when the caller went away (the HTTP client closed): a blocking
   * call forwarded to another datacenter is cancelled there. Never crosses
   * the wire.
   */
  readonly signal?: AbortSignal;
}

/** A read's answer with Consul's QueryMeta. Absent fields mean "known leader, in contact". */
export interface QueryReply<T> {
  readonly index: number;
  readonly value: T;
  /** X-Consul-KnownLeader; absent means true. */
  readonly knownLeader?: boolean;
  /** X-Consul-LastContact in ms; absent means 0. */
  readonly lastContact?: number;
  /** X-Consul-Results-Filtered-By-ACLs: the token could not see part of the answer. */
  readonly filteredByACLs?: boolean;
}

export type Method = keyof Endpoints;
export type ArgsOf<M extends Method> = Endpoints[M]["args"];
export type ReplyOf<M extends Method> = Endpoints[M]["reply"];
export type MaybePromise<T> = T | Promise<T>;

/** The one interface every transport implements. */
export interface Rpc {
  call<M extends Method>(method: M, args: ArgsOf<M>, opts: RequestOptions): MaybePromise<ReplyOf<M>>;
}

/** Options for a write or a plain (non-blocking) read in `datacenter`. */
export function defaultOptions(datacenter: string): RequestOptions {
  let o = defaults.get(datacenter);
  if (!o) {
    o = Object.freeze({ datacenter, minIndex: 0, waitMs: 0, consistency: "default" as const, maxStaleMs: 0 });
    defaults.set(datacenter, o);
  }
  return o;
}
const defaults = new Map<string, RequestOptions>();

/** True for a pending reply (a thenable), false for a value answered at once. */
export function isPromise<T>(v: MaybePromise<T>): v is Promise<T> {
  return v instanceof Promise;
}

/** Always a promise, for callers that do not care about the sync fast path. */
export async function callAsync<M extends Method>(rpc: Rpc, method: M, args: ArgsOf<M>, opts: RequestOptions): Promise<ReplyOf<M>> {
  return await rpc.call(method, args, opts);
}
