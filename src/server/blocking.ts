/**
 * Blocking queries (Consul's `?index=&wait=`): run the read; while its index
 * is not past the client's, park on the watch topics the read depends on
 * until one fires or the wait (plus up to wait/16 jitter) runs out.
 *
 * Parked requests share everything they can: one promise per topic (see
 * WatchHub), one timer per 50 ms deadline bucket and one race between the
 * two, so 10,000 watchers of a key cost one promise resolution on the write
 * path and one await each while parked.
 */
import type { WatchHub } from "../state/watch.ts";

export const DEFAULT_WAIT_MS = 300_000;
export const MAX_WAIT_MS = 600_000;
export const JITTER_FRACTION = 16;
const BUCKET_MS = 50;

export interface QueryResult<T> {
  readonly index: number;
  readonly value: T;
}

export interface BlockingOptions {
  /** `?index=`; 0 means answer at once. */
  readonly minIndex: number;
  /** `?wait=` in ms; 0 means the default. */
  readonly waitMs: number;
  /** Ends the wait early (the caller went away); the current result is answered. */
  readonly signal?: AbortSignal;
}

/** Resolves when `signal` aborts; never without one. */
function abortOf(signal: AbortSignal | undefined): Promise<void> | null {
  if (!(signal instanceof AbortSignal)) return null;
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}

export class Deadlines {
  private readonly buckets = new Map<number, { promise: Promise<void>; timer: ReturnType<typeof setTimeout> }>();
  private stopped = false;
  private readonly stopWaiters = new Set<() => void>();

  /** Resolves at (or up to 50 ms after) `at` (ms since epoch), or when stopped. */
  until(at: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const bucket = Math.ceil(at / BUCKET_MS);
    let b = this.buckets.get(bucket);
    if (!b) {
      let resolve: () => void = () => {};
      const promise = new Promise<void>((r) => (resolve = r));
      const done = () => {
        this.buckets.delete(bucket);
        this.stopWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, bucket * BUCKET_MS - Date.now()));
      this.stopWaiters.add(done);
      b = { promise, timer };
      this.buckets.set(bucket, b);
    }
    return b.promise;
  }

  /** Releases every parked wait (shutdown). */
  stop(): void {
    this.stopped = true;
    for (const b of this.buckets.values()) clearTimeout(b.timer);
    for (const done of [...this.stopWaiters]) done();
  }
}

export function effectiveWait(waitMs: number, random: () => number = Math.random): number {
  const wait = waitMs <= 0 ? DEFAULT_WAIT_MS : Math.min(waitMs, MAX_WAIT_MS);
  return wait + Math.floor(random() * (wait / JITTER_FRACTION));
}

const outcomes = new WeakMap<Promise<void>, WeakMap<Promise<void>, Promise<boolean>>>();

/**
 * True if `changed` settles first, false if `timeout` does. Watchers of one
 * topic whose deadlines share a bucket await the same promise, so each
 * parked watcher holds one await rather than a race of its own.
 */
function firstOf(changed: Promise<void>, timeout: Promise<void>): Promise<boolean> {
  let byTimeout = outcomes.get(changed);
  if (!byTimeout) outcomes.set(changed, (byTimeout = new WeakMap()));
  let race = byTimeout.get(timeout);
  if (!race) {
    race = Promise.race([changed.then(() => true), timeout.then(() => false)]);
    byTimeout.set(timeout, race);
  }
  return race;
}

export async function blockingQuery<T>(
  hub: WatchHub,
  deadlines: Deadlines,
  opts: BlockingOptions,
  topics: readonly string[],
  run: () => QueryResult<T>,
  isStopped: () => boolean,
): Promise<QueryResult<T>> {
  let result = run();
  if (opts.minIndex <= 0 || result.index > opts.minIndex) return result;
  const deadline = Date.now() + effectiveWait(opts.waitMs);
  const aborted = abortOf(opts.signal);
  const timeout = aborted ? Promise.race([deadlines.until(deadline), aborted]) : deadlines.until(deadline);
  for (;;) {
    const changed = topics.length === 1 ? hub.wait(topics[0]!) : Promise.race(topics.map((t) => hub.wait(t)));
    const fired = await firstOf(changed, timeout);
    result = run();
    if (!fired || result.index > opts.minIndex || isStopped() || Date.now() >= deadline || opts.signal?.aborted === true) return result;
  }
}
