/**
 * Reaps KV tombstones older than TombstoneTTL (15m by default), a leader
 * duty. Every tick notes the applied index; a mark older than the TTL says
 * every tombstone up to its index may go.
 */
import type { Clock } from "./clock.ts";

export interface TombstoneReaperOptions {
  readonly clock: Clock;
  readonly ttlMs: number;
  readonly lastApplied: () => number;
  /** Whether to reap now (leading and not stopped). */
  readonly active: () => boolean;
  /** Writes the reap of tombstones up to `index`. */
  readonly reap: (index: number, now: number) => void;
}

export class TombstoneReaper {
  readonly #o: TombstoneReaperOptions;
  readonly #marks: { at: number; index: number }[] = [];
  #timer: unknown = null;
  #stopped = false;

  constructor(options: TombstoneReaperOptions) {
    this.#o = options;
  }

  start(): void {
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimeout(this.#timer);
    this.#timer = null;
  }

  #arm(): void {
    const { clock, ttlMs } = this.#o;
    this.#timer = clock.setTimeout(() => this.#tick(), Math.max(1000, ttlMs / 30));
  }

  #tick(): void {
    const { clock, ttlMs, lastApplied, active, reap } = this.#o;
    const now = clock.now();
    this.#marks.push({ at: now, index: lastApplied() });
    let reapIndex = 0;
    while (this.#marks.length > 0 && this.#marks[0]!.at <= now - ttlMs) reapIndex = this.#marks.shift()!.index;
    if (reapIndex > 0 && active()) reap(reapIndex, now);
    if (!this.#stopped) this.#arm();
  }
}
