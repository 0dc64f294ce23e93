/**
 * JetStreamLog: the log a cluster of servers shares, kept in a NATS JetStream
 * stream (replicas 3, file storage). JetStream's own Raft orders and commits
 * the entries; every server is a replica of the state machine that reads the
 * stream in order.
 *
 * - `append` publishes the command with a per-write `Nats-Msg-Id`, so a
 *   publish retried after a lost ack is stored once (the stream's duplicate
 *   window), and resolves with the stream sequence (the index) once the local
 *   reader has passed the entry to the consumer. Appends are pipelined (several
 *   publishes in flight) and batched under load (see jetstream_writer.ts);
 *   the entries of a batch share its sequence as their index.
 * - The newest snapshot lives in a JetStream object store (jetstream_snapshots.ts); `saveSnapshot`
 *   replaces it and purges the stream behind it (keeping `trailingEntries`),
 *   so a new or wiped server restores the snapshot and replays a short tail.
 * - A reader that finds entries missing (purged while it was away) loads the
 *   newest snapshot, hands it to `onRestore`, and goes on from there.
 * - `sync()` is a read barrier: it asks the stream leader for its last
 *   sequence (one request shared by every caller that arrived before it was
 *   sent) and waits until the reader has passed it.
 */
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { Objm } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { LogClosedError, LogCorruptionError, LogStateError, LogUnavailableError } from "./errors.ts";
import { decodeBatch } from "./jetstream_batch.ts";
import { LastIndexProbe } from "./jetstream_barrier.ts";
import { ConnectionWatch } from "./jetstream_connection.ts";
import { Delivery } from "./jetstream_delivery.ts";
import { StreamFeed } from "./jetstream_feed.ts";
import { type JetStreamLogOptions, type JetStreamLogSettings, jetStreamLogSettings } from "./jetstream_options.ts";
import { SnapshotObject, StreamSnapshots } from "./jetstream_snapshots.ts";
import { AppliedWaiters } from "./jetstream_waiters.ts";
import { type Appended, StreamWriter, type WriterStats } from "./jetstream_writer.ts";
import { clusterNames, type ClusterNames } from "./jetstream_names.ts";
import type { Log, LogEntry, LogSnapshot, RecoveredLog } from "./log.ts";
import { ensureStream, whileTransient } from "./jetstream_resources.ts";

export interface JetStreamLogStats extends WriterStats {
  /** Appends of this server applied since open. */
  readonly appends: number;
  /** Times the reader jumped to a snapshot because the entries it needed were purged. */
  readonly restores: number;
  /** Entries the reader fetched one by one while its consumer was stalled. */
  readonly directGets: number;
  /** Consumers the reader replaced after a stall. */
  readonly consumerRestarts: number;
  readonly snapshotIndex: number;
  readonly lastIndex: number;
}

const State = { New: "new", Opening: "opening", Open: "open", Closed: "closed" } as const;
type State = (typeof State)[keyof typeof State];

/**
 * @example
 * ```ts
 * const nc = await connect({ servers: ["nats://127.0.0.1:4222"] });
 * const log = new JetStreamLog({ nc, datacenter: "dc1" });
 * const { snapshot, entries } = await log.open();
 * log.onCommit((entry) => fsm.apply(entry));
 * log.onRestore((snap) => fsm.restore(snap));
 * const index = await log.append(new TextEncoder().encode("cmd"));
 * ```
 */
export class JetStreamLog implements Log {
  readonly names: ClusterNames;
  readonly #nc: NatsConnection;
  readonly #o: JetStreamLogSettings;
  #writer: StreamWriter | null = null;
  #state: State = State.New;
  #js: JetStreamClient | null = null;
  #jsm: JetStreamManager | null = null;
  #snapshots: StreamSnapshots | null = null;
  #feed: StreamFeed | null = null;
  #recovering = 0;
  /** Highest index known to be committed (acks, read barriers). */
  #knownLast = 0;
  #sweeper: ReturnType<typeof setInterval> | null = null;
  readonly #delivery = new Delivery();
  #applied = 0;
  readonly #waiters = new AppliedWaiters(() => this.#applied);
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #lastIndex = new LastIndexProbe(() => this.#askLastSeq());
  #connection: ConnectionWatch | null = null;
  #lastContact = 0;
  #stats = { appends: 0, restores: 0 };

  constructor(options: JetStreamLogOptions) {
    this.#nc = options.nc;
    this.names = clusterNames(options.datacenter);
    this.#o = jetStreamLogSettings(options);
  }

  open(): Promise<RecoveredLog> {
    if (this.#state !== State.New) {
      return Promise.reject(new LogStateError(`JetStreamLog.open() can be called only once, on a new log ("${this.names.stream}")`));
    }
    this.#state = State.Opening;
    return this.#open().catch(async (err: unknown) => {
      await this.close();
      throw err;
    });
  }

  async #open(): Promise<RecoveredLog> {
    this.#connection = new ConnectionWatch(this.#nc, () => this.#writer?.republish());
    // JetStream may still be electing its meta leader when servers start
    // together with NATS: transient refusals are retried for a while.
    const deadline = Date.now() + this.#o.appendTimeoutMs * 2;
    this.#jsm = await whileTransient(deadline, () => jetstreamManager(this.#nc, { timeout: this.#o.requestTimeoutMs }));
    this.#js = jetstream(this.#nc, { timeout: this.#o.requestTimeoutMs });
    this.#feed = new StreamFeed(this.#js, this.#jsm, this.names.stream, {
      applied: () => this.#applied,
      target: () => this.#knownLast,
      deliver: (seq, data, msgId, batch) => this.#accept(seq, data, msgId, batch),
      gap: (first) => this.#recover(first),
    });
    const max = this.#nc.info?.max_payload ?? 1024 * 1024;
    this.#writer = new StreamWriter(
      this.#js,
      {
        applied: () => this.#applied,
        committed: (seq) => {
          this.#lastContact = Date.now();
          if (seq > this.#knownLast) this.#knownLast = seq;
        },
        mayWait: () => !this.#heldTooLong(),
      },
      {
        subject: this.names.subject,
        writerId: this.#o.writerId,
        appendTimeoutMs: this.#o.appendTimeoutMs,
        requestTimeoutMs: this.#o.requestTimeoutMs,
        maxInFlight: this.#o.maxInFlight,
        maxBatchBytes: max - 4096,
      },
    );
    this.#sweeper = setInterval(() => this.#sweep(), 500);
    await whileTransient(deadline, () =>
      ensureStream(this.#jsm!, { name: this.names.stream, subject: this.names.subject, replicas: this.#o.replicas, duplicateWindowMs: this.#o.duplicateWindowMs }),
    );
    const os = await whileTransient(deadline, () =>
      new Objm(this.#js!).create(this.names.snapshots, { replicas: this.#o.replicas, storage: StorageType.File }),
    );
    this.#snapshots = new StreamSnapshots(new SnapshotObject(os, this.names.snapshots), {
      applied: () => this.#applied,
      trailingEntries: this.#o.trailingEntries,
      purge: (seq) => this.#jsm!.streams.purge(this.names.stream, { seq }),
    });

    // Restore the newest snapshot, then read the stream from just after it up
    // to what it held when we looked; the reader keeps going from there.
    let snapshot: LogSnapshot | null = null;
    let entries: LogEntry[] = [];
    this.#delivery.onCommit((entry) => entries.push(entry));
    this.#delivery.onRestore((snap) => {
      snapshot = snap;
      entries = [];
    });
    for (let attempt = 0; ; attempt++) {
      snapshot = await whileTransient(deadline, () => this.#snapshots!.load());
      const base = snapshot?.index ?? 0;
      const { first_seq: first, last_seq: last } = (await whileTransient(deadline, () => this.#jsm!.streams.info(this.names.stream))).state;
      if (last > base && first > base + 1) {
        // Compacted past the snapshot we read: a newer snapshot was being written. Read again.
        if (attempt >= 20) {
          throw new LogCorruptionError(
            `stream ${this.names.stream}`,
            first,
            `the stream starts at entry ${first} but the newest snapshot covers only up to ${base}`,
          );
        }
        await this.#sleep(250);
        continue;
      }
      this.#applied = base;
      this.#knownLast = Math.max(this.#knownLast, last);
      await this.#feed!.start(base + 1);
      await this.#waiters.wait(last, this.#o.appendTimeoutMs * 4);
      break;
    }
    this.#delivery.clear();
    this.#state = State.Open;
    return { snapshot, entries };
  }

  /** The consumer's return value for an entry is the `result` `appendResult` resolves with. */
  onCommit(consumer: (entry: LogEntry) => unknown): void {
    this.#delivery.onCommit(consumer);
  }

  onRestore(consumer: (snapshot: LogSnapshot) => void): void {
    this.#delivery.onRestore(consumer);
  }

  append(data: Uint8Array): Promise<number> {
    return this.appendResult(data).then((r) => r.index);
  }

  /** Appends; resolves with the index and what the commit consumer returned for the entry. */
  appendResult(data: Uint8Array): Promise<Appended> {
    const refused = this.#refusal("append") ?? this.#tooLarge(data);
    if (refused !== null) return Promise.reject(refused);
    if (this.#heldTooLong()) return Promise.reject(new LogUnavailableError("not connected to NATS"));
    return this.#writer!.append(data);
  }

  /**
   * Appends with a caller-chosen message id, alone: a second append with the
   * same id inside the duplicate window is not stored again and resolves with
   * the first one's index. `append` uses a fresh id per call.
   */
  appendWithId(id: string, data: Uint8Array): Promise<number> {
    const refused = this.#refusal("append") ?? this.#tooLarge(data);
    if (refused !== null) return Promise.reject(refused);
    return this.#writer!.appendWithId(id, data).then((r) => r.index);
  }

  #tooLarge(data: Uint8Array): Error | null {
    const max = this.#nc.info?.max_payload ?? 1024 * 1024;
    if (data.length <= max - 4096) return null;
    return new RangeError(`Log entry is ${data.length} bytes; the NATS limit (max_payload ${max}) leaves room for ${max - 4096}`);
  }

  lastIndex(): number {
    return this.#applied;
  }

  entriesSinceSnapshot(): number {
    return this.#applied - this.#snapshotIndex();
  }

  sync(): Promise<void> {
    const refused = this.#refusal("read");
    if (refused !== null) return Promise.reject(refused);
    if (!this.connected) return Promise.reject(new LogUnavailableError("not connected to NATS"));
    return this.#lastIndex.read().then((index) => this.#waiters.wait(index, this.#o.appendTimeoutMs));
  }

  saveSnapshot(snapshot: LogSnapshot): Promise<void> {
    const refused = this.#refusal("save a snapshot");
    if (refused !== null) return Promise.reject(refused);
    return this.#snapshots!.save(snapshot);
  }

  /** Whether the NATS connection is up (it reconnects by itself). */
  get connected(): boolean {
    return this.#connection?.connected ?? true;
  }

  /** When this log last heard from JetStream (ms since epoch; 0 before it did). */
  lastContact(): number {
    return this.#lastContact;
  }

  stats(): JetStreamLogStats {
    const feed = this.#feed?.stats() ?? { directGets: 0, restarts: 0 };
    const writer = this.#writer?.stats() ?? { messages: 0, batches: 0, batchedEntries: 0, retries: 0, duplicates: 0 };
    return {
      ...writer,
      ...this.#stats,
      directGets: feed.directGets,
      consumerRestarts: feed.restarts,
      snapshotIndex: this.#snapshotIndex(),
      lastIndex: this.#applied,
    };
  }

  async close(): Promise<void> {
    if (this.#state === State.Closed) return;
    this.#state = State.Closed;
    this.#recovering++;
    this.#connection?.stop();
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#feed?.stop();
    this.#writer?.close(new LogClosedError("append", { cause: "the log was closed before the entry was applied" }));
    this.#waiters.close(new LogClosedError("read"));
    await this.#snapshots?.settled();
  }

  // ---- reading the stream ----

  /** One stream message, from the consumer or a direct get, in any order. */
  #accept(seq: number, data: Uint8Array, id: string, batch: number): void {
    this.#lastContact = Date.now();
    if (seq <= this.#applied || this.#recovering > 0) return;
    if (seq !== this.#applied + 1) {
      this.#recover(seq);
      return;
    }
    const out = id === "" ? undefined : this.#writer!.take(id);
    // Every replica decodes the same bytes the same way; a malformed batch is skipped by all.
    const datas = batch === 0 ? [data] : batch < 0 ? [] : (decodeBatch(data, batch) ?? []);
    this.#applied = seq;
    if (seq > this.#knownLast) this.#knownLast = seq;
    for (let j = 0; j < datas.length; j++) {
      const entry: LogEntry = { index: seq, data: datas[j]!, local: out !== undefined, ...(j > 0 ? { sub: j } : {}), ...(j < datas.length - 1 ? { more: true } : {}) };
      const { result, failure } = this.#delivery.entry(entry);
      const w = out?.waiting[j];
      if (w !== undefined) {
        this.#stats.appends++;
        if (failure !== null) w.reject(failure);
        else w.resolve({ index: seq, result });
      }
    }
    if (out !== undefined && out.waiting.length > datas.length) {
      const err = new LogStateError(`Log message ${seq} held fewer entries than were sent in it`);
      for (const w of out.waiting.slice(datas.length)) w.reject(err);
    }
    this.#waiters.applied(seq);
  }

  /**
   * The entries after `applied` are gone from the stream (compacted behind a
   * snapshot while this reader was away): load the newest snapshot, hand it
   * over, and read on from just after it.
   */
  #recover(seenSeq: number): void {
    if (this.#recovering > 0) return;
    const generation = ++this.#recovering;
    this.#feed?.stop();
    void (async () => {
      while (this.#state !== State.Closed && generation === this.#recovering) {
        try {
          const snap = await this.#snapshots!.load();
          if (snap !== null && snap.index > this.#applied && snap.index >= seenSeq - 1) this.#install(snap);
          this.#recovering = 0;
          await this.#feed!.start(this.#applied + 1);
          return;
        } catch {
          this.#recovering = generation;
          await this.#sleep(250);
        }
      }
    })();
  }

  /** Appends acknowledged but still not applied here after their deadline fail (the reader is stuck). */
  #sweep(): void {
    this.#writer?.sweep(Date.now(), 0, (seq) => new LogUnavailableError(`entry ${seq} is committed but this server has applied only up to ${this.#applied}`));
  }

  #install(snapshot: LogSnapshot): void {
    this.#applied = snapshot.index;
    this.#stats.restores++;
    this.#delivery.snapshot(snapshot);
    // Appends the snapshot swallowed: their entries are applied, but what
    // applying them decided is unknown here.
    this.#writer?.sweep(0, snapshot.index, () => new LogStateError("unreachable"));
    this.#waiters.wake();
  }

  async #askLastSeq(): Promise<number> {
    try {
      const info = await this.#jsm!.streams.info(this.names.stream);
      this.#lastContact = Date.now();
      if (info.state.last_seq > this.#knownLast) this.#knownLast = info.state.last_seq;
      return info.state.last_seq;
    } catch (err) {
      throw new LogUnavailableError(`asking the stream ${this.names.stream} for its last entry failed: ${(err as Error).message}`, { cause: err });
    }
  }

  #snapshotIndex(): number {
    return this.#snapshots?.index ?? 0;
  }

  // ---- plumbing ----

  #heldTooLong(): boolean {
    return this.#connection?.heldTooLong(this.#o.holdMs) ?? false;
  }

  #refusal(operation: string): Error | null {
    if (this.#state === State.Closed) return new LogClosedError(operation);
    if (this.#state !== State.Open) return new LogStateError(`Cannot ${operation}: JetStreamLog.open() has not completed for "${this.names.stream}"`);
    return null;
  }

  #later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      fn();
    }, ms);
    this.#timers.add(t);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.#later(resolve, ms));
  }
}
