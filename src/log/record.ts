/**
 * Framing of one log record in a segment file:
 *
 *     [u32 length][u32 crc][u64 index][payload: length bytes]
 *
 * little-endian; `crc` is CRC-32 over the index field and the payload, which
 * sit next to each other so one pass covers both. The index inside every
 * record (not only the segment name) lets recovery prove continuity and tell a
 * stale or misplaced record from a valid one.
 */
import { crc32 } from "./crc32.ts";

export const RECORD_HEADER_BYTES = 16;
/** Largest payload one record may carry; far above Consul's 512 KiB KV limit. */
export const MAX_RECORD_PAYLOAD = 256 * 1024 * 1024;

const TWO_POW_32 = 0x1_0000_0000;

export interface RecordInput {
  readonly index: number;
  readonly data: Uint8Array;
}

/** Encodes `records` back to back into one buffer, ready for a single write. */
export function encodeRecords(records: readonly RecordInput[]): Uint8Array {
  let total = 0;
  for (const r of records) total += RECORD_HEADER_BYTES + r.data.length;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const r of records) {
    const len = r.data.length;
    view.setUint32(at, len, true);
    view.setUint32(at + 8, r.index % TWO_POW_32, true);
    view.setUint32(at + 12, Math.floor(r.index / TWO_POW_32), true);
    out.set(r.data, at + RECORD_HEADER_BYTES);
    view.setUint32(at + 4, crc32(out, 0, at + 8, at + RECORD_HEADER_BYTES + len), true);
    at += RECORD_HEADER_BYTES + len;
  }
  return out;
}

export type DecodedRecord =
  | { readonly ok: true; readonly index: number; readonly data: Uint8Array; readonly next: number }
  | { readonly ok: false; readonly reason: string };

/**
 * Decodes the record starting at byte `at` of `buf`. The payload is a view
 * into `buf`, not a copy.
 */
export function decodeRecord(buf: Uint8Array, at: number): DecodedRecord {
  const remaining = buf.length - at;
  if (remaining < RECORD_HEADER_BYTES) {
    return { ok: false, reason: `partial record header (${remaining} of ${RECORD_HEADER_BYTES} bytes)` };
  }
  const view = new DataView(buf.buffer, buf.byteOffset + at, RECORD_HEADER_BYTES);
  const len = view.getUint32(0, true);
  if (len > MAX_RECORD_PAYLOAD) {
    return { ok: false, reason: `record length ${len} exceeds the ${MAX_RECORD_PAYLOAD}-byte limit` };
  }
  const end = at + RECORD_HEADER_BYTES + len;
  if (end > buf.length) {
    return { ok: false, reason: `partial record (${remaining} of ${RECORD_HEADER_BYTES + len} bytes)` };
  }
  const stored = view.getUint32(4, true);
  const actual = crc32(buf, 0, at + 8, end);
  if (stored !== actual) {
    return { ok: false, reason: `checksum mismatch (stored ${hex(stored)}, computed ${hex(actual)})` };
  }
  const index = view.getUint32(12, true) * TWO_POW_32 + view.getUint32(8, true);
  return { ok: true, index, data: buf.subarray(at + RECORD_HEADER_BYTES, end), next: end };
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}
