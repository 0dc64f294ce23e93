/**
 * The NATS resources a JetStreamLog sits on: the datacenter's stream (created
 * once, by whichever server gets there first), the object that holds the newest
 * snapshot, and the retry rule for JetStream's transient start-up errors.
 */
import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import { nanos } from "@nats-io/transport-node";
import { LogCorruptionError } from "./errors.ts";
import { retryable } from "./jetstream_writer.ts";
import type { LogSnapshot } from "./log.ts";
import { decodeSnapshot, encodeSnapshotHeader, peekSnapshotIndex } from "./snapshot_file.ts";

const SNAPSHOT_OBJECT = "state";

/** Creates the stream unless it exists (another server may create it at the same time). */
export async function ensureStream(
  jsm: JetStreamManager,
  stream: { readonly name: string; readonly subject: string; readonly replicas: number; readonly duplicateWindowMs: number },
): Promise<void> {
  const config = {
    name: stream.name,
    subjects: [stream.subject],
    num_replicas: stream.replicas,
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(stream.duplicateWindowMs),
    allow_direct: true,
  };
  try {
    await jsm.streams.info(stream.name);
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError) || err.code !== 10059) throw err; // 10059: stream not found
  }
  try {
    await jsm.streams.add(config);
  } catch (err) {
    // Another server created it first.
    await jsm.streams.info(stream.name).catch(() => {
      throw err;
    });
  }
}

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

/** Runs `fn` again while it fails with a transient error, until `deadline`. */
export async function whileTransient<T>(deadline: number, fn: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!retryable(err) && !/jetstream (is )?not (enabled|available)|temporarily unavailable|no suitable peers|insufficient resources/i.test(String(err))) throw err;
      if (Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
