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
 * - The newest snapshot lives in a JetStream object store (jetstream_resources.ts); `saveSnapshot`
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
import { StreamFeed } from "./jetstream_feed.ts";
import { type Appended, StreamWriter, type WriterStats } from "./jetstream_writer.ts";
import { clusterNames, type ClusterNames } from "./jetstream_names.ts";
import type { Log, LogEntry, LogSnapshot, RecoveredLog } from "./log.ts";
import { ensureStream, SnapshotObject, whileTransient } from "./jetstream_resources.ts";

export interface JetStreamLogOptions {
  /** An open connection; the log never closes it. */
  readonly nc: NatsConnection;
  readonly datacenter: string;
  /** Stream and object-store replicas. Default 3. */
  readonly replicas?: number;
  /** Entries kept behind a snapshot when the stream is compacted (Consul's raft_trailing_logs). Default 10240. */
  readonly trailingEntries?: number;
  /** The stream's deduplication window. Default 2 minutes. */
  readonly duplicateWindowMs?: number;
  /** How long an append keeps retrying before it fails. Default 15 s. */
  readonly appendTimeoutMs?: number;
  /** One publish or API request. Default 2 s. */
  readonly requestTimeoutMs?: number;
  /**
   * How long appends wait for a lost NATS connection to come back before
   * failing with "No cluster leader" (Consul's RPC hold timeout). Default 3 s.
   */
  readonly holdMs?: number;
  /** Prefix of this writer's message ids; random by default (must be unique per process). */
  readonly writerId?: string;
  /** Publishes awaiting their ack at once; appends beyond wait and leave as one batch. Default 4. */
  readonly maxInFlight?: number;
}

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

interface Waiter {
  readonly index: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

type Buffered = { readonly entry: LogEntry } | { readonly snapshot: LogSnapshot };

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
  readonly #replicas: number;
  readonly #trailing: number;
  readonly #dupWindowMs: number;
  readonly #appendTimeoutMs: number;
  readonly #requestTimeoutMs: number;
  readonly #holdMs: number;
  readonly #writerId: string;
  readonly #maxInFlight: number;
  #writer: StreamWriter | null = null;
  #state: State = State.New;
  #js: JetStreamClient | null = null;
  #jsm: JetStreamManager | null = null;
  #snapshots: SnapshotObject | null = null;
  #feed: StreamFeed | null = null;
  #recovering = 0;
  /** Highest index known to be committed (acks, read barriers). */
  #knownLast = 0;
  #sweeper: ReturnType<typeof setInterval> | null = null;
  #consumer: ((entry: LogEntry) => unknown) | null = null;
  #restore: ((snapshot: LogSnapshot) => void) | null = null;
  #buffer: Buffered[] = [];
  #applied = 0;
  #snapshotIndex = 0;
  #waiters: Waiter[] = [];
  #minWaiter = Infinity;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #probe: Promise<number> | null = null;
  #nextProbe: Promise<number> | null = null;
  #snapshotTail: Promise<unknown> = Promise.resolve();
  #connected = true;
  /** When the connection was lost (ms since epoch), 0 while connected. */
  #disconnectedAt = 0;
  #statusLoop: { stop(): void } | null = null;
  #lastContact = 0;
  #stats = { appends: 0, restores: 0 };

  constructor(options: JetStreamLogOptions) {
    this.#nc = options.nc;
    this.names = clusterNames(options.datacenter);
    this.#replicas = positive(options.replicas ?? 3, "replicas");
    this.#trailing = nonNegative(options.trailingEntries ?? 10_240, "trailingEntries");
    this.#dupWindowMs = positive(options.duplicateWindowMs ?? 120_000, "duplicateWindowMs");
    this.#appendTimeoutMs = positive(options.appendTimeoutMs ?? 15_000, "appendTimeoutMs");
    this.#requestTimeoutMs = positive(options.requestTimeoutMs ?? 2_000, "requestTimeoutMs");
    this.#holdMs = positive(options.holdMs ?? 3_000, "holdMs");
    if (this.#appendTimeoutMs >= this.#dupWindowMs) {
      throw new RangeError("JetStreamLog appendTimeoutMs must be shorter than duplicateWindowMs, or a late retry could be stored twice");
    }
    this.#writerId = options.writerId ?? crypto.randomUUID();
    this.#maxInFlight = positive(options.maxInFlight ?? 4, "maxInFlight");
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
    this.#watchConnection();
    // JetStream may still be electing its meta leader when servers start
    // together with NATS: transient refusals are retried for a while.
    const deadline = Date.now() + this.#appendTimeoutMs * 2;
    this.#jsm = await whileTransient(deadline, () => jetstreamManager(this.#nc, { timeout: this.#requestTimeoutMs }));
    this.#js = jetstream(this.#nc, { timeout: this.#requestTimeoutMs });
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
        writerId: this.#writerId,
        appendTimeoutMs: this.#appendTimeoutMs,
        requestTimeoutMs: this.#requestTimeoutMs,
        maxInFlight: this.#maxInFlight,
        maxBatchBytes: max - 4096,
      },
    );
    this.#sweeper = setInterval(() => this.#sweep(), 500);
    await whileTransient(deadline, () =>
      ensureStream(this.#jsm!, { name: this.names.stream, subject: this.names.subject, replicas: this.#replicas, duplicateWindowMs: this.#dupWindowMs }),
    );
    const os = await whileTransient(deadline, () =>
      new Objm(this.#js!).create(this.names.snapshots, { replicas: this.#replicas, storage: StorageType.File }),
    );
    this.#snapshots = new SnapshotObject(os, this.names.snapshots);

    // Restore the newest snapshot, then read the stream from just after it up
    // to what it held when we looked; the reader keeps going from there.
    let snapshot: LogSnapshot | null = null;
    let entries: LogEntry[] = [];
    this.#consumer = (entry) => entries.push(entry);
    this.#restore = (snap) => {
      snapshot = snap;
      entries = [];
    };
    for (let attempt = 0; ; attempt++) {
      snapshot = await whileTransient(deadline, () => this.#loadSnapshot());
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
      await this.#waitApplied(last, this.#appendTimeoutMs * 4);
      break;
    }
    this.#consumer = null;
    this.#restore = null;
    this.#state = State.Open;
    return { snapshot, entries };
  }

  /** The consumer's return value for an entry is the `result` `appendResult` resolves with. */
  onCommit(consumer: (entry: LogEntry) => unknown): void {
    this.#consumer = consumer;
    this.#drainBuffer();
  }

  onRestore(consumer: (snapshot: LogSnapshot) => void): void {
    this.#restore = consumer;
    this.#drainBuffer();
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
    return this.#applied - this.#snapshotIndex;
  }

  sync(): Promise<void> {
    const refused = this.#refusal("read");
    if (refused !== null) return Promise.reject(refused);
    if (!this.#connected) return Promise.reject(new LogUnavailableError("not connected to NATS"));
    return this.#readIndex().then((index) => this.#waitApplied(index, this.#appendTimeoutMs));
  }

  saveSnapshot(snapshot: LogSnapshot): Promise<void> {
    const refused = this.#refusal("save a snapshot");
    if (refused !== null) return Promise.reject(refused);
    const run = this.#snapshotTail.then(() => this.#saveSnapshot(snapshot));
    this.#snapshotTail = run.catch(() => undefined);
    return run;
  }

  /** Whether the NATS connection is up (it reconnects by itself). */
  get connected(): boolean {
    return this.#connected;
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
      snapshotIndex: this.#snapshotIndex,
      lastIndex: this.#applied,
    };
  }

  async close(): Promise<void> {
    if (this.#state === State.Closed) return;
    this.#state = State.Closed;
    this.#recovering++;
    this.#statusLoop?.stop();
    if (this.#sweeper !== null) clearInterval(this.#sweeper);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#feed?.stop();
    this.#writer?.close(new LogClosedError("append", { cause: "the log was closed before the entry was applied" }));
    for (const w of this.#waiters) w.reject(new LogClosedError("read"));
    this.#waiters = [];
    await this.#snapshotTail;
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
      let result: unknown;
      let failure: unknown = null;
      if (this.#consumer !== null) {
        try {
          result = this.#consumer(entry);
        } catch (err) {
          failure = err;
        }
      } else {
        this.#buffer.push({ entry });
      }
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
    if (seq >= this.#minWaiter) this.#wakeWaiters();
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
          const snap = await this.#loadSnapshot();
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
    if (this.#restore !== null) this.#restore(snapshot);
    else this.#buffer = [{ snapshot }];
    // Appends the snapshot swallowed: their entries are applied, but what
    // applying them decided is unknown here.
    this.#writer?.sweep(0, snapshot.index, () => new LogStateError("unreachable"));
    this.#wakeWaiters();
  }

  #drainBuffer(): void {
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

  #waitApplied(index: number, timeoutMs: number): Promise<void> {
    if (index <= this.#applied) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        this.#minWaiter = Math.min(Infinity, ...this.#waiters.map((w) => w.index));
        reject(new LogUnavailableError(`entry ${index} is committed but this server has applied only up to ${this.#applied}`));
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
      this.#minWaiter = Math.min(this.#minWaiter, index);
    });
  }

  #wakeWaiters(): void {
    const ready = this.#waiters.filter((w) => w.index <= this.#applied);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.index > this.#applied);
    this.#minWaiter = this.#waiters.length === 0 ? Infinity : Math.min(...this.#waiters.map((w) => w.index));
    for (const w of ready) w.resolve();
  }

  /**
   * The stream's last sequence, from a request sent after this call: callers
   * that arrive while one is in flight share the next one.
   */
  #readIndex(): Promise<number> {
    if (this.#probe === null) {
      this.#probe = this.#askLastSeq().finally(() => (this.#probe = null));
      return this.#probe;
    }
    this.#nextProbe ??= this.#probe
      .catch(() => undefined)
      .then(() => {
        this.#nextProbe = null;
        return this.#readIndex();
      });
    return this.#nextProbe;
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

  // ---- snapshots ----

  async #saveSnapshot(snapshot: LogSnapshot): Promise<void> {
    const { index } = snapshot;
    if (!Number.isSafeInteger(index) || index < this.#snapshotIndex || index > this.#applied) {
      throw new RangeError(
        `Snapshot index ${index} is invalid: it must lie between the previous snapshot (${this.#snapshotIndex}) and the last applied index (${this.#applied})`,
      );
    }
    // Never replace a newer snapshot (another server may have saved one since).
    const storedIndex = await this.#snapshots!.storedIndex();
    if (storedIndex >= index) {
      this.#snapshotIndex = Math.max(this.#snapshotIndex, storedIndex);
      return;
    }
    await this.#snapshots!.put(snapshot);
    this.#snapshotIndex = Math.max(this.#snapshotIndex, index);
    // Purge only behind a stored snapshot, keeping a tail so replicas a
    // little behind catch up from entries rather than from the snapshot.
    const keepFrom = index + 1 - this.#trailing;
    if (keepFrom > 1) await this.#jsm!.streams.purge(this.names.stream, { seq: keepFrom });
  }

  async #loadSnapshot(): Promise<LogSnapshot | null> {
    const snapshot = await this.#snapshots!.load();
    if (snapshot !== null) this.#snapshotIndex = Math.max(this.#snapshotIndex, snapshot.index);
    return snapshot;
  }

  // ---- plumbing ----

  #watchConnection(): void {
    const it = this.#nc.status()[Symbol.asyncIterator]();
    this.#statusLoop = { stop: () => void it.return?.() };
    void (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done === true) return;
        if (r.value.type === "disconnect") {
          this.#connected = false;
          this.#disconnectedAt = Date.now();
        } else if (r.value.type === "reconnect") {
          this.#connected = true;
          this.#disconnectedAt = 0;
          this.#writer?.republish();
        }
      }
    })().catch(() => undefined);
  }

  #heldTooLong(): boolean {
    return !this.#connected && Date.now() - this.#disconnectedAt >= this.#holdMs;
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

function positive(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`JetStreamLog option ${what} must be a positive integer, got ${n}`);
  return n;
}

function nonNegative(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`JetStreamLog option ${what} must be a non-negative integer, got ${n}`);
  return n;
}
