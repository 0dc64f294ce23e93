/**
 * Snapshot archives in Consul's layout: a gzipped tar holding
 *
 *     meta.json   - the snapshot's metadata (raft's SnapshotMeta fields)
 *     state.bin   - the state itself
 *     SHA256SUMS  - SHA-256 of the two files above, `sha256sum` style
 *
 * state.bin is Consulate's own state snapshot (the state store's encoding),
 * not Consul's msgpack FSM stream: archives move between Consulate servers,
 * not between Consulate and Consul.
 */
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { SnapshotArchiveError } from "./errors.ts";
import { checkMeta, type SnapshotMeta } from "./meta.ts";
import { readTar, writeTar } from "./tar.ts";

export const META_FILE = "meta.json";
export const STATE_FILE = "state.bin";
export const SUMS_FILE = "SHA256SUMS";

/**
 * Largest uncompressed archive a restore or inspect accepts: bounds a gzip
 * bomb, yet stays well above what a server writes (100,000 service instances
 * and 1,000,000 KV keys expand past 180 MiB; an upload is at most 120 MiB
 * compressed, so this allows a ratio of 17).
 */
export const MAX_UNCOMPRESSED_BYTES = 2 * 1024 * 1024 * 1024;

export interface SnapshotContents {
  readonly meta: SnapshotMeta;
  readonly state: Uint8Array;
}

const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

/** Builds the archive (gzip of the tar) for a state snapshot. */
export function writeArchive(meta: SnapshotMeta, state: Uint8Array, nowMs: number): Uint8Array {
  // Go's json.Encoder ends the document with a newline; keep the same bytes.
  const metaBytes = new TextEncoder().encode(`${JSON.stringify(meta)}\n`);
  const sums = new TextEncoder().encode(`${sha256(metaBytes)}  ${META_FILE}\n${sha256(state)}  ${STATE_FILE}\n`);
  const mtime = Math.floor(nowMs / 1000);
  const tar = writeTar([
    { name: META_FILE, data: metaBytes, mtime },
    { name: STATE_FILE, data: state, mtime },
    { name: SUMS_FILE, data: sums, mtime },
  ]);
  return new Uint8Array(gzipSync(tar));
}

function gunzip(archive: Uint8Array, maxBytes: number): Uint8Array {
  try {
    return new Uint8Array(gunzipSync(archive, { maxOutputLength: maxBytes }));
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === "ERR_BUFFER_TOO_LARGE") {
      throw new SnapshotArchiveError(`failed to decompress snapshot: archive expands past the ${maxBytes}-byte limit`);
    }
    // Go's compress/gzip wording for the common cases.
    const reason =
      archive.length < 10 || archive[0] !== 0x1f || archive[1] !== 0x8b
        ? archive.length === 0
          ? "EOF"
          : "gzip: invalid header"
        : e.message === "unexpected end of file"
          ? "unexpected EOF"
          : `gzip: ${e.message ?? String(err)}`;
    throw new SnapshotArchiveError(`failed to decompress snapshot: ${reason}`);
  }
}

/**
 * Opens an archive and checks its integrity: exactly the three known files,
 * each hash in SHA256SUMS matching. Throws SnapshotArchiveError otherwise.
 */
export function readArchive(archive: Uint8Array, maxBytes = MAX_UNCOMPRESSED_BYTES): SnapshotContents {
  const tar = gunzip(archive, maxBytes);
  const fail = (msg: string): never => {
    throw new SnapshotArchiveError(`failed to read snapshot file: ${msg}`);
  };
  let files;
  try {
    files = readTar(tar);
  } catch (err) {
    if (err instanceof SnapshotArchiveError) fail(err.message);
    throw err;
  }
  let metaBytes = new Uint8Array(0);
  let state = new Uint8Array(0);
  let sums = "";
  for (const f of files!) {
    if (f.name === META_FILE) metaBytes = new Uint8Array(f.data);
    else if (f.name === STATE_FILE) state = new Uint8Array(f.data);
    else if (f.name === SUMS_FILE) sums = new TextDecoder().decode(f.data);
    else fail(`unexpected file ${JSON.stringify(f.name)} in snapshot`);
  }
  let meta: SnapshotMeta;
  try {
    meta = checkMeta(JSON.parse(new TextDecoder().decode(metaBytes)));
  } catch (err) {
    return fail(`failed to decode snapshot metadata: ${(err as Error).message}`);
  }
  const problem = verifySums(sums, new Map([[META_FILE, sha256(metaBytes)], [STATE_FILE, sha256(state)]]));
  if (problem !== null) fail(`failed checking integrity of snapshot: ${problem}`);
  return { meta, state };
}

/** Compares a SHA256SUMS text with the actual hashes; null when every file is listed and matches. */
function verifySums(sums: string, actual: ReadonlyMap<string, string>): string | null {
  const seen = new Set<string>();
  for (const line of sums.split("\n")) {
    if (line === "") continue;
    const m = /^([0-9a-fA-F]+) {2}(\S+)$/.exec(line);
    if (!m) return `malformed line ${JSON.stringify(line)} in ${SUMS_FILE}`;
    const [, hash, file] = m as unknown as [string, string, string];
    const want = actual.get(file);
    if (want === undefined) return `list missing hash for ${JSON.stringify(file)}`;
    if (hash.toLowerCase() !== want) return `hash check failed for ${JSON.stringify(file)}`;
    seen.add(file);
  }
  for (const file of actual.keys()) if (!seen.has(file)) return `file missing for ${JSON.stringify(file)}`;
  return null;
}
