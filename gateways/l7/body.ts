/**
 * A request body that streams (an HTTP/2 or gRPC stream) yet can be sent
 * again on a retry: chunks are kept while they fit in the retry buffer, and
 * each attempt replays what arrived so far, then follows the live stream.
 * Past the buffer the body is no longer replayable and the request is not
 * retried (as Envoy, whose retries are bounded by its request buffer).
 */

export interface BodySink {
  /** False asks the source to pause until `resume` is called. */
  data(chunk: Uint8Array): boolean;
  end(): void;
}

export class ReplayBody {
  private readonly limit: number;
  private chunks: Uint8Array[] = [];
  private size = 0;
  private overflowed = false;
  private ended = false;
  private follower: BodySink | null = null;
  /** Set by the source: pause and resume its reads. */
  onPause: () => void = () => {};
  onResume: () => void = () => {};

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Whether a new attempt can still send the body from its first byte. */
  get replayable(): boolean {
    return !this.overflowed;
  }

  get complete(): boolean {
    return this.ended;
  }

  push(chunk: Uint8Array): void {
    if (!this.overflowed) {
      if (this.size + chunk.length > this.limit) {
        this.overflowed = true;
        this.chunks = [];
      } else {
        this.chunks.push(chunk);
        this.size += chunk.length;
      }
    }
    if (this.follower && !this.follower.data(chunk)) this.onPause();
  }

  end(): void {
    this.ended = true;
    this.follower?.end();
  }

  /** Sends the body to `sink` from its start (one sink at a time: a new attempt replaces the last). Returns false when it cannot be replayed. */
  follow(sink: BodySink): boolean {
    if (this.overflowed && this.follower !== null) return false;
    this.follower = sink;
    for (const c of this.chunks) sink.data(c);
    if (this.ended) sink.end();
    else this.onResume();
    return true;
  }

  /** The attempt's sink drained: the source may read on. */
  drained(): void {
    this.onResume();
  }

  /** Stops feeding the current sink (its attempt is over); the source waits for the next one. */
  unfollow(sink: BodySink): void {
    if (this.follower !== sink) return;
    this.follower = null;
    if (!this.ended) this.onPause();
  }
}
