/**
 * Answers kept per question, valid while the catalog stays at the same
 * version (and, because the SOA serial is the time in seconds, within the
 * same second). Most questions get the same answer many times between two
 * catalog writes; building it again costs allocations that show up as GC
 * pauses in the latency tail.
 *
 * Consul shuffles answers per response, so an answer that was shuffled is
 * not kept as bytes: what is kept is the set it was dealt from (the healthy
 * instances and their records, see ServiceReplay), dealt again with a fresh
 * shuffle for every response. Answers that used no randomness (one
 * instance, NXDOMAIN, nodes) are kept as bytes and only get the ID of the
 * query they answer.
 */
import type { Query } from "./wire.ts";
import type { ServiceReplay } from "./service_answer.ts";

export type CachedAnswer =
  | { readonly kind: "bytes"; readonly version: number; readonly second: number; readonly bytes: Uint8Array }
  | { readonly kind: "service"; readonly version: number; readonly second: number; readonly query: Query; readonly respDomain: string; readonly replay: ServiceReplay };

/** Queries longer than this are not cached (keys stay small; normal questions are far shorter). */
export const MAX_CACHED_QUERY = 512;
/** Byte answers longer than this are not kept (a large answer is rare and costs memory). */
export const MAX_CACHED_ANSWER = 4096;

/**
 * The key of a query: every byte after the ID (flags, counts, the question as
 * sent, EDNS), so two queries with one key get the same answer but for the ID.
 */
export function cacheKey(query: Uint8Array): string {
  // Every byte value decodes to its own code point, so distinct queries get distinct keys.
  return latin1.decode(query.subarray(2));
}

const latin1 = new TextDecoder("latin1");

export class AnswerCache {
  readonly limit: number;
  private readonly entries = new Map<string, CachedAnswer>();
  hits = 0;
  misses = 0;

  constructor(limit = 2048) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Answer cache limit must be a positive integer, got ${limit}`);
    this.limit = limit;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The answer kept for `key` at this catalog version and second, if any. */
  get(key: string, version: number, second: number): CachedAnswer | undefined {
    const e = this.entries.get(key);
    if (e !== undefined && e.version === version && e.second === second) {
      this.hits++;
      return e;
    }
    this.misses++;
    return undefined;
  }

  set(key: string, entry: CachedAnswer): void {
    if (!this.entries.has(key) && this.entries.size >= this.limit) {
      // Oldest first: a Map iterates in insertion order.
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, entry);
  }

  clear(): void {
    this.entries.clear();
  }
}
