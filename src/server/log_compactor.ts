/**
 * Snapshots of the state into the log, which drops the entries they cover:
 * every `threshold` entries (Consul's SnapshotThreshold), and right after a
 * restore so that recovery does not replay the restore entry. One at a time.
 *
 * A snapshot that fails to save (the log's store unreachable or slow for a
 * while) is reported and tried again on a timer, 1 s after the first failure
 * and up to 8 s apart after more: waiting for the next entry instead would
 * leave the log uncompacted for as long as no write comes. The retry saves
 * even when no entry came since: a save that failed after storing the
 * snapshot (while dropping the entries behind it) is finished by the next.
 */
import type { Log } from "../log/log.ts";
import type { StateStore } from "../state/mod.ts";
import { type Clock, systemClock } from "./clock.ts";

export interface LogCompactorOptions {
  readonly log: Log;
  readonly state: StateStore;
  /** Entries between snapshots. */
  readonly threshold: number;
  /** Whether this replica keeps the log's snapshot (in a cluster, the leader; the others restore from it). */
  readonly keepsSnapshot: () => boolean;
  readonly stopped: () => boolean;
  /** Where a failed snapshot is reported. */
  readonly warn?: (msg: string) => void;
  /** Timers for the retries (default: the system's). */
  readonly clock?: Clock;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 8000;

export class LogCompactor {
  readonly #o: LogCompactorOptions;
  readonly #clock: Clock;
  #running: Promise<void> | null = null;
  /** The pending retry after a failed snapshot, and the wait before the one after it. */
  #retry: unknown = null;
  #retryMs = FIRST_RETRY_MS;

  constructor(options: LogCompactorOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
  }

  /** Starts a snapshot when `threshold` entries have gathered since the last one. */
  maybe(): void {
    const { log, threshold, keepsSnapshot } = this.#o;
    if (this.#running || this.#retry !== null || log.entriesSinceSnapshot() < threshold) return;
    if (!keepsSnapshot()) return;
    this.#take();
  }

  /** Waits for a running snapshot, then takes one if any entry came since. */
  async now(): Promise<void> {
    await this.#running;
    if (!this.#o.stopped() && this.#running === null && this.#o.log.entriesSinceSnapshot() > 0) {
      this.#cancelRetry();
      this.#take();
      await this.#running;
    }
  }

  /** Resolves once no snapshot is being written. */
  async settled(): Promise<void> {
    await this.#running;
  }

  /** Drops a pending retry (the server is stopping). */
  stop(): void {
    this.#cancelRetry();
  }

  #take(): void {
    const { log, state } = this.#o;
    const index = state.lastApplied;
    this.#running = log
      .saveSnapshot({ index, data: state.snapshot() })
      .then(
        () => {
          this.#retryMs = FIRST_RETRY_MS;
        },
        (err: unknown) => this.#failed(index, err),
      )
      .finally(() => (this.#running = null));
  }

  #failed(index: number, err: unknown): void {
    if (this.#o.stopped()) return;
    const wait = this.#retryMs;
    this.#retryMs = Math.min(MAX_RETRY_MS, wait * 2);
    const why = err instanceof Error ? err.message : String(err);
    this.#o.warn?.(`server: saving the log snapshot at index ${index} failed (the log is not compacted until one is saved; trying again in ${wait / 1000} s): ${why}`);
    this.#cancelRetry();
    this.#retry = this.#clock.setTimeout(() => {
      this.#retry = null;
      if (this.#o.stopped() || this.#running !== null || !this.#o.keepsSnapshot()) return;
      this.#take();
    }, wait);
  }

  #cancelRetry(): void {
    if (this.#retry === null) return;
    this.#clock.clearTimeout(this.#retry);
    this.#retry = null;
  }
}
