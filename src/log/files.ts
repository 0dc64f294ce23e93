/**
 * File naming and the few durable file-system steps LocalLog needs, using only
 * `node:fs/promises` calls that all three supported runtimes implement.
 *
 * Numbers in names are zero-padded to 20 digits so a plain sort orders them and
 * any safe integer index fits.
 */
import * as fs from "node:fs/promises";
import * as path from "node:path";

const SEGMENT_RE = /^wal-(\d{20})\.log$/;
const SNAPSHOT_RE = /^snapshot-(\d{20})\.bin$/;
export const TMP_SUFFIX = ".tmp";

function pad(n: number): string {
  return String(n).padStart(20, "0");
}

/** Segment holding records from `firstIndex` on. */
export function segmentName(firstIndex: number): string {
  return `wal-${pad(firstIndex)}.log`;
}

export function parseSegmentName(name: string): number | null {
  const m = SEGMENT_RE.exec(name);
  return m ? Number(m[1]) : null;
}

/** Snapshot covering every entry up to `index`. */
export function snapshotName(index: number): string {
  return `snapshot-${pad(index)}.bin`;
}

export function parseSnapshotName(name: string): number | null {
  const m = SNAPSHOT_RE.exec(name);
  return m ? Number(m[1]) : null;
}

/**
 * Makes creations, renames and deletions inside `dir` durable. Platforms that
 * cannot open a directory for syncing (Windows) persist directory entries on
 * their own, so those refusals are ignored; any other failure is real.
 */
export async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(dir, "r");
  } catch (err) {
    if (isCode(err, "EISDIR", "EPERM", "EACCES")) return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    if (!isCode(err, "EINVAL", "EBADF", "EPERM", "ENOTSUP")) throw err;
  } finally {
    await handle.close();
  }
}

/** Writes all of `bytes` at `position`, looping over short writes. */
export async function writeFully(handle: fs.FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`write returned ${bytesWritten} bytes`);
    done += bytesWritten;
  }
}

/**
 * Replaces `dir/name` atomically and durably: the content goes to a temporary
 * file that is fsynced before it is renamed over the target, and the directory
 * is fsynced after the rename, so a crash leaves either the old file or the
 * complete new one, never a prefix. Returns the number of fsyncs issued.
 */
export async function writeFileAtomic(dir: string, name: string, chunks: readonly Uint8Array[]): Promise<number> {
  const target = path.join(dir, name);
  const tmp = target + TMP_SUFFIX;
  const handle = await fs.open(tmp, "w");
  try {
    let at = 0;
    for (const chunk of chunks) {
      await writeFully(handle, chunk, at);
      at += chunk.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, target);
  await syncDir(dir);
  return 2;
}

/** Removes `file`, tolerating that an earlier, interrupted cleanup already did. */
export async function removeIfPresent(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (err) {
    if (!isCode(err, "ENOENT")) throw err;
  }
}

export function isCode(err: unknown, ...codes: string[]): boolean {
  if (typeof err !== "object" || err === null || !("code" in err)) return false;
  return codes.includes(String((err as { code: unknown }).code));
}
