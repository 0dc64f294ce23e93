/**
 * The NATS resources a JetStreamLog sits on: the datacenter's stream (created
 * once, by whichever server gets there first), and the retry rule for
 * JetStream's transient start-up errors. The snapshot object is in
 * jetstream_snapshots.ts.
 */
import { DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import type { JetStreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { retryable } from "./jetstream_writer.ts";

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
