/**
 * The agent's cache of the CA roots (Consul's background-refresh cache type
 * for ConnectCA.Roots): filled on first use, then kept current by a blocking
 * query loop against the servers. Readers block on its index; listeners hear
 * when the roots change (the leaf cache re-issues on a new active root).
 */
import type { Logger } from "./logger.ts";
import type { Rpc } from "../rpc/mod.ts";
import type { Clock } from "../server/clock.ts";
import type { IndexedCARoots } from "../structs/connect_ca.ts";
import { Backoff } from "../util/mod.ts";

/** How long one refresh query parks on the servers (Consul's max query time). */
const REFRESH_WAIT_MS = 600_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

export interface CachedReply<T> {
  readonly index: number;
  readonly value: T;
  /** Answered from the cache without waiting (`X-Cache: HIT`); absent: a miss. */
  readonly hit?: boolean;
  /** How stale the answer may be, in ms (`Age`): 0 while the refresh loop is in contact with the servers. */
  readonly ageMs?: number;
}

export interface BlockingParams {
  /** `?index=`; 0 answers at once. */
  readonly minIndex: number;
  /** `?wait=` in ms; 0 means the default. */
  readonly waitMs: number;
}

export class RootsCache {
  private readonly rpc: Rpc;
  private readonly datacenter: string;
  private readonly clock: Clock;
  private readonly logger: Logger | null;
  private current: CachedReply<IndexedCARoots> | null = null;
  private first: Promise<CachedReply<IndexedCARoots>> | null = null;
  private readonly waiters = new Set<() => void>();
  private readonly listeners = new Set<(roots: IndexedCARoots) => void>();
  private retryTimer: unknown = null;
  private stopped = false;
  /** When the refresh loop last lost contact with the servers; 0 while in contact. */
  private lostContactAt = 0;

  constructor(o: { rpc: Rpc; datacenter: string; clock: Clock; logger?: Logger }) {
    this.rpc = o.rpc;
    this.datacenter = o.datacenter;
    this.clock = o.clock;
    this.logger = o.logger ?? null;
  }

  /** The roots, fetching them (and starting the refresh loop) on first use. */
  get(): Promise<CachedReply<IndexedCARoots>> {
    if (this.current) return Promise.resolve(this.current);
    if (!this.first) {
      this.first = this.fetch(0).then(
        (r) => {
          this.update(r);
          void this.refreshLoop();
          return r;
        },
        (err: unknown) => {
          // A failed first fetch is the caller's error; the next caller tries again.
          this.first = null;
          throw err;
        },
      );
    }
    return this.first;
  }

  /** A blocking read on the cache's index. */
  async query(p: BlockingParams, random: () => number): Promise<CachedReply<IndexedCARoots>> {
    const held = this.current !== null;
    let r = await this.get();
    if (p.minIndex <= 0 || r.index > p.minIndex) return held ? { ...r, hit: true, ageMs: this.ageMs() } : r;
    const wait = waitFor(p.waitMs, random);
    const deadline = this.clock.now() + wait;
    while (!this.stopped && r.index <= p.minIndex) {
      const left = deadline - this.clock.now();
      if (left <= 0) break;
      const changed = await this.waitChange(left);
      r = this.current ?? r;
      if (!changed) break;
    }
    return r;
  }

  /** How long the refresh loop has been out of contact with the servers (0: in contact). */
  ageMs(): number {
    return this.lostContactAt === 0 ? 0 : this.clock.now() - this.lostContactAt;
  }

  /** Calls `fn` with every new roots value; returns the unsubscribe. */
  onChange(fn: (roots: IndexedCARoots) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get value(): IndexedCARoots | null {
    return this.current?.value ?? null;
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) this.clock.clearTimeout(this.retryTimer);
    for (const w of [...this.waiters]) w();
    this.waiters.clear();
    this.listeners.clear();
  }

  private fetch(minIndex: number): Promise<CachedReply<IndexedCARoots>> {
    return Promise.resolve(
      this.rpc.call("ConnectCA.Roots", {}, { datacenter: this.datacenter, minIndex, waitMs: minIndex > 0 ? REFRESH_WAIT_MS : 0, consistency: "default", maxStaleMs: 0 }),
    );
  }

  private update(r: CachedReply<IndexedCARoots>): void {
    const changed = this.current === null || r.index !== this.current.index;
    this.current = { index: r.index, value: r.value };
    if (!changed) return;
    for (const w of [...this.waiters]) w();
    this.waiters.clear();
    for (const l of [...this.listeners]) l(r.value);
  }

  private waitChange(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (changed: boolean) => {
        this.waiters.delete(wake);
        this.clock.clearTimeout(timer);
        resolve(changed);
      };
      const wake = () => done(true);
      const timer = this.clock.setTimeout(() => done(false), ms);
      this.waiters.add(wake);
    });
  }

  private async pause(ms: number): Promise<void> {
    await new Promise<void>((r) => (this.retryTimer = this.clock.setTimeout(r, ms)));
    this.retryTimer = null;
  }

  private async refreshLoop(): Promise<void> {
    const backoff = new Backoff({ initialMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS });
    while (!this.stopped) {
      try {
        const asked = this.current?.index ?? 0;
        const r = await this.fetch(asked);
        if (this.stopped) return;
        // An index going back means the servers' state was replaced: take it as new.
        this.update(r);
        this.lostContactAt = 0;
        backoff.reset();
        // The same index back means the query timed out, or a stopping server answered at once: do not spin.
        if (r.index === asked) await this.pause(RETRY_MIN_MS);
      } catch (err) {
        if (this.stopped) return;
        if (this.lostContactAt === 0) this.lostContactAt = this.clock.now();
        const delay = backoff.next();
        this.logger?.warn(`agent: CA roots refresh failed, retrying in ${delay}ms: ${(err as Error).message}`);
        await this.pause(delay);
      }
    }
  }
}

/** Consul's wait: the default when none is asked (10 minutes for these cached types), at most 10 minutes, plus up to 1/16 jitter. */
export function waitFor(waitMs: number, random: () => number): number {
  const wait = waitMs <= 0 ? 600_000 : Math.min(waitMs, 600_000);
  return wait + Math.floor(random() * (wait / 16));
}
