/**
 * MemoryLog: the log of `-dev` mode. Same contract and ordering as LocalLog
 * (the consumer sees each entry before its append resolves; snapshots drop the
 * entries they cover) but nothing survives the process.
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
  /** Entries after the snapshot; `#entries[i].index === #snapshotIndex + 1 + i`. */
  #entries: LogEntry[] = [];
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
    // Copied so a caller reusing its buffer cannot rewrite history.
    const entry: LogEntry = { index: this.#lastIndex + 1, data: data.slice() };
    this.#entries.push(entry);
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

  entriesSinceSnapshot(): number {
    return this.#lastIndex - this.#snapshotIndex();
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
    this.#entries = this.#entries.slice(index - previous);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** Entries still held (not yet compacted), for tests and diagnostics. */
  retained(): readonly LogEntry[] {
    return this.#entries;
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
