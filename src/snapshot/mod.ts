/**
 * Snapshot archives (`/v1/snapshot`, `consulate snapshot save|restore|inspect`):
 * Consul's gzipped tar of meta.json, state.bin and SHA256SUMS.
 */
export { MAX_UNCOMPRESSED_BYTES, META_FILE, readArchive, STATE_FILE, SUMS_FILE, writeArchive } from "./archive.ts";
export type { SnapshotContents } from "./archive.ts";
export { SnapshotArchiveError } from "./errors.ts";
export { checkMeta, msgpackStrings, SNAPSHOT_VERSION, snapshotMeta } from "./meta.ts";
export type { RaftServerEntry, SnapshotMeta } from "./meta.ts";
export { readTar, writeTar } from "./tar.ts";
export type { TarFile } from "./tar.ts";
export { byteSize, inspectState, SnapshotStateFormatError } from "./inspect.ts";
export type { InspectOptions, InspectOutput, TypeStats } from "./inspect.ts";
