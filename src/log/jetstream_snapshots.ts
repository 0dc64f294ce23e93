/**
 * The newest snapshot of a datacenter's log: one object in a JetStream object
 * store, saved one at a time and never over a newer one (another server may
 * have saved one since), with the stream purged behind it.
 */
import type { ObjectStore } from "@nats-io/obj";
import { LogCorruptionError } from "./errors.ts";
import type { LogSnapshot } from "./log.ts";
import { decodeSnapshot, encodeSnapshotHeader, peekSnapshotIndex } from "./snapshot_file.ts";

const SNAPSHOT_OBJECT = "state";

/** The newest snapshot of the datacenter, one object in a JetStream object store. */
export class SnapshotObject {
  readonly #os: ObjectStore;
  readonly #where: string;

  constructor(os: ObjectStore, bucket: string) {
    this.#os = os;
    this.#where = `object store ${bucket}/${SNAPSHOT_OBJECT}`;
  }

  /** Log index of the stored snapshot, 0 when there is none. */
  async storedIndex(): Promise<number> {
    const stored = await this.#os.info(SNAPSHOT_OBJECT).catch(() => null);
    return Number(/log index (\d+)/.exec(stored?.deleted === false ? (stored.description ?? "") : "")?.[1] ?? 0);
  }

  async put(snapshot: LogSnapshot): Promise<void> {
    const header = encodeSnapshotHeader(snapshot);
    const file = new Uint8Array(header.length + snapshot.data.length);
    file.set(header, 0);
    file.set(snapshot.data, header.length);
    await this.#os.putBlob({ name: SNAPSHOT_OBJECT, description: `state at log index ${snapshot.index}` }, file);
  }

  async load(): Promise<LogSnapshot | null> {
    const file = await this.#os.getBlob(SNAPSHOT_OBJECT);
    if (file === null) return null;
    const index = peekSnapshotIndex(file);
    if (index === null) throw new LogCorruptionError(this.#where, 0, "not a snapshot file");
    const decoded = decodeSnapshot(file, index);
    if (!decoded.ok) throw new LogCorruptionError(this.#where, 0, decoded.reason);
    return decoded.snapshot;
  }
}

export interface StreamSnapshotsOptions {
  /** The highest index this server has applied: a snapshot may not be newer. */
  readonly applied: () => number;
  /** Entries kept behind a snapshot when the stream is compacted. */
  readonly trailingEntries: number;
  /** Purges the stream's entries before `seq`. */
  readonly purge: (seq: number) => Promise<unknown>;
}

export class StreamSnapshots {
  readonly #object: SnapshotObject;
  readonly #o: StreamSnapshotsOptions;
  /** The newest snapshot's index this server knows of (saved or loaded). */
  #index = 0;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(object: SnapshotObject, o: StreamSnapshotsOptions) {
    this.#object = object;
    this.#o = o;
  }

  get index(): number {
    return this.#index;
  }

  /** Saves after the saves before it; resolves once stored (or found older than the stored one). */
  save(snapshot: LogSnapshot): Promise<void> {
    const run = this.#tail.then(() => this.#save(snapshot));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves once the saves asked for so far are done. */
  settled(): Promise<unknown> {
    return this.#tail;
  }

  async load(): Promise<LogSnapshot | null> {
    const snapshot = await this.#object.load();
    if (snapshot !== null) this.#index = Math.max(this.#index, snapshot.index);
    return snapshot;
  }

  async #save(snapshot: LogSnapshot): Promise<void> {
    const { index } = snapshot;
    const applied = this.#o.applied();
    if (!Number.isSafeInteger(index) || index < this.#index || index > applied) {
      throw new RangeError(
        `Snapshot index ${index} is invalid: it must lie between the previous snapshot (${this.#index}) and the last applied index (${applied})`,
      );
    }
    // Never replace a newer snapshot, nor store one again (another server may
    // have saved one since, or a save that failed while purging is retried):
    // the stream is purged behind what is stored.
    const storedIndex = await this.#object.storedIndex();
    if (storedIndex < index) await this.#object.put(snapshot);
    const covered = Math.max(storedIndex, index);
    this.#index = Math.max(this.#index, covered);
    await this.#purgeBehind(covered);
  }

  /** Purges only behind a stored snapshot, keeping a tail so replicas a little behind catch up from entries rather than from the snapshot. */
  async #purgeBehind(index: number): Promise<void> {
    const keepFrom = index + 1 - this.#o.trailingEntries;
    if (keepFrom > 1) await this.#o.purge(keepFrom);
  }
}
