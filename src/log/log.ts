/**
 * The replicated-log contract the server's state machine sits on.
 *
 * A log orders opaque command bytes. `LocalLog` keeps them in a file on one
 * machine (or in memory for `-dev`); `JetStreamLog` keeps them in a NATS
 * stream that every server of a datacenter shares. Either way the server
 * appends, the log commits (durably), and every committed entry is handed to
 * the single `onCommit` consumer in index order before the `append` promise
 * resolves.
 */
export interface LogEntry {
  /** Position in the log: 1, 2, 3, ... (Consul's Raft index). */
  readonly index: number;
  readonly data: Uint8Array;
  /**
   * Replicated logs: false when another server appended the entry, so no
   * `append` here waits for its outcome. Absent means "maybe local".
   */
  readonly local?: boolean;
  /**
   * Replicated logs batch entries under load: the entries of one batch share
   * an index; `sub` is the position (absent for the first), and `more` says
   * another entry with the same index follows (state is whole only after the
   * last one, so no snapshot in between).
   */
  readonly sub?: number;
  readonly more?: boolean;
}

export interface LogSnapshot {
  /** Index of the last entry whose effect the snapshot contains. */
  readonly index: number;
  readonly data: Uint8Array;
}

export interface RecoveredLog {
  /** Newest snapshot, or null when none was taken. */
  readonly snapshot: LogSnapshot | null;
  /** Committed entries after the snapshot, in index order. */
  readonly entries: Iterable<LogEntry>;
}

export interface Log {
  /** Recovers what is stored. Must be called once, before anything else. */
  open(): Promise<RecoveredLog>;
  /**
   * Registers the consumer of committed entries (called in index order). What
   * it returns for an entry is the `result` of `appendResult`, where offered.
   */
  onCommit(consumer: (entry: LogEntry) => unknown): void;
  /**
   * Appends one command. Resolves with its index once it is committed (on disk
   * for LocalLog) and has been passed to the consumer.
   */
  append(data: Uint8Array): Promise<number>;
  /** Index of the last committed entry (0 when empty). */
  lastIndex(): number;
  /**
   * Stores a snapshot covering every entry up to `snapshot.index` and drops
   * (compacts) the entries it covers.
   */
  saveSnapshot(snapshot: LogSnapshot): Promise<void>;
  /** Entries appended since the last snapshot (drives compaction). */
  entriesSinceSnapshot(): number;
  /** Flushes and releases files; pending appends reject. */
  close(): Promise<void>;
  /**
   * Replicated logs: registers what replaces the state when this replica fell
   * so far behind that the entries it missed were compacted away; the log then
   * continues with the entry after `snapshot.index`.
   */
  onRestore?(consumer: (snapshot: LogSnapshot) => void): void;
  /**
   * Replicated logs: resolves once every entry committed (by any server) before
   * the call has been passed to the consumer here; rejects with
   * LogUnavailableError when the log cannot be reached. What a default-mode
   * read waits for.
   */
  sync?(): Promise<void>;
  /**
   * Replicated logs: like `append`, but also resolves with what the commit
   * consumer returned for this entry (entries of a batch share an index, so
   * the index alone cannot name the outcome).
   */
  appendResult?(data: Uint8Array): Promise<{ readonly index: number; readonly result: unknown }>;
}
