/**
 * Where a JetStreamLog's reader hands what it applied: entries to the commit
 * consumer, snapshots to the restore consumer. Until a consumer is set, what
 * it would get is held in order (a snapshot replaces what was held before it)
 * and handed over when it is.
 */
import type { LogEntry, LogSnapshot } from "./log.ts";

type Buffered = { readonly entry: LogEntry } | { readonly snapshot: LogSnapshot };

/** What the commit consumer answered for an entry: its return value, or what it threw (null when it did not). */
export interface Delivered {
  readonly result: unknown;
  readonly failure: unknown;
}

export class Delivery {
  #consumer: ((entry: LogEntry) => unknown) | null = null;
  #restore: ((snapshot: LogSnapshot) => void) | null = null;
  #buffer: Buffered[] = [];

  onCommit(consumer: (entry: LogEntry) => unknown): void {
    this.#consumer = consumer;
    this.#drain();
  }

  onRestore(consumer: (snapshot: LogSnapshot) => void): void {
    this.#restore = consumer;
    this.#drain();
  }

  /** Unsets both consumers (what comes next is held). */
  clear(): void {
    this.#consumer = null;
    this.#restore = null;
  }

  entry(entry: LogEntry): Delivered {
    if (this.#consumer === null) {
      this.#buffer.push({ entry });
      return { result: undefined, failure: null };
    }
    try {
      return { result: this.#consumer(entry), failure: null };
    } catch (err) {
      return { result: undefined, failure: err };
    }
  }

  snapshot(snapshot: LogSnapshot): void {
    if (this.#restore !== null) this.#restore(snapshot);
    else this.#buffer = [{ snapshot }];
  }

  #drain(): void {
    if (this.#buffer.length === 0) return;
    const items = this.#buffer;
    this.#buffer = [];
    for (const item of items) {
      if ("snapshot" in item) {
        if (this.#restore === null) {
          this.#buffer.push(item);
          continue;
        }
        this.#restore(item.snapshot);
      } else if (this.#consumer !== null && this.#buffer.length === 0) {
        try {
          this.#consumer(item.entry);
        } catch {
          // Nobody here awaits a remote entry's outcome.
        }
      } else {
        this.#buffer.push(item);
      }
    }
  }
}
