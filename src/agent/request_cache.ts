/**
 * The agent cache behind `?cached` reads (Consul's agent/cache, as its
 * api-docs/features/caching.mdx describes it). Entries are keyed by the
 * request (type, datacenter, token, arguments); one fetch runs per entry at a
 * time, however many readers wait on it.
 *
 * - `simple` entries (Consul's RegisterOptionsNoRefresh): a read answers from
 *   the entry unless it is older than the request's `max-age` or the request
 *   says `must-revalidate`; then it fetches again. When that fetch fails, a
 *   value no older than `stale-if-error` is answered instead of the error.
 * - `refresh` entries (RegisterOptionsBlockingRefresh): the first read fetches,
 *   then a blocking query loop keeps the entry current, so every later read is
 *   a hit and blocking reads (`?index=`) wait on the entry's index.
 *   Cache-Control is ignored; `Age` is 0 while the loop is in contact with the
 *   servers, else the time since it lost contact.
 *
 * Lifecycle: an entry nobody read for `ttlMs` is dropped (its refresh loop
 * ends with it); at most `maxEntries` are kept, the least recently read going
 * first; `stop()` aborts every in-flight fetch, clears every timer and
 * releases every waiting reader.
 */
import type { Logger } from "./logger.ts";
import type { MaybePromise, QueryReply } from "../rpc/mod.ts";
import type { Clock } from "../server/clock.ts";
import { Backoff } from "../util/mod.ts";

export type CacheKind = "simple" | "refresh";

/**
 * How long an entry lives after its last read. Consul keeps entries 3 days
 * (LastGetTTL), for "fail static" answers while the servers are away; so do we.
 */
export const CACHE_TTL_MS = 72 * 3_600_000;
/** The most entries kept (each refresh entry holds a blocking query on the servers). */
export const CACHE_MAX_ENTRIES = 4_096;
/** How long one background refresh query parks on the servers (Consul's RefreshTimeout). */
export const REFRESH_WAIT_MS = 600_000;
/** Default and largest wait of a blocking read on an entry (Consul's max query time), plus up to 1/16 jitter. */
const DEFAULT_READ_WAIT_MS = 300_000;
const MAX_READ_WAIT_MS = 600_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

export interface FetchOptions {
  /** 0: answer at once; else block until the index passes it. */
  readonly minIndex: number;
  readonly waitMs: number;
  /** Aborts when the entry is dropped or the cache stops. */
  readonly signal: AbortSignal;
}

export type CacheFetch<T> = (o: FetchOptions) => MaybePromise<QueryReply<T>>;

/** One read's freshness wishes (the request's `?index`, `?wait` and Cache-Control). */
export interface CacheRead {
  readonly minIndex: number;
  readonly waitMs: number;
  /** `max-age` in ms; 0: any age will do. */
  readonly maxAgeMs: number;
  /** `must-revalidate` or `max-age=0`: fetch again before answering. */
  readonly mustRevalidate: boolean;
  /** `stale-if-error` in ms; 0: a failed fetch is the answer. */
  readonly staleIfErrorMs: number;
  /** The reader went away: stop waiting for it. */
  readonly signal?: AbortSignal;
}

export interface CacheResult<T> {
  readonly reply: QueryReply<T>;
  /** Answered from the entry without waiting for a fetch (`X-Cache: HIT`). */
  readonly hit: boolean;
  /** How stale the answer may be, in ms (`Age`). */
  readonly ageMs: number;
}

/** The cache was stopped (the agent is shutting down) while a read waited. */
export class CacheStoppedError extends Error {
  override readonly name = "CacheStoppedError";
  constructor() {
    super("agent cache stopped: the agent is shutting down");
  }
}

export interface RequestCacheOptions {
  readonly clock: Clock;
  /** In [0, 1): the jitter of blocking-read waits. */
  readonly random: () => number;
  readonly logger?: Logger;
  readonly ttlMs?: number;
  readonly maxEntries?: number;
  readonly refreshWaitMs?: number;
}

interface Entry {
  readonly key: string;
  readonly kind: CacheKind;
  fetch: CacheFetch<unknown>;
  reply: QueryReply<unknown> | null;
  fetchedAt: number;
  /** The last fetch's error; newer than `reply` when both are set. */
  error: unknown;
  /** When the refresh loop last lost contact; 0 while in contact. */
  lostContactAt: number;
  pending: Promise<void> | null;
  lastRead: number;
  expiry: unknown;
  /** The refresh loop's pause between attempts, and how to end it early. */
  pause: { timer: unknown; end: () => void } | null;
  refreshing: boolean;
  dropped: boolean;
  readonly abort: AbortController;
  /** Readers waiting for the entry to change; woken after every fetch. */
  readonly waiters: Set<() => void>;
}

export class RequestCache {
  private readonly o: RequestCacheOptions;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly refreshWaitMs: number;
  private readonly entries = new Map<string, Entry>();
  private stopped = false;

  constructor(o: RequestCacheOptions) {
    this.o = o;
    this.ttlMs = o.ttlMs ?? CACHE_TTL_MS;
    this.maxEntries = o.maxEntries ?? CACHE_MAX_ENTRIES;
    this.refreshWaitMs = o.refreshWaitMs ?? REFRESH_WAIT_MS;
  }

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** Background refresh loops running. */
  get refreshing(): number {
    let n = 0;
    for (const e of this.entries.values()) if (e.refreshing) n++;
    return n;
  }

  /**
   * Answers `read` for the entry `key` (made with `kind` and `fetch` when new).
   * `fetch` must answer the same request every time it is called for a key.
   */
  async get<T>(kind: CacheKind, key: string, fetch: CacheFetch<T>, read: CacheRead): Promise<CacheResult<T>> {
    if (this.stopped) throw new CacheStoppedError();
    const e = this.entry(kind, key, fetch as CacheFetch<unknown>);
    let first = true;
    let revalidate = read.mustRevalidate;
    let deadline = 0;
    for (;;) {
      const now = this.o.clock.now();
      // The fetch this read waited for failed: that is the answer, unless stale-if-error covers the value in hand.
      if (!first && e.error !== null) {
        const stale = e.reply !== null && read.staleIfErrorMs > 0 && now - e.fetchedAt <= read.staleIfErrorMs;
        if (stale) return { reply: e.reply as QueryReply<T>, hit: true, ageMs: now - e.fetchedAt };
        throw e.error;
      }
      if (e.reply && this.usable(e, read, revalidate, now)) return { reply: e.reply as QueryReply<T>, hit: first, ageMs: this.age(e, now) };
      if (e.dropped) {
        if (this.stopped || e.reply === null) throw new CacheStoppedError();
        return { reply: e.reply as QueryReply<T>, hit: false, ageMs: this.age(e, now) };
      }
      if (e.reply === null || e.kind === "simple") {
        // No value yet, or one too old for this read: fetch (or join the fetch under way).
        await this.fetchNow(e);
      } else {
        // A refresh entry not yet past the reader's index: wait for the loop to move it.
        if (deadline === 0) deadline = now + this.readWait(read.waitMs);
        const left = deadline - now;
        if (left <= 0 || !(await this.waitChange(e, left, read.signal))) return { reply: e.reply as QueryReply<T>, hit: false, ageMs: this.age(e, this.o.clock.now()) };
      }
      first = false;
      revalidate = false;
    }
  }

  /** Drops every entry: in-flight fetches are aborted, timers cleared, waiting readers released. */
  stop(): void {
    this.stopped = true;
    for (const e of [...this.entries.values()]) this.drop(e);
  }

  private entry(kind: CacheKind, key: string, fetch: CacheFetch<unknown>): Entry {
    const now = this.o.clock.now();
    let e = this.entries.get(key);
    if (e) {
      // Least recently read first: a read moves the entry to the end.
      this.entries.delete(key);
      this.entries.set(key, e);
      e.lastRead = now;
      return e;
    }
    e = {
      key,
      kind,
      fetch,
      reply: null,
      fetchedAt: 0,
      error: null,
      lostContactAt: 0,
      pending: null,
      lastRead: now,
      expiry: null,
      pause: null,
      refreshing: false,
      dropped: false,
      abort: new AbortController(),
      waiters: new Set(),
    };
    this.entries.set(key, e);
    this.armExpiry(e, this.ttlMs);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.values().next().value;
      if (oldest === undefined || oldest === e) break;
      this.drop(oldest);
    }
    return e;
  }

  private usable(e: Entry, read: CacheRead, revalidate: boolean, now: number): boolean {
    if (e.kind === "refresh") return !(read.minIndex > 0 && read.minIndex >= e.reply!.index);
    if (revalidate) return false;
    return !(read.maxAgeMs > 0 && now - e.fetchedAt > read.maxAgeMs);
  }

  private age(e: Entry, now: number): number {
    if (e.kind === "refresh") return e.lostContactAt === 0 ? 0 : now - e.lostContactAt;
    return now - e.fetchedAt;
  }

  private readWait(waitMs: number): number {
    const wait = waitMs <= 0 ? DEFAULT_READ_WAIT_MS : Math.min(waitMs, MAX_READ_WAIT_MS);
    return wait + Math.floor(this.o.random() * (wait / 16));
  }

  /** Runs one non-blocking fetch (or joins the one under way); a refresh entry's first success starts its loop. */
  private async fetchNow(e: Entry): Promise<void> {
    await this.run(e, 0, 0);
    if (e.kind === "refresh" && e.reply !== null && !e.refreshing && !e.dropped) void this.refreshLoop(e);
    // An entry whose first fetch failed keeps nothing: the next reader tries again.
    if (e.reply === null && !e.dropped) this.drop(e);
  }

  private run(e: Entry, minIndex: number, waitMs: number): Promise<void> {
    if (e.pending) return e.pending;
    const p = (async () => {
      try {
        const r = await e.fetch({ minIndex, waitMs, signal: e.abort.signal });
        if (e.dropped) return;
        // Index 0 would make the next refresh answer at once, for ever: Consul makes it 1.
        e.reply = r.index < 1 ? { ...r, index: 1 } : r;
        e.fetchedAt = this.o.clock.now();
        e.error = null;
        e.lostContactAt = 0;
      } catch (err) {
        if (e.dropped) return;
        e.error = err;
        if (e.kind === "refresh" && e.reply !== null && e.lostContactAt === 0) e.lostContactAt = this.o.clock.now();
      } finally {
        e.pending = null;
        this.wake(e);
      }
    })();
    e.pending = p;
    return p;
  }

  private async refreshLoop(e: Entry): Promise<void> {
    e.refreshing = true;
    const backoff = new Backoff({ initialMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS });
    try {
      while (!e.dropped) {
        const asked = e.reply?.index ?? 0;
        await this.run(e, asked, this.refreshWaitMs);
        if (e.dropped) return;
        if (e.error !== null) {
          const delay = backoff.next();
          this.o.logger?.warn(`agent.cache: refresh of ${JSON.stringify(e.key)} failed, retrying in ${delay}ms: ${(e.error as Error).message}`);
          await this.sleep(e, delay);
        } else {
          backoff.reset();
          // The same index back: the query timed out, or a stopping server answered at once. Do not spin.
          if (e.reply!.index === asked) await this.sleep(e, RETRY_MIN_MS);
        }
      }
    } finally {
      e.refreshing = false;
    }
  }

  private sleep(e: Entry, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const end = () => {
        if (e.pause === null) return;
        this.o.clock.clearTimeout(e.pause.timer);
        e.pause = null;
        resolve();
      };
      e.pause = { timer: this.o.clock.setTimeout(end, ms), end };
    });
  }

  private waitChange(e: Entry, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (changed: boolean) => {
        e.waiters.delete(wake);
        this.o.clock.clearTimeout(timer);
        signal?.removeEventListener("abort", gone);
        resolve(changed);
      };
      const wake = () => done(true);
      const gone = () => done(false);
      const timer = this.o.clock.setTimeout(gone, ms);
      e.waiters.add(wake);
      if (signal?.aborted) gone();
      else signal?.addEventListener("abort", gone, { once: true });
    });
  }

  private wake(e: Entry): void {
    for (const w of [...e.waiters]) w();
  }

  /** Expires the entry `ms` after its last read; a read since then moves the deadline. */
  private armExpiry(e: Entry, ms: number): void {
    e.expiry = this.o.clock.setTimeout(() => {
      e.expiry = null;
      const idle = this.o.clock.now() - e.lastRead;
      if (idle >= this.ttlMs) this.drop(e);
      else this.armExpiry(e, this.ttlMs - idle);
    }, ms);
  }

  private drop(e: Entry): void {
    if (e.dropped) return;
    e.dropped = true;
    if (this.entries.get(e.key) === e) this.entries.delete(e.key);
    if (e.expiry !== null) this.o.clock.clearTimeout(e.expiry);
    e.expiry = null;
    e.pause?.end();
    e.abort.abort();
    this.wake(e);
  }
}
