/**
 * `?cached` reads (Consul's api-docs/features/caching.mdx): the agent cache
 * answers them, with `X-Cache: HIT|MISS` and, on a hit, `Age` in seconds.
 * The request's `Cache-Control` (`max-age=N`, `must-revalidate`,
 * `stale-if-error=N`) bounds how stale a simple entry may be; background
 * refresh entries ignore it. Without `?cached`, or on an agent without a
 * cache, the read goes to the servers as usual.
 */
import type { Context } from "hono";
import { type ApiContext, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import type { QueryOptions } from "./query.ts";
import type { CacheFetch, CacheKind, CacheRead } from "../agent/request_cache.ts";
import type { ArgsOf, MaybePromise, Method, QueryReply, ReplyOf } from "../rpc/mod.ts";
import { toJson } from "../structs/json.ts";

/** The reads Consul's HTTP handlers serve from the agent cache, and the kind of cache type each uses. */
export const CACHED_READS = {
  "Catalog.ListServices": "refresh",
  "Catalog.ServiceNodes": "refresh",
  "Health.ServiceNodes": "refresh",
  "Health.ConnectServiceNodes": "refresh",
  "DiscoveryChain.Get": "refresh",
  "PreparedQuery.Execute": "simple",
  // Consul's agent answers connect/authorize from its intention-match cache, always.
  "Intention.Match": "refresh",
} as const satisfies Partial<Record<Method, CacheKind>>;

type CachedMethod = keyof typeof CACHED_READS;

export interface CacheControl {
  readonly maxAgeMs: number;
  readonly mustRevalidate: boolean;
  readonly staleIfErrorMs: number;
}

const NONE: CacheControl = { maxAgeMs: 0, mustRevalidate: false, staleIfErrorMs: 0 };

/**
 * Consul's parseCacheControl: comma-separated directives, case-insensitive;
 * `max-age=0` means must-revalidate; a value that is not a decimal integer
 * is a 400. Unknown directives are ignored.
 */
export function parseCacheControl(raw: string | undefined): CacheControl {
  if (raw === undefined || raw.trim() === "") return NONE;
  let maxAgeMs = 0;
  let mustRevalidate = false;
  let staleIfErrorMs = 0;
  const seconds = (v: string): number => {
    // Go's strconv.Atoi: an optional sign, then decimal digits.
    if (!/^[+-]?\d{1,12}$/.test(v)) throw new HttpError(400, "Invalid Cache-Control header.");
    return Math.max(0, Number(v)) * 1000;
  };
  for (const part of raw.toLowerCase().split(",")) {
    const d = part.trim();
    if (d === "must-revalidate") mustRevalidate = true;
    if (d.startsWith("max-age=")) {
      maxAgeMs = seconds(d.slice(8));
      if (maxAgeMs === 0) mustRevalidate = true;
    }
    if (d.startsWith("stale-if-error=")) staleIfErrorMs = seconds(d.slice(15));
  }
  return { maxAgeMs, mustRevalidate, staleIfErrorMs };
}

/** Whether this read asks for the agent cache and the agent has one (and `http_config.use_cache` is not off). */
export function wantsCache(c: Context, api: ApiContext): boolean {
  return api.cache !== undefined && api.httpUseCache !== false && urlOf(c).searchParams.has("cached");
}

/**
 * One read through the agent cache (when asked for): the entry is keyed by
 * the read, its datacenter and token; fetches read stale, as Consul's cache
 * types do (an answer served from a cache is no fresher than the cache).
 */
export function cachedRead<T>(
  c: Context,
  api: ApiContext,
  q: QueryOptions,
  kind: CacheKind,
  key: string,
  fetch: CacheFetch<T>,
): MaybePromise<QueryReply<T>> {
  const cache = api.cache!;
  const control = parseCacheControl(c.req.header("cache-control"));
  const read: CacheRead = { minIndex: q.minIndex, waitMs: q.waitMs, ...control, signal: c.req.raw.signal };
  const fullKey = `${key}\u0000${q.datacenter}\u0000${q.token ?? ""}`;
  return cache.get(kind, fullKey, fetch, read).then((r) => {
    c.header("X-Cache", r.hit ? "HIT" : "MISS");
    if (r.hit) c.header("Age", String(Math.round(r.ageMs / 1000)));
    return r.reply;
  });
}

/** An RPC read, through the agent cache when the request says `?cached`. */
export function cachedCall<M extends CachedMethod>(c: Context, api: ApiContext, q: QueryOptions, method: M, args: ArgsOf<M>): MaybePromise<ReplyOf<M>> {
  if (!wantsCache(c, api)) return api.rpc.call(method, args, q);
  return cacheCall(c, api, q, method, args);
}

/** An RPC read through the agent cache whenever the agent has one (what Consul's handler always caches). */
export function cacheCall<M extends CachedMethod>(c: Context, api: ApiContext, q: QueryOptions, method: M, args: ArgsOf<M>): MaybePromise<ReplyOf<M>> {
  if (api.cache === undefined) return api.rpc.call(method, args, q);
  type Value = ReplyOf<M> extends QueryReply<infer V> ? V : never;
  const fetch: CacheFetch<Value> = (o) =>
    api.rpc.call(method, args, { ...q, consistency: "stale", maxStaleMs: 0, minIndex: o.minIndex, waitMs: o.waitMs, signal: o.signal }) as MaybePromise<QueryReply<Value>>;
  return cachedRead(c, api, q, CACHED_READS[method], `${method}\u0000${toJson(args)}`, fetch) as MaybePromise<ReplyOf<M>>;
}
