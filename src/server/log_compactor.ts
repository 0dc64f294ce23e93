/**
 * Snapshots of the state into the log, which drops the entries they cover:
 * every `threshold` entries (Consul's SnapshotThreshold), and right after a
 * restore so that recovery does not replay the restore entry. One at a time.
 */
import type { Log } from "../log/log.ts";
import type { StateStore } from "../state/mod.ts";

export interface LogCompactorOptions {
  readonly log: Log;
  readonly state: StateStore;
  /** Entries between snapshots. */
  readonly threshold: number;
  /** Whether this replica keeps the log's snapshot (in a cluster, the leader; the others restore from it). */
  readonly keepsSnapshot: () => boolean;
  readonly stopped: () => boolean;
}

export class LogCompactor {
  readonly #o: LogCompactorOptions;
  #running: Promise<void> | null = null;

  constructor(options: LogCompactorOptions) {
    this.#o = options;
  }

  /** Starts a snapshot when `threshold` entries have gathered since the last one. */
  maybe(): void {
    const { log, threshold, keepsSnapshot } = this.#o;
    if (this.#running || log.entriesSinceSnapshot() < threshold) return;
    if (!keepsSnapshot()) return;
    this.#take();
  }

  /** Waits for a running snapshot, then takes one if any entry came since. */
  async now(): Promise<void> {
    await this.#running;
    if (!this.#o.stopped() && this.#running === null && this.#o.log.entriesSinceSnapshot() > 0) {
      this.#take();
      await this.#running;
    }
  }

  /** Resolves once no snapshot is being written. */
  async settled(): Promise<void> {
    await this.#running;
  }

  #take(): void {
    const { log, state } = this.#o;
    this.#running = log
      .saveSnapshot({ index: state.lastApplied, data: state.snapshot() })
      .catch(() => {})
      .finally(() => (this.#running = null));
  }
}
