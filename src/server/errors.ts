/** The errors a Server's writes and restores reject with. */

/** A state snapshot given to `restore` that does not decode; nothing was written. */
export class SnapshotStateError extends Error {
  override readonly name = "SnapshotStateError";
}

/** A write the state machine refused; the message is Consul's text. */
export class ApplyError extends Error {
  override readonly name = "ApplyError";
}
