/**
 * Byte plumbing between two sockets: an L4 splice, and a pull-based reader
 * the HTTP/1.1 relay parses from.
 */
import type { Duplex } from "node:stream";

/** How long a side may take to flush after its peer closed before it is cut. */
const LINGER_MS = 5_000;

/**
 * Pipes both directions. When one side closes, the other is ended gracefully
 * (so bytes already written still arrive); an error on either cuts both.
 */
export function splice(a: Duplex, b: Duplex, onDone?: () => void): void {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    onDone?.();
  };
  const closeOther = (other: Duplex) => () => {
    if (!other.destroyed) {
      // Not again when the pipe already ended it: a second end() builds (and drops) an error with a stack trace.
      if (!other.writableEnded) other.end();
      const t = setTimeout(() => other.destroy(), LINGER_MS);
      (t as { unref?: () => void }).unref?.();
    }
    finish();
  };
  const cut = () => {
    a.destroy();
    b.destroy();
    finish();
  };
  a.on("error", cut);
  b.on("error", cut);
  a.on("close", closeOther(b));
  b.on("close", closeOther(a));
  a.pipe(b);
  b.pipe(a);
}

/** Resolves once everything written so far is flushed (or at once when nothing waits). */
export function write(s: Duplex, chunk: Uint8Array | string): Promise<void> {
  if (s.destroyed || s.writableEnded) return Promise.reject(new Error("socket closed"));
  if (s.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const ok = () => {
      s.off("close", gone);
      resolve();
    };
    const gone = () => {
      s.off("drain", ok);
      reject(new Error("socket closed"));
    };
    s.once("drain", ok);
    s.once("close", gone);
  });
}

const HIGH_WATER = 256 * 1024;

/** Reads a socket chunk by chunk on demand, with back-pressure and the ability to give bytes back. */
export class Reader {
  private readonly chunks: Uint8Array[] = [];
  private buffered = 0;
  private ended = false;
  private failure: Error | null = null;
  private waiter: (() => void) | null = null;
  private paused = false;
  private readonly s: Duplex;

  // Node event listeners take arguments of any type.
  private readonly handlers: [string, (...args: any[]) => void][];

  constructor(s: Duplex) {
    this.s = s;
    this.handlers = [
      ["data", (c: Uint8Array) => {
        this.chunks.push(c);
        this.buffered += c.length;
        if (this.buffered > HIGH_WATER && !this.paused) {
          this.paused = true;
          s.pause();
        }
        this.notify();
      }],
      ["end", () => {
        this.ended = true;
        this.notify();
      }],
      ["close", () => {
        this.ended = true;
        this.notify();
      }],
      ["error", (e: Error) => {
        this.failure = e;
        this.notify();
      }],
    ];
    for (const [event, fn] of this.handlers) s.on(event, fn);
  }

  /** Stops reading and hands over what is buffered, so the socket can be piped raw. */
  detach(): Uint8Array[] {
    for (const [event, fn] of this.handlers) this.s.off(event, fn);
    const out = this.chunks.splice(0);
    this.buffered = 0;
    return out;
  }

  private notify(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** Whether bytes are already here (the next `next()` resolves without waiting for the socket). */
  get hasBuffered(): boolean {
    return this.chunks.length > 0;
  }

  /** The next bytes already received, or null when none are (no waiting). */
  nextBuffered(): Uint8Array | null {
    const c = this.chunks.shift();
    if (!c) return null;
    this.buffered -= c.length;
    // Only a pause of ours is undone here (asking the socket each time costs a call per chunk).
    if (this.paused && this.buffered <= HIGH_WATER) {
      this.paused = false;
      this.s.resume();
    }
    return c;
  }

  /** The socket's failure, once it failed. */
  get failed(): Error | null {
    return this.failure;
  }

  /** Whether the stream ended (the peer's FIN or the socket's close): what is buffered is all there is. */
  get atEnd(): boolean {
    return this.ended;
  }

  /**
   * Calls `fn` once, when bytes, the end or a failure arrive next (one
   * waiter at a time; call it with nothing buffered). No promise: the
   * event-driven HTTP/1.1 paths read this way, `next()` awaits the same.
   */
  wait(fn: () => void): void {
    this.waiter = fn;
  }

  /** The next bytes, or null at the end of the stream. */
  async next(): Promise<Uint8Array | null> {
    for (;;) {
      const c = this.nextBuffered();
      if (c) return c;
      if (this.failure) throw this.failure;
      if (this.ended) return null;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  /** Gives bytes back; the next `next()` returns them first. */
  unshift(c: Uint8Array): void {
    if (c.length === 0) return;
    this.chunks.unshift(c);
    this.buffered += c.length;
  }
}

/** Resolves with `s` once it emits `event` ("connect", or "secureConnect" for TLS); an error or the deadline destroys it and rejects. */
export function whenConnected<S extends Duplex>(s: S, event: "connect" | "secureConnect", timeoutMs: number, timeoutMessage: string): Promise<S> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(timeoutMessage));
    }, timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      s.destroy();
      reject(err);
    };
    s.once(event, () => {
      clearTimeout(timer);
      s.off("error", onError);
      resolve(s);
    });
    s.once("error", onError);
  });
}
