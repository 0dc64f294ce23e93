/**
 * Callers waiting until the local reader has applied an index (appends
 * being applied, read barriers): each resolves once the index is applied,
 * or fails when its time is up or the log closes.
 */
import { LogUnavailableError } from "./errors.ts";

interface Waiter {
  readonly index: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class AppliedWaiters {
  readonly #applied: () => number;
  #waiters: Waiter[] = [];
  /** The lowest index waited for (Infinity when none), so the reader checks cheaply. */
  #min = Infinity;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  /** `applied` answers the highest index the reader has applied. */
  constructor(applied: () => number) {
    this.#applied = applied;
  }

  /** Resolves once `index` is applied; fails with LogUnavailableError after `timeoutMs`. */
  wait(index: number, timeoutMs: number): Promise<void> {
    if (index <= this.#applied()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        this.#min = Math.min(Infinity, ...this.#waiters.map((w) => w.index));
        reject(new LogUnavailableError(`entry ${index} is committed but this server has applied only up to ${this.#applied()}`));
      }, timeoutMs);
      this.#timers.add(timer);
      const waiter: Waiter = {
        index,
        resolve: () => {
          clearTimeout(timer);
          this.#timers.delete(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          this.#timers.delete(timer);
          reject(err);
        },
      };
      this.#waiters.push(waiter);
      this.#min = Math.min(this.#min, index);
    });
  }

  /** After the reader applied `seq`: wakes the waiters it reached, if any can be. */
  applied(seq: number): void {
    if (seq >= this.#min) this.wake();
  }

  /** Resolves every waiter whose index is applied. */
  wake(): void {
    const applied = this.#applied();
    const ready = this.#waiters.filter((w) => w.index <= applied);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.index > applied);
    this.#min = this.#waiters.length === 0 ? Infinity : Math.min(...this.#waiters.map((w) => w.index));
    for (const w of ready) w.resolve();
  }

  /** Fails every waiter with `err` and clears their timers. */
  close(err: unknown): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const w of this.#waiters) w.reject(err);
    this.#waiters = [];
  }
}
