/**
 * Reads a LocalLog directory back: newest valid snapshot, then the segments
 * after it, checking every record's checksum and that indexes run on without a
 * gap. Nothing is modified here; the caller applies the returned plan
 * (truncate the torn tail, delete obsolete files).
 *
 * Why a torn tail is repaired but other damage is fatal: the writer issues one
 * write per batch and fdatasyncs it before acknowledging anything, and it only
 * starts a segment after the previous one was synced. A crash can therefore
 * leave an incomplete last batch at the very end of the last segment, and
 * nothing else. Bad bytes that are followed by a valid record, or that sit in
 * an earlier segment, belong to data that was acknowledged, so recovery stops
 * with `LogCorruptionError` instead of dropping it.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { LogCorruptionError } from "./errors.ts";
import { parseSegmentName, parseSnapshotName, TMP_SUFFIX } from "./files.ts";
import type { LogEntry, LogSnapshot } from "./log.ts";
import { decodeRecord, RECORD_HEADER_BYTES } from "./record.ts";
import { decodeSnapshot } from "./snapshot_file.ts";

export interface SegmentInfo {
  readonly name: string;
  readonly first: number;
  /** Index of its last record; `first - 1` while it is empty. */
  last: number;
}

export interface SnapshotFileInfo {
  readonly name: string;
  readonly index: number;
}

export interface TornTail {
  readonly name: string;
  /** Length of the verified prefix; the file is cut back to this. */
  readonly validBytes: number;
  readonly fileBytes: number;
  readonly reason: string;
}

export interface Recovery {
  readonly snapshot: LogSnapshot | null;
  /** Snapshot files kept on disk (the chosen one and any unreadable newer ones). */
  readonly snapshotFiles: SnapshotFileInfo[];
  /** Entries after the snapshot, in index order. */
  readonly entries: LogEntry[];
  readonly lastIndex: number;
  /** Segments still needed, oldest first; appends continue in the last one. */
  readonly segments: SegmentInfo[];
  /** Byte length of the verified part of the last segment. */
  readonly lastSegmentBytes: number;
  readonly tornTail: TornTail | null;
  /** Snapshot files newer than the one used that could not be read, with why. */
  readonly damagedSnapshots: readonly { readonly name: string; readonly reason: string }[];
  /** Files that are fully covered by the snapshot or left over by a crash. */
  readonly obsolete: string[];
}

export async function recoverDirectory(dir: string): Promise<Recovery> {
  const names = (await fs.readdir(dir)).sort();
  const obsolete = names.filter((n) => n.endsWith(TMP_SUFFIX));

  const { snapshot, kept: snapshotFiles, older, damaged } = await readNewestSnapshot(dir, names);
  obsolete.push(...older);
  const covered = snapshot?.index ?? 0;

  const all = names
    .map((name) => ({ name, first: parseSegmentName(name) }))
    .filter((s): s is { name: string; first: number } => s.first !== null)
    .sort((a, b) => a.first - b.first);

  // A segment is fully covered once the next one starts at or before the
  // first entry the snapshot lacks.
  let live: SegmentInfo[] = [];
  all.forEach((seg, i) => {
    const next = all[i + 1];
    if (next !== undefined && next.first <= covered + 1) obsolete.push(seg.name);
    else live.push({ name: seg.name, first: seg.first, last: seg.first - 1 });
  });

  const entries: LogEntry[] = [];
  let expected = live[0]?.first ?? covered + 1;
  if (live[0] !== undefined && (live[0].first < 1 || live[0].first > covered + 1)) {
    const missing = covered + 1 === live[0].first - 1 ? `${covered + 1}` : `${covered + 1} to ${live[0].first - 1}`;
    // Most often the entries were compacted into a snapshot that is now damaged: name it.
    const blame = damaged.map((d) => `; snapshot ${path.join(dir, d.name)} is damaged (${d.reason})`).join("");
    throw new LogCorruptionError(
      path.join(dir, live[0].name),
      0,
      live[0].first < 1 ? "segment starts at index 0" : `entries ${missing} are missing (no segment or snapshot holds them)${blame}`,
    );
  }

  let tornTail: TornTail | null = null;
  let lastSegmentBytes = 0;
  for (let k = 0; k < live.length; k++) {
    const seg = live[k] as SegmentInfo;
    const file = path.join(dir, seg.name);
    if (seg.first !== expected) {
      throw new LogCorruptionError(file, 0, `segment starts at index ${seg.first} but the previous one ends at ${expected - 1}`);
    }
    const buf = await fs.readFile(file);
    const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
    const isLast = k === live.length - 1;
    let at = 0;
    while (at < bytes.length) {
      const rec = decodeRecord(bytes, at);
      if (rec.ok && rec.index === expected) {
        if (rec.index > covered) entries.push({ index: rec.index, data: rec.data });
        expected++;
        at = rec.next;
        continue;
      }
      if (rec.ok) throw new LogCorruptionError(file, at, `expected index ${expected}, found ${rec.index}`);
      if (!isLast) throw new LogCorruptionError(file, at, `${rec.reason}, and later segments follow`);
      const later = findValidRecord(bytes, at + 1, expected);
      if (later >= 0) {
        throw new LogCorruptionError(file, at, `${rec.reason}, followed by a valid record at byte ${later}`);
      }
      tornTail = { name: seg.name, validBytes: at, fileBytes: bytes.length, reason: rec.reason };
      break;
    }
    seg.last = expected - 1;
    if (isLast) lastSegmentBytes = at;
  }

  let lastIndex = expected - 1;
  if (lastIndex < covered) {
    // The snapshot is newer than every record on disk (only possible if the
    // records were lost after the snapshot was taken); it alone is the state,
    // and appends must continue after it, in a fresh segment.
    obsolete.push(...live.map((s) => s.name));
    live = [];
    tornTail = null;
    lastSegmentBytes = 0;
    lastIndex = covered;
  }

  return { snapshot, snapshotFiles, entries, lastIndex, segments: live, lastSegmentBytes, tornTail, damagedSnapshots: damaged, obsolete };
}

async function readNewestSnapshot(
  dir: string,
  names: readonly string[],
): Promise<{ snapshot: LogSnapshot | null; kept: SnapshotFileInfo[]; older: string[]; damaged: { name: string; reason: string }[] }> {
  const files = names
    .map((name) => ({ name, index: parseSnapshotName(name) }))
    .filter((s): s is SnapshotFileInfo => s.index !== null)
    .sort((a, b) => b.index - a.index);
  const kept: SnapshotFileInfo[] = [];
  const damaged: { name: string; reason: string }[] = [];
  for (let i = 0; i < files.length; i++) {
    const info = files[i] as SnapshotFileInfo;
    kept.push(info);
    const buf = await fs.readFile(path.join(dir, info.name));
    // An unreadable newer snapshot is left in place for inspection; the older
    // one plus the segments still reproduce the state, and if the segments it
    // needs were already compacted away the continuity check reports it.
    const decoded = decodeSnapshot(new Uint8Array(buf.buffer, buf.byteOffset, buf.length), info.index);
    if (decoded.ok) {
      return { snapshot: decoded.snapshot, kept, older: files.slice(i + 1).map((f) => f.name), damaged };
    }
    damaged.push({ name: info.name, reason: decoded.reason });
  }
  return { snapshot: null, kept, older: [], damaged };
}

/**
 * Offset of the first record at or after `from` that verifies and carries an
 * index at or after `minIndex`, or -1. Looks at every byte offset, since the
 * damage may have destroyed the length that would lead to the next record.
 */
function findValidRecord(bytes: Uint8Array, from: number, minIndex: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  // No record after `from` can carry a larger index than this.
  const maxIndex = minIndex + Math.ceil((bytes.length - from) / RECORD_HEADER_BYTES);
  for (let q = from; q + RECORD_HEADER_BYTES <= bytes.length; q++) {
    if (q + RECORD_HEADER_BYTES + view.getUint32(q, true) > bytes.length) continue;
    const index = view.getUint32(q + 12, true) * 0x1_0000_0000 + view.getUint32(q + 8, true);
    if (index < minIndex || index > maxIndex) continue;
    if (decodeRecord(bytes, q).ok) return q;
  }
  return -1;
}
