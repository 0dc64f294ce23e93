/**
 * MemoryLog: the log of `-dev` mode. Same contract and ordering as LocalLog
 * (the consumer sees each entry before its append resolves), but nothing
 * survives the process, so nothing is kept: no one ever recovers from it.
 * Keeping the entries (and, to bound them, a snapshot every 16,384 writes)
 * cost a dev agent an encoding of its whole state each time and the memory
 * to hold it; so `entriesSinceSnapshot()` stays 0 and the server's
 * compactor never starts a snapshot. One saved explicitly is kept.
 */
import { LogClosedError, LogStateError } from "./errors.ts";
import type { Log, LogEntry, LogSnapshot, RecoveredLog } from "./log.ts";

/**
 * @example
 * ```ts
 * const log = new MemoryLog();
 * await log.open();
 * log.onCommit((entry) => fsm.apply(entry));
 * await log.append(new TextEncoder().encode("cmd")); // 1
 * ```
 */
export class MemoryLog implements Log {
  #opened = false;
  #closed = false;
  #consumer: ((entry: LogEntry) => void) | null = null;
  #snapshot: LogSnapshot | null = null;
  #lastIndex = 0;

  open(): Promise<RecoveredLog> {
    if (this.#opened || this.#closed) {
      return Promise.reject(new LogStateError("MemoryLog.open() can be called only once, on a new log"));
    }
    this.#opened = true;
    return Promise.resolve({ snapshot: null, entries: [] });
  }

  onCommit(consumer: (entry: LogEntry) => void): void {
    this.#consumer = consumer;
  }

  append(data: Uint8Array): Promise<number> {
    const refused = this.#refusal("append");
    if (refused !== null) return Promise.reject(refused);
    const entry: LogEntry = { index: this.#lastIndex + 1, data };
    this.#lastIndex = entry.index;
    try {
      this.#consumer?.(entry);
    } catch (err) {
      // Committed regardless, as in LocalLog; the caller learns that applying it failed.
      return Promise.reject(err);
    }
    return Promise.resolve(entry.index);
  }

  lastIndex(): number {
    return this.#lastIndex;
  }

  /** Always 0: no entry is kept, so a snapshot would drop nothing. */
  entriesSinceSnapshot(): number {
    return 0;
  }

  saveSnapshot(snapshot: LogSnapshot): Promise<void> {
    const refused = this.#refusal("save a snapshot");
    if (refused !== null) return Promise.reject(refused);
    const previous = this.#snapshotIndex();
    const { index } = snapshot;
    if (!Number.isSafeInteger(index) || index < previous || index > this.#lastIndex) {
      return Promise.reject(
        new RangeError(
          `Snapshot index ${index} is invalid: it must lie between the previous snapshot (${previous}) and the last committed index (${this.#lastIndex})`,
        ),
      );
    }
    this.#snapshot = { index, data: snapshot.data.slice() };
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** The latest snapshot, or null. */
  snapshot(): LogSnapshot | null {
    return this.#snapshot;
  }

  #snapshotIndex(): number {
    return this.#snapshot?.index ?? 0;
  }

  #refusal(operation: string): Error | null {
    if (this.#closed) return new LogClosedError(operation);
    if (!this.#opened) return new LogStateError(`Cannot ${operation}: MemoryLog.open() has not been called`);
    return null;
  }
}
