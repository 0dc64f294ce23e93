/** Errors of snapshot archives. */

/**
 * An archive that cannot be used: not gzip, not tar, an unexpected file, a
 * failed SHA-256 check, or a state that does not decode. The message is
 * Consul's wording for the same failure.
 */
export class SnapshotArchiveError extends Error {
  override readonly name = "SnapshotArchiveError";
}
