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
 * The hash of a query's key: every byte after the ID (flags, counts, the
 * question as sent, EDNS), so two queries with one key get the same answer but
 * for the ID. Entries are found by this hash and then compared byte by byte
 * (no string is made per query: decoding one cost more than the lookup).
 */
export function queryHash(query: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 2; i < query.length; i++) h = Math.imul(h ^ query[i]!, 0x01000193);
  // 30 bits: a small integer to the engine, so the map lookup hashes no heap number.
  return (h ^ (h >>> 30)) & 0x3fffffff;
}

/** Whether two queries have the same key (all bytes after the ID). */
function sameKey(kept: Uint8Array, query: Uint8Array): boolean {
  if (kept.length !== query.length) return false;
  for (let i = 2; i < kept.length; i++) if (kept[i] !== query[i]) return false;
  return true;
}

/** Rough memory of one kept record (an Rr object and its share of arrays). */
const RECORD_WEIGHT = 160;
/** Rough memory of an entry besides its answer (key, entry object, map slot). */
const ENTRY_WEIGHT = 256;

/** What an entry is counted as against the byte budget. */
function weightOf(query: Uint8Array, e: CachedAnswer): number {
  const body = e.kind === "bytes" ? e.bytes.length : e.replay.recordCount * RECORD_WEIGHT;
  return ENTRY_WEIGHT + query.length + body;
}

interface Kept {
  /** The query the answer is for (a copy; its ID is ignored). */
  readonly query: Uint8Array;
  readonly entry: CachedAnswer;
  readonly weight: number;
}

export class AnswerCache {
  readonly limit: number;
  readonly maxBytes: number;
  /** By query hash; two keys with one hash take turns (the later replaces the earlier). */
  private readonly entries = new Map<number, Kept>();
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

  /** The answer kept for `query` (whose `queryHash` is `hash`) at this catalog version and second, if any. */
  get(query: Uint8Array, hash: number, version: number, second: number): CachedAnswer | undefined {
    const kept = this.entries.get(hash);
    const e = kept?.entry;
    if (e !== undefined && e.version === version && e.second === second && sameKey(kept!.query, query)) {
      this.hits++;
      return e;
    }
    this.misses++;
    return undefined;
  }

  set(query: Uint8Array, hash: number, entry: CachedAnswer): void {
    const weight = weightOf(query, entry);
    if (weight > this.maxBytes) return;
    const old = this.entries.get(hash);
    if (old !== undefined) {
      this.bytes -= old.weight;
      this.entries.delete(hash);
    }
    // Oldest first: a Map iterates in insertion order.
    while (this.entries.size > 0 && (this.entries.size >= this.limit || this.bytes + weight > this.maxBytes)) {
      const oldest = this.entries.entries().next().value!;
      this.bytes -= oldest[1].weight;
      this.entries.delete(oldest[0]);
    }
    this.entries.set(hash, { query: new Uint8Array(query), entry, weight });
    this.bytes += weight;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
