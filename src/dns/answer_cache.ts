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
  // Every byte value decodes to one code point of its own, so distinct queries get distinct keys;
  // decoding the whole query and slicing off the ID allocates less than decoding a subarray.
  return latin1.decode(query).slice(2);
}

const latin1 = new TextDecoder("latin1");

/** Rough memory of one kept record (an Rr object and its share of arrays). */
const RECORD_WEIGHT = 160;
/** Rough memory of an entry besides its answer (key, entry object, map slot). */
const ENTRY_WEIGHT = 256;

/** What an entry is counted as against the byte budget. */
function weightOf(key: string, e: CachedAnswer): number {
  const body = e.kind === "bytes" ? e.bytes.length : e.replay.recordCount * RECORD_WEIGHT;
  return ENTRY_WEIGHT + key.length * 2 + body;
}

export class AnswerCache {
  readonly limit: number;
  readonly maxBytes: number;
  private readonly entries = new Map<string, { entry: CachedAnswer; weight: number }>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  /**
   * At most `limit` entries and about `maxBytes` of memory: a question can
   * be asked in many spellings (letter case, EDNS sizes), and a large
   * service's answer is large, so both are bounded.
   */
  constructor(limit = 2048, maxBytes = 16 << 20) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Answer cache limit must be a positive integer, got ${limit}`);
    if (!Number.isInteger(maxBytes) || maxBytes < 1) throw new RangeError(`Answer cache byte budget must be a positive integer, got ${maxBytes}`);
    this.limit = limit;
    this.maxBytes = maxBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Approximate memory the kept answers take. */
  get weight(): number {
    return this.bytes;
  }

  /** The answer kept for `key` at this catalog version and second, if any. */
  get(key: string, version: number, second: number): CachedAnswer | undefined {
    const e = this.entries.get(key)?.entry;
    if (e !== undefined && e.version === version && e.second === second) {
      this.hits++;
      return e;
    }
    this.misses++;
    return undefined;
  }

  set(key: string, entry: CachedAnswer): void {
    const weight = weightOf(key, entry);
    if (weight > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.bytes -= old.weight;
      this.entries.delete(key);
    }
    // Oldest first: a Map iterates in insertion order.
    while (this.entries.size > 0 && (this.entries.size >= this.limit || this.bytes + weight > this.maxBytes)) {
      const oldest = this.entries.entries().next().value!;
      this.bytes -= oldest[1].weight;
      this.entries.delete(oldest[0]);
    }
    this.entries.set(key, { entry, weight });
    this.bytes += weight;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
