/**
 * Pieces of HTTP/1.1 relaying over a Reader's buffered bytes: a message
 * head gathered across chunks, a body's extent tracked across chunks, and
 * writes coalesced so a head and the body bytes that came with it leave as
 * one (one TLS record and one syscall per small message, as a splice does).
 * The synchronous pieces serve the event-driven paths (no promise per read
 * or write); `readHead` and `pumpBody` wrap them in promises for callers
 * that await a whole message.
 */
import { Buffer } from "node:buffer";
import { type BodyFraming, ChunkedTracker, headEnd, HttpParseError, MAX_HEAD_BYTES } from "./http1.ts";
import type { Reader } from "./relay.ts";

const EMPTY = new Uint8Array(0);

/** What `HeadGatherer.take` returns when the stream ended cleanly between messages. */
export const STREAM_END = "end";

/** Gathers one message head at a time from a Reader, across as many chunks as it takes. */
export class HeadGatherer {
  readonly #tooBig: number;
  #buf: Uint8Array = EMPTY;

  /** `tooBig`: the status of the error for a head over MAX_HEAD_BYTES (431 for requests, 502 for responses). */
  constructor(tooBig: number) {
    this.#tooBig = tooBig;
  }

  /**
   * The next whole head (the bytes after it are given back to the reader),
   * null while it is still incomplete (wait for the reader, then call again),
   * or STREAM_END when the stream ended before a byte of it. Throws the
   * socket's failure, or an HttpParseError for a head too large or cut short.
   */
  take(r: Reader): Uint8Array | null | typeof STREAM_END {
    for (;;) {
      const end = headEnd(this.#buf);
      if (end !== -1) {
        const buf = this.#buf;
        this.#buf = EMPTY;
        // A chunk that is one whole head (the common case) is returned as it is: no views made.
        if (end === buf.length) return buf;
        r.unshift(buf.subarray(end));
        return buf.subarray(0, end);
      }
      if (this.#buf.length > MAX_HEAD_BYTES) throw new HttpParseError(this.#tooBig, "message head too large");
      const c = r.nextBuffered();
      if (c === null) {
        if (r.failed) throw r.failed;
        if (!r.atEnd) return null;
        if (this.#buf.length === 0) return STREAM_END;
        throw new HttpParseError(400, "connection closed inside a message head");
      }
      // The common case, a whole head in one chunk, is parsed in place (the head and what follows stay views of it).
      if (this.#buf.length === 0) this.#buf = c;
      else {
        const next = Buffer.allocUnsafe(this.#buf.length + c.length);
        next.set(this.#buf);
        next.set(c, this.#buf.length);
        this.#buf = next;
      }
      // Leading empty lines before a request line are allowed (RFC 9112 2.2).
      let skip = 0;
      while (this.#buf.length >= skip + 2 && this.#buf[skip] === 13 && this.#buf[skip + 1] === 10) skip += 2;
      if (skip > 0) this.#buf = this.#buf.subarray(skip);
    }
  }
}

/** Where one message body ends, fed the bytes that follow its head chunk by chunk (`BodyCounter.of`). */
export class BodyCounter {
  readonly framing: BodyFraming;
  #left: number;
  readonly #chunked: ChunkedTracker | null;

  constructor(framing: BodyFraming) {
    this.framing = framing;
    this.#left = framing.kind === "length" ? framing.length : 0;
    this.#chunked = framing.kind === "chunked" ? new ChunkedTracker() : null;
  }

  /** A counter for `framing`: for a message without a body (most requests) one shared counter, which keeps no state. */
  static of(framing: BodyFraming): BodyCounter {
    return framing.kind === "none" ? NO_BODY : new BodyCounter(framing);
  }

  get done(): boolean {
    switch (this.framing.kind) {
      case "none":
        return true;
      case "length":
        return this.#left === 0;
      case "chunked":
        return this.#chunked!.done;
      case "close":
        return false;
    }
  }

  /** How many of `c`'s first bytes belong to the body (the rest is the next message's). */
  take(c: Uint8Array): number {
    switch (this.framing.kind) {
      case "none":
        return 0;
      case "length": {
        const n = Math.min(this.#left, c.length);
        this.#left -= n;
        return n;
      }
      case "chunked":
        return this.#chunked!.feed(c);
      case "close":
        return c.length;
    }
  }

  /** The error for a stream that ended before the body did; null when the end is the body's end (a close-delimited body). */
  cutShort(): HttpParseError | null {
    if (this.framing.kind === "close") return null;
    return new HttpParseError(400, this.framing.kind === "chunked" ? "connection closed inside a chunked body" : "connection closed inside a body");
  }
}

const NO_BODY = new BodyCounter({ kind: "none" });

/**
 * The first `used` bytes of `c` (a body's part of a chunk), the rest given
 * back to `r`; a chunk that is all body is returned as it is, without views.
 */
export function bodyPart(r: Reader, c: Uint8Array, used: number): Uint8Array {
  if (used === c.length) return c;
  r.unshift(c.subarray(used));
  return c.subarray(0, used);
}

/** Bodies up to this size are copied behind their head so both leave in one write. */
export const COALESCE_MAX = 16 * 1024;

/**
 * `a` then `b` as one buffer: a view when they are adjacent in memory (a head
 * and the body bytes that came in the same read), else a copy when `b` is
 * small; null when they are better written apart.
 */
export function joined(a: Uint8Array, b: Uint8Array): Uint8Array | null {
  // Buffers, not plain Uint8Arrays: node:net turns every plain one it is handed into a Buffer, and a small
  // allocUnsafe is a slice of a shared pool where a new Uint8Array is a backing store of its own.
  if (a.buffer === b.buffer && a.byteOffset + a.byteLength === b.byteOffset) return Buffer.from(a.buffer, a.byteOffset, a.byteLength + b.byteLength);
  if (b.byteLength > COALESCE_MAX) return null;
  const out = Buffer.allocUnsafe(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

/**
 * Bytes bound for one socket, gathered during one turn of an event handler
 * and written together by `flush`: adjacent views merge, small pieces are
 * copied together, large ones go apart.
 */
export class WriteBatch {
  readonly #write: (c: Uint8Array) => boolean;
  #pending: Uint8Array | null = null;
  #ok = true;

  /** `write` returns false when the socket asks the writer to wait for "drain". */
  constructor(write: (c: Uint8Array) => boolean) {
    this.#write = write;
  }

  get empty(): boolean {
    return this.#pending === null;
  }

  push(c: Uint8Array): void {
    if (c.length === 0) return;
    const p = this.#pending;
    if (p === null) {
      this.#pending = c;
      return;
    }
    const both = p.byteLength + c.byteLength <= COALESCE_MAX || (p.buffer === c.buffer && p.byteOffset + p.byteLength === c.byteOffset) ? joined(p, c) : null;
    if (both) {
      this.#pending = both;
      return;
    }
    this.#ok = this.#write(p) && this.#ok;
    this.#pending = c;
  }

  /** Writes what is gathered; false when the socket asked to wait for "drain" (at this or an earlier write since the last flush). */
  flush(): boolean {
    const p = this.#pending;
    if (p !== null) {
      this.#pending = null;
      this.#ok = this.#write(p) && this.#ok;
    }
    const ok = this.#ok;
    this.#ok = true;
    return ok;
  }

  /** Drops what is gathered (the socket is gone). */
  clear(): void {
    this.#pending = null;
    this.#ok = true;
  }
}

/**
 * A loop over what has arrived that never runs inside itself: an event that
 * fires while it runs (a write's callback, a nested dispatch) is left to the
 * running loop, which goes on to cover it.
 */
export class Turn {
  readonly #body: () => void;
  readonly #fail: (err: unknown) => void;
  readonly #after: () => void;
  #running = false;

  /** `after` runs at the end of every turn, failed or not (a flush of what the turn wrote). */
  constructor(body: () => void, fail: (err: unknown) => void, after: () => void = () => {}) {
    this.#body = body;
    this.#fail = fail;
    this.#after = after;
  }

  /** False when a turn was already running. */
  run(): boolean {
    if (this.#running) return false;
    this.#running = true;
    try {
      this.#body();
    } catch (err) {
      this.#fail(err);
    } finally {
      this.#running = false;
      this.#after();
    }
    return true;
  }
}

/** Reads one message head, waiting for as many chunks as it takes; null when the stream ends before one begins. */
export async function readHead(r: Reader, tooBig: number): Promise<Uint8Array | null> {
  const g = new HeadGatherer(tooBig);
  for (;;) {
    const h = g.take(r);
    if (h === STREAM_END) return null;
    if (h !== null) return h;
    await new Promise<void>((resolve) => r.wait(resolve));
  }
}

/**
 * Passes one body through `sink` (or drops it when sink is null); resolves
 * once it is complete. `lead` (a message head) goes to the sink first, in the
 * same call as the body's first bytes when they have already arrived: one
 * write, so one TLS record and one syscall per small message, as a splice does.
 */
export async function pumpBody(r: Reader, framing: BodyFraming, sink: ((c: Uint8Array) => Promise<void>) | null, lead: Uint8Array | null = null): Promise<void> {
  let pending = sink ? lead : null;
  if (pending && (framing.kind === "none" || !r.hasBuffered)) {
    await sink!(pending);
    pending = null;
  }
  const out = async (c: Uint8Array): Promise<void> => {
    if (!sink) return;
    if (pending) {
      const p = pending;
      pending = null;
      const both = joined(p, c);
      if (both) return sink(both);
      await sink(p);
    }
    await sink(c);
  };
  const body = BodyCounter.of(framing);
  while (!body.done) {
    const c = await r.next();
    if (c === null) {
      const err = body.cutShort();
      if (err) throw err;
      return;
    }
    const used = body.take(c);
    await out(bodyPart(r, c, used));
  }
}
