/**
 * A minimal ustar writer plus gzip: enough for `consulate debug` to pack its
 * folder of JSON and log files into one `.tar.gz`, as Consul's debug command does.
 */
import { gzipSync } from "node:zlib";

export interface TarEntry {
  /** Path inside the archive; a trailing "/" marks a directory. */
  readonly name: string;
  /** File contents; absent for a directory. */
  readonly data?: Uint8Array;
  /** Modification time, seconds since the epoch. */
  readonly mtime: number;
}

const BLOCK = 512;
const enc = new TextEncoder();

function putString(block: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = enc.encode(text);
  if (bytes.length > length) throw new Error(`tar: field too long: ${text}`);
  block.set(bytes, offset);
}

function putOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  putString(block, offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
}

/** One 512-byte ustar header; names up to 255 bytes use the prefix field. */
function header(entry: TarEntry, size: number): Uint8Array {
  const block = new Uint8Array(BLOCK);
  const dir = entry.data === undefined;
  let name = entry.name;
  let prefix = "";
  if (enc.encode(name).length > 100) {
    const cut = name.lastIndexOf("/", name.length - 2);
    if (cut <= 0) throw new Error(`tar: name too long: ${name}`);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  putString(block, 0, 100, name);
  putOctal(block, 100, 8, dir ? 0o755 : 0o644);
  putOctal(block, 108, 8, 0);
  putOctal(block, 116, 8, 0);
  putOctal(block, 124, 12, size);
  putOctal(block, 136, 12, Math.floor(entry.mtime));
  block.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  block[156] = dir ? 0x35 : 0x30; // '5' directory, '0' regular file
  putString(block, 257, 6, "ustar\0");
  putString(block, 263, 2, "00");
  putString(block, 345, 155, prefix);
  let sum = 0;
  for (const b of block) sum += b;
  putString(block, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

/** The entries as a tar stream (two zero blocks at the end), gzip-compressed. */
export function tarGzip(entries: readonly TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const size = entry.data?.length ?? 0;
    parts.push(header(entry, size));
    if (entry.data !== undefined && size > 0) {
      parts.push(entry.data);
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (pad > 0) parts.push(new Uint8Array(pad));
    }
  }
  parts.push(new Uint8Array(BLOCK * 2));
  let total = 0;
  for (const p of parts) total += p.length;
  const tar = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    tar.set(p, at);
    at += p.length;
  }
  return new Uint8Array(gzipSync(tar));
}
