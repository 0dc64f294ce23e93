/**
 * The small part of POSIX ustar that snapshot archives need: regular files
 * with short names, written the way Go's archive/tar writes them (512-byte
 * headers, data padded to 512, two zero blocks at the end). The reader skips
 * PAX and GNU extension headers, so archives from other writers still open.
 */
import { SnapshotArchiveError } from "./errors.ts";

const BLOCK = 512;

export interface TarFile {
  readonly name: string;
  readonly data: Uint8Array;
  /** Seconds since the epoch. */
  readonly mtime?: number;
  readonly mode?: number;
}

const ascii = new TextEncoder();
const text = new TextDecoder();

function putString(block: Uint8Array, at: number, width: number, value: string): void {
  const bytes = ascii.encode(value);
  if (bytes.length > width) throw new RangeError(`Tar field ${JSON.stringify(value)} is longer than ${width} bytes`);
  block.set(bytes, at);
}

/** Octal, zero-padded to `width - 1` digits, NUL-terminated (Go's formatOctal). */
function putOctal(block: Uint8Array, at: number, width: number, value: number): void {
  putString(block, at, width, `${value.toString(8).padStart(width - 1, "0")}\0`);
}

function checksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

function header(file: TarFile): Uint8Array {
  const block = new Uint8Array(BLOCK);
  putString(block, 0, 100, file.name);
  putOctal(block, 100, 8, file.mode ?? 0o600);
  putOctal(block, 108, 8, 0);
  putOctal(block, 116, 8, 0);
  putOctal(block, 124, 12, file.data.length);
  putOctal(block, 136, 12, Math.floor(file.mtime ?? 0));
  block[156] = 0x30; // '0': regular file
  putString(block, 257, 6, "ustar\0");
  putString(block, 263, 2, "00");
  putString(block, 148, 8, `${checksum(block).toString(8).padStart(6, "0")}\0 `);
  return block;
}

/** One tar archive holding `files` in order. */
export function writeTar(files: readonly TarFile[]): Uint8Array {
  let size = 2 * BLOCK;
  for (const f of files) size += BLOCK + Math.ceil(f.data.length / BLOCK) * BLOCK;
  const out = new Uint8Array(size);
  let at = 0;
  for (const f of files) {
    out.set(header(f), at);
    at += BLOCK;
    out.set(f.data, at);
    at += Math.ceil(f.data.length / BLOCK) * BLOCK;
  }
  return out;
}

function readString(block: Uint8Array, at: number, width: number): string {
  const field = block.subarray(at, at + width);
  const nul = field.indexOf(0);
  return text.decode(nul === -1 ? field : field.subarray(0, nul));
}

function readOctal(block: Uint8Array, at: number, width: number, what: string): number {
  const raw = readString(block, at, width).trim();
  if (raw === "") return 0;
  if (!/^[0-7]+$/.test(raw)) throw new SnapshotArchiveError(`failed reading snapshot: archive/tar: invalid ${what} field ${JSON.stringify(raw)}`);
  return parseInt(raw, 8);
}

/** The regular files of a tar archive, in order; throws SnapshotArchiveError when it is malformed. */
export function readTar(archive: Uint8Array): TarFile[] {
  const files: TarFile[] = [];
  let at = 0;
  let longName: string | null = null;
  while (at + BLOCK <= archive.length) {
    const block = archive.subarray(at, at + BLOCK);
    if (block.every((b) => b === 0)) return files;
    const stored = readString(block, 148, 8).trim();
    if (!/^[0-7]+$/.test(stored) || parseInt(stored, 8) !== checksum(block)) {
      throw new SnapshotArchiveError("failed reading snapshot: archive/tar: invalid tar header");
    }
    const size = readOctal(block, 124, 12, "size");
    const start = at + BLOCK;
    const end = start + size;
    if (end > archive.length) throw new SnapshotArchiveError("failed reading snapshot: unexpected EOF");
    const type = String.fromCharCode(block[156]!);
    const data = archive.subarray(start, end);
    at = start + Math.ceil(size / BLOCK) * BLOCK;
    if (type === "L") {
      longName = readString(data, 0, data.length);
      continue;
    }
    if (type === "x" || type === "g") {
      const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text.decode(data));
      if (type === "x" && path) longName = path[1]!;
      continue;
    }
    if (type !== "0" && type !== "\0") {
      throw new SnapshotArchiveError(`failed reading snapshot: unexpected entry type ${JSON.stringify(type)} in snapshot`);
    }
    const prefix = readString(block, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${readString(block, 0, 100)}` : readString(block, 0, 100));
    longName = null;
    files.push({ name, data, mtime: readOctal(block, 136, 12, "mtime"), mode: readOctal(block, 100, 8, "mode") });
  }
  // Go's reader accepts an archive that simply ends after the last file.
  if (at === archive.length) return files;
  throw new SnapshotArchiveError("failed reading snapshot: unexpected EOF");
}
