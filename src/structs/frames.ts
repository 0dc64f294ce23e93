/**
 * Reassembles length-prefixed frames (a u32 big-endian byte count, then the
 * body) from stream chunks, for the server RPC port and gossip streams.
 *
 * Chunks are kept as a list and each byte is copied at most once, so a large
 * frame costs time linear in its size (joining the buffer on every chunk cost
 * the square of it: a 96 MiB frame burned minutes of CPU). A frame longer than
 * the limit, or whose first bytes the caller's check refuses, is an error as
 * soon as its header (or those bytes) arrive, before the body is buffered.
 */

/** A frame that cannot be accepted; the connection that sent it should be closed. */
export class FrameError extends Error {
  override readonly name = "FrameError";
}

export interface FrameLimits {
  /** Largest body accepted. */
  readonly maxBytes: number;
  /** How many leading body bytes `checkStart` wants to see. */
  readonly startBytes?: number;
  /** Judges a frame by its first bytes: a reason to refuse it, or null. */
  readonly checkStart?: (start: Uint8Array, length: number) => string | null;
}

export class FrameAssembler {
  private chunks: Uint8Array[] = [];
  private size = 0;
  /** Body length of the frame being gathered, once its header is in; -1 before. */
  private need = -1;
  private startChecked = false;
  private readonly limits: FrameLimits;

  constructor(limits: FrameLimits) {
    this.limits = limits;
  }

  /** The frames this chunk completes, as byte views; throws FrameError for one that cannot be accepted. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.size += chunk.length;
    }
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.size < 4) break;
        const head = this.take(4);
        const len = new DataView(head.buffer, head.byteOffset, 4).getUint32(0);
        if (len > this.limits.maxBytes) throw new FrameError(`frame of ${len} bytes exceeds the limit of ${this.limits.maxBytes}`);
        this.need = len;
        this.startChecked = false;
      }
      if (!this.startChecked && this.limits.checkStart !== undefined) {
        const want = Math.min(this.need, this.limits.startBytes ?? 16);
        if (this.size < want) break;
        const reason = this.limits.checkStart(this.peek(want), this.need);
        if (reason !== null) throw new FrameError(reason);
        this.startChecked = true;
      }
      if (this.size < this.need) break;
      out.push(this.take(this.need));
      this.need = -1;
    }
    return out;
  }

  /** Bytes held that do not yet make a frame. */
  get pending(): number {
    return this.size;
  }

  /** The first n held bytes without consuming them. */
  private peek(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    let at = 0;
    for (const c of this.chunks) {
      if (at >= n) break;
      const part = c.subarray(0, n - at);
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  /** Removes and returns the first n held bytes, copying only when they span chunks. */
  private take(n: number): Uint8Array {
    this.size -= n;
    const first = this.chunks[0];
    if (first !== undefined && first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = new Uint8Array(n);
    let at = 0;
    let used = 0;
    for (const c of this.chunks) {
      const part = c.subarray(0, n - at);
      out.set(part, at);
      at += part.length;
      if (part.length < c.length) {
        this.chunks[used] = c.subarray(part.length);
        break;
      }
      used++;
      if (at === n) break;
    }
    this.chunks.splice(0, used);
    return out;
  }
}
