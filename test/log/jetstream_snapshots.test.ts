/**
 * The snapshot store of a JetStream log: a save whose purge failed after the
 * snapshot was stored is finished by the next save of the same index (it
 * purges behind what is stored); one older than the newest known is
 * refused. (The object store is a stand-in here; the
 * JetStream log tests run a real one.)
 */
import { expect, test } from "bun:test";
import type { ObjectStore } from "@nats-io/obj";
import { SnapshotObject, StreamSnapshots } from "../../src/log/jetstream_snapshots.ts";

function fakeStore(): ObjectStore {
  let stored: { description: string } | null = null;
  const os = {
    info: async () => (stored === null ? null : { deleted: false, description: stored.description }),
    putBlob: async (meta: { description: string }) => {
      stored = { description: meta.description };
    },
  };
  return os as unknown as ObjectStore;
}

test("a save whose purge failed is finished by the next; an older one is refused", async () => {
  const purges: number[] = [];
  let failPurges = 1;
  const snapshots = new StreamSnapshots(new SnapshotObject(fakeStore(), "snaps"), {
    applied: () => 200,
    trailingEntries: 16,
    purge: async (seq) => {
      purges.push(seq);
      if (failPurges-- > 0) throw new Error("purge timed out");
    },
  });
  const data = new Uint8Array([1, 2, 3]);
  expect(snapshots.save({ index: 100, data })).rejects.toThrow("purge timed out");
  await snapshots.settled();
  expect(snapshots.index).toBe(100);
  await snapshots.save({ index: 100, data });
  expect(purges).toEqual([85, 85]);
  await snapshots.save({ index: 150, data });
  expect(purges).toEqual([85, 85, 135]);
  // Refused: older than the newest known.
  expect(snapshots.save({ index: 120, data })).rejects.toThrow("is invalid");
});
