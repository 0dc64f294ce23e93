/**
 * Layout of a snapshot file:
 *
 *     "CSNP" | u32 version | u64 index | u64 length | u32 crc | data
 *
 * little-endian; `crc` is CRC-32 over the index and length fields and the
 * data. The header repeats the index that the file name carries so a renamed
 * or copied file cannot masquerade as another snapshot.
 */
import { crc32 } from "./crc32.ts";
import type { LogSnapshot } from "./log.ts";

const MAGIC = [0x43, 0x53, 0x4e, 0x50] as const; // "CSNP"
const VERSION = 1;
export const SNAPSHOT_HEADER_BYTES = 28;
const TWO_POW_32 = 0x1_0000_0000;

function setU64(view: DataView, at: number, n: number): void {
  view.setUint32(at, n % TWO_POW_32, true);
  view.setUint32(at + 4, Math.floor(n / TWO_POW_32), true);
}

function getU64(view: DataView, at: number): number {
  return view.getUint32(at + 4, true) * TWO_POW_32 + view.getUint32(at, true);
}

/** The header to write in front of `snapshot.data`. */
export function encodeSnapshotHeader(snapshot: LogSnapshot): Uint8Array {
  const header = new Uint8Array(SNAPSHOT_HEADER_BYTES);
  const view = new DataView(header.buffer);
  header.set(MAGIC, 0);
  view.setUint32(4, VERSION, true);
  setU64(view, 8, snapshot.index);
  setU64(view, 16, snapshot.data.length);
  const crc = crc32(snapshot.data, crc32(header, 0, 8, 24));
  view.setUint32(24, crc, true);
  return header;
}

export type DecodedSnapshot =
  | { readonly ok: true; readonly snapshot: LogSnapshot }
  | { readonly ok: false; readonly reason: string };

/** Verifies a whole snapshot file; the returned data is a view into `file`. */
export function decodeSnapshot(file: Uint8Array, expectedIndex: number): DecodedSnapshot {
  if (file.length < SNAPSHOT_HEADER_BYTES) {
    return { ok: false, reason: `file is ${file.length} bytes, shorter than the ${SNAPSHOT_HEADER_BYTES}-byte header` };
  }
  if (MAGIC.some((b, i) => file[i] !== b)) return { ok: false, reason: "not a snapshot file (bad magic)" };
  const view = new DataView(file.buffer, file.byteOffset, SNAPSHOT_HEADER_BYTES);
  const version = view.getUint32(4, true);
  if (version !== VERSION) return { ok: false, reason: `unsupported snapshot version ${version}` };
  const index = getU64(view, 8);
  if (index !== expectedIndex) {
    return { ok: false, reason: `header says index ${index} but the file name says ${expectedIndex}` };
  }
  const length = getU64(view, 16);
  if (file.length - SNAPSHOT_HEADER_BYTES !== length) {
    return { ok: false, reason: `header says ${length} data bytes but the file holds ${file.length - SNAPSHOT_HEADER_BYTES}` };
  }
  const data = file.subarray(SNAPSHOT_HEADER_BYTES);
  const crc = crc32(data, crc32(file, 0, 8, 24));
  if (crc !== view.getUint32(24, true)) return { ok: false, reason: "checksum mismatch" };
  return { ok: true, snapshot: { index, data } };
}

/** The index a snapshot file's header claims (null when it is no snapshot file), to verify it with `decodeSnapshot`. */
export function peekSnapshotIndex(file: Uint8Array): number | null {
  if (file.length < SNAPSHOT_HEADER_BYTES || MAGIC.some((b, i) => file[i] !== b)) return null;
  return getU64(new DataView(file.buffer, file.byteOffset, SNAPSHOT_HEADER_BYTES), 8);
}
