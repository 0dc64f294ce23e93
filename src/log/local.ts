/**
 * LocalLog: the embedded durable log of a single server.
 *
 * Entries go to append-only segment files (`wal-<firstIndex>.log`, framing in
 * `record.ts`); snapshots go to `snapshot-<index>.bin`. Appends are group
 * committed: while one write+fdatasync is in flight, later appends queue up and
 * the next batch writes them all with one write and one fdatasync, so
 * throughput grows with concurrency instead of being capped by the disk's sync
 * rate. An append resolves only after its batch is on disk and after the
 * commit consumer has seen it, in index order.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { LogClosedError, LogStateError, LogWriteError } from "./errors.ts";
import { removeIfPresent, segmentName, snapshotName, syncDir, writeFileAtomic, writeFully } from "./files.ts";
import type { Log, LogEntry, LogSnapshot, RecoveredLog } from "./log.ts";
import { encodeRecords, MAX_RECORD_PAYLOAD, RECORD_HEADER_BYTES } from "./record.ts";
import { recoverDirectory } from "./recover.ts";
import type { SegmentInfo, SnapshotFileInfo } from "./recover.ts";
import { encodeSnapshotHeader } from "./snapshot_file.ts";

export interface LocalLogOptions {
  /** Directory holding the segments and snapshots; created if missing. */
  readonly dir: string;
  /** A segment is closed and a new one started once it reaches this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Upper bound on the bytes one batch writes at once. Default 8 MiB. */
  readonly maxBatchBytes?: number;
  /** Told what open() repaired or passed over (a torn tail cut off, a damaged snapshot), for the operator's log. */
  readonly onRepair?: (message: string) => void;
}

export interface LocalLogStats {
  /** Entries appended (committed) since open. */
  readonly appends: number;
  /** Group-commit batches written since open. */
  readonly batches: number;
  /** fsync/fdatasync calls of any kind since open (batches, snapshots, directories). */
  readonly syncs: number;
  /** Segment files currently on disk. */
  readonly segments: number;
  readonly snapshotIndex: number;
  /** Bytes of torn tail that open() cut off the last segment (0 after a clean shutdown). */
  readonly truncatedBytes: number;
}

interface Pending {
  readonly index: number;
  readonly data: Uint8Array;
  readonly resolve: (index: number) => void;
  readonly reject: (err: unknown) => void;
}

interface ActiveSegment {
  readonly info: SegmentInfo;
  readonly handle: fs.FileHandle;
  size: number;
}

const State = { New: "new", Opening: "opening", Open: "open", Closing: "closing", Closed: "closed" } as const;
type State = (typeof State)[keyof typeof State];

/**
 * @example
 * ```ts
 * const log = new LocalLog({ dir: "/var/lib/consulate/log" });
 * const { snapshot, entries } = await log.open();
 * log.onCommit((entry) => fsm.apply(entry));
 * const index = await log.append(new TextEncoder().encode("cmd"));
 * ```
 */
export class LocalLog implements Log {
  readonly #dir: string;
  readonly #segmentBytes: number;
  readonly #maxBatchBytes: number;
  #state: State = State.New;
  #consumer: ((entry: LogEntry) => void) | null = null;
  #pending: Pending[] = [];
  #nextIndex = 1;
  #committed = 0;
  #snapshotIndex = 0;
  /** Segments on disk, oldest first; the active one, if any, is last. */
  #segments: SegmentInfo[] = [];
  #snapshotFiles: SnapshotFileInfo[] = [];
  #active: ActiveSegment | null = null;
  #rollRequested = false;
  #failure: LogWriteError | null = null;
  #flushing: Promise<void> | null = null;
  #closing: Promise<void> | null = null;
  #opening: Promise<RecoveredLog> | null = null;
  /** Serialises batch writes with segment rolling and compaction. */
  #ioTail: Promise<unknown> = Promise.resolve();
  #snapshotTail: Promise<unknown> = Promise.resolve();
  #appends = 0;
  #batches = 0;
  #syncs = 0;
  #truncatedBytes = 0;
  readonly #onRepair: (message: string) => void;

  constructor(options: LocalLogOptions) {
    this.#dir = options.dir;
    this.#segmentBytes = positive(options.segmentBytes ?? 64 * 1024 * 1024, "segmentBytes");
    this.#maxBatchBytes = positive(options.maxBatchBytes ?? 8 * 1024 * 1024, "maxBatchBytes");
    this.#onRepair = options.onRepair ?? (() => {});
  }

  open(): Promise<RecoveredLog> {
    if (this.#state !== State.New) {
      return Promise.reject(new LogStateError(`LocalLog.open() can be called only once, on a new log ("${this.#dir}")`));
    }
    this.#state = State.Opening;
    this.#opening = this.#open();
    return this.#opening;
  }

  async #open(): Promise<RecoveredLog> {
    try {
      await fs.mkdir(this.#dir, { recursive: true });
      const rec = await recoverDirectory(this.#dir);
      for (const d of rec.damagedSnapshots) {
        this.#onRepair(`snapshot ${path.join(this.#dir, d.name)} is damaged (${d.reason}); recovering from an older snapshot and the log; the file is left for inspection`);
      }
      for (const name of rec.obsolete) await removeIfPresent(path.join(this.#dir, name));
      this.#segments = rec.segments;
      this.#snapshotFiles = rec.snapshotFiles;
      this.#snapshotIndex = rec.snapshot?.index ?? 0;
      this.#committed = rec.lastIndex;
      this.#nextIndex = rec.lastIndex + 1;
      const last = rec.segments[rec.segments.length - 1];
      if (last !== undefined) {
        const handle = await fs.open(path.join(this.#dir, last.name), "r+");
        this.#active = { info: last, handle, size: rec.lastSegmentBytes };
        if (rec.tornTail !== null) {
          // Cut the torn batch off so the next record starts on a clean
          // boundary instead of behind garbage that recovery would trip over.
          await handle.truncate(rec.tornTail.validBytes);
          await handle.datasync();
          this.#syncs++;
          this.#truncatedBytes = rec.tornTail.fileBytes - rec.tornTail.validBytes;
          this.#onRepair(
            `cut a damaged tail of ${this.#truncatedBytes} bytes off ${path.join(this.#dir, rec.tornTail.name)} at byte ${rec.tornTail.validBytes} (${rec.tornTail.reason}): ` +
              `a batch interrupted mid-write, never acknowledged; the log continues at index ${rec.lastIndex + 1}`,
          );
        }
      }
      this.#state = State.Open;
      return { snapshot: rec.snapshot, entries: rec.entries };
    } catch (err) {
      await this.#active?.handle.close();
      this.#active = null;
      this.#state = State.Closed;
      throw err;
    }
  }

  onCommit(consumer: (entry: LogEntry) => void): void {
    this.#consumer = consumer;
  }

  append(data: Uint8Array): Promise<number> {
    const refused = this.#refusal("append");
    if (refused !== null) return Promise.reject(refused);
    if (data.length > MAX_RECORD_PAYLOAD) {
      return Promise.reject(new RangeError(`Log entry is ${data.length} bytes; the limit is ${MAX_RECORD_PAYLOAD}`));
    }
    const index = this.#nextIndex++;
    return new Promise<number>((resolve, reject) => {
      this.#pending.push({ index, data, resolve, reject });
      this.#flushing ??= this.#flushLoop();
    });
  }

  lastIndex(): number {
    return this.#committed;
  }

  entriesSinceSnapshot(): number {
    return this.#committed - this.#snapshotIndex;
  }

  saveSnapshot(snapshot: LogSnapshot): Promise<void> {
    const refused = this.#refusal("save a snapshot");
    if (refused !== null) return Promise.reject(refused);
    const run = this.#snapshotTail.then(() => this.#saveSnapshot(snapshot));
    this.#snapshotTail = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    // A close racing open() waits for it, so the handles open() creates are released.
    await this.#opening?.catch(() => undefined);
    if (this.#state === State.New || this.#state === State.Closed) {
      this.#state = State.Closed;
      return;
    }
    this.#state = State.Closing;
    const queued = this.#pending;
    this.#pending = [];
    for (const p of queued) p.reject(new LogClosedError("append", { cause: "the log was closed before the entry was written" }));
    await this.#flushing;
    await this.#snapshotTail;
    await this.#ioTail;
    await this.#active?.handle.close();
    this.#active = null;
    this.#state = State.Closed;
  }

  stats(): LocalLogStats {
    return {
      appends: this.#appends,
      batches: this.#batches,
      syncs: this.#syncs,
      segments: this.#segments.length,
      snapshotIndex: this.#snapshotIndex,
      truncatedBytes: this.#truncatedBytes,
    };
  }

  #refusal(operation: string): Error | null {
    if (this.#state === State.New || this.#state === State.Opening) {
      return new LogStateError(`Cannot ${operation}: LocalLog.open() has not completed for "${this.#dir}"`);
    }
    if (this.#state !== State.Open) return new LogClosedError(operation);
    return this.#failure;
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#ioTail.then(fn);
    this.#ioTail = run.catch(() => undefined);
    return run;
  }

  async #flushLoop(): Promise<void> {
    // Yield once so appends issued in the same turn share the first batch.
    await null;
    try {
      while (this.#pending.length > 0) {
        const batch = this.#takeBatch();
        await this.#exclusive(() => this.#writeBatch(batch));
      }
    } finally {
      this.#flushing = null;
    }
  }

  #takeBatch(): Pending[] {
    let bytes = 0;
    let n = 0;
    while (n < this.#pending.length && (n === 0 || bytes < this.#maxBatchBytes)) {
      bytes += RECORD_HEADER_BYTES + (this.#pending[n] as Pending).data.length;
      n++;
    }
    return this.#pending.splice(0, n);
  }

  async #writeBatch(batch: Pending[]): Promise<void> {
    const first = batch[0] as Pending;
    if (this.#failure !== null) {
      for (const p of batch) p.reject(this.#failure);
      return;
    }
    let file = path.join(this.#dir, this.#active?.info.name ?? segmentName(first.index));
    try {
      const active = await this.#segmentFor(first.index);
      file = path.join(this.#dir, active.info.name);
      const bytes = encodeRecords(batch);
      await writeFully(active.handle, bytes, active.size);
      await active.handle.datasync();
      this.#syncs++;
      active.size += bytes.length;
      active.info.last = (batch[batch.length - 1] as Pending).index;
    } catch (cause) {
      // The file may now hold part of this batch; appending behind it would
      // bury valid records behind garbage, so stop until a reopen repairs it.
      this.#failure = new LogWriteError(file, { cause });
      const rest = this.#pending;
      this.#pending = [];
      for (const p of [...batch, ...rest]) p.reject(this.#failure);
      return;
    }
    this.#batches++;
    for (const p of batch) {
      this.#committed = p.index;
      this.#appends++;
      try {
        this.#consumer?.({ index: p.index, data: p.data });
        p.resolve(p.index);
      } catch (err) {
        // The entry is durable either way; its caller learns that applying it failed.
        p.reject(err);
      }
    }
  }

  /** The segment the next batch goes to, rolling over when one is due. */
  async #segmentFor(firstIndex: number): Promise<ActiveSegment> {
    const current = this.#active;
    if (current !== null && current.size > 0 && (this.#rollRequested || current.size >= this.#segmentBytes)) {
      this.#active = null;
      await current.handle.close();
    }
    this.#rollRequested = false;
    if (this.#active !== null) return this.#active;
    const info: SegmentInfo = { name: segmentName(firstIndex), first: firstIndex, last: firstIndex - 1 };
    const handle = await fs.open(path.join(this.#dir, info.name), "wx");
    this.#segments.push(info);
    // The new file's directory entry must be durable before records in it are
    // acknowledged, or a crash could lose the whole file.
    await syncDir(this.#dir);
    this.#syncs++;
    this.#active = { info, handle, size: 0 };
    return this.#active;
  }

  async #saveSnapshot(snapshot: LogSnapshot): Promise<void> {
    const refused = this.#refusal("save a snapshot");
    if (refused !== null) throw refused;
    const { index } = snapshot;
    if (!Number.isSafeInteger(index) || index < this.#snapshotIndex || index > this.#committed) {
      throw new RangeError(
        `Snapshot index ${index} is invalid: it must lie between the previous snapshot (${this.#snapshotIndex}) and the last committed index (${this.#committed})`,
      );
    }
    const name = snapshotName(index);
    this.#syncs += await writeFileAtomic(this.#dir, name, [encodeSnapshotHeader(snapshot), snapshot.data]);
    this.#snapshotIndex = index;
    if (!this.#snapshotFiles.some((s) => s.name === name)) this.#snapshotFiles.push({ name, index });
    await this.#exclusive(() => this.#compact(index));
  }

  /** Deletes what the durable snapshot at `index` makes redundant. */
  async #compact(index: number): Promise<void> {
    const active = this.#active;
    if (active !== null && active.info.last <= index) {
      // Runs between batches, so every record of the active segment is on
      // disk and covered: the whole file can go.
      this.#active = null;
      await active.handle.close();
    } else if (active !== null) {
      // Later entries go to a fresh segment, so this one (which holds entries
      // after the snapshot) becomes deletable at the next snapshot instead of
      // lingering until it fills up.
      this.#rollRequested = true;
    }
    const covered = this.#segments.filter((s) => s.last <= index && s !== this.#active?.info);
    const oldSnapshots = this.#snapshotFiles.filter((s) => s.index < index);
    for (const s of [...covered, ...oldSnapshots]) await removeIfPresent(path.join(this.#dir, s.name));
    this.#segments = this.#segments.filter((s) => !covered.includes(s));
    this.#snapshotFiles = this.#snapshotFiles.filter((s) => !oldSnapshots.includes(s));
  }
}

function positive(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`LocalLog option ${what} must be a positive integer, got ${n}`);
  return n;
}
