/** Errors a gossip pool reports to its caller. */

/** No join target answered. `causes` holds one message per address tried. */
export class JoinError extends Error {
  override readonly name = "JoinError";
  readonly causes: readonly string[];
  constructor(message: string, causes: readonly string[]) {
    super(message);
    this.causes = causes;
  }
}

/** A user event, query or tag set too large for the protocol's limits. */
export class GossipSizeError extends Error {
  override readonly name = "GossipSizeError";
}

/** The pool was shut down (or has left) and cannot do what was asked. */
export class PoolClosedError extends Error {
  override readonly name = "PoolClosedError";
}
