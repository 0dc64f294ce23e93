/**
 * A small binary writer and reader for the gossip wire format: varints,
 * length-prefixed strings and bytes, doubles. The reader throws
 * WireDecodeError on anything truncated or out of range, never reads past
 * the buffer, and caps lengths so a hostile packet cannot allocate much.
 */

export class WireDecodeError extends Error {
  override readonly name = "WireDecodeError";
}

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** Member names, addresses and labels repeat endlessly: keep their encodings. */
const strCache = new Map<string, Uint8Array>();
const STR_CACHE_MAX = 65536;

function encodeStr(s: string): Uint8Array {
  let b = strCache.get(s);
  if (b) return b;
  b = enc.encode(s);
  if (s.length <= 256) {
    if (strCache.size >= STR_CACHE_MAX) strCache.clear();
    strCache.set(s, b);
  }
  return b;
}

/** ASCII fast path; anything else goes through the strict UTF-8 decoder. */
function decodeStr(b: Uint8Array): string {
  if (b.length <= 64) {
    let ascii = true;
    for (let i = 0; i < b.length; i++) if ((b[i] as number) >= 0x80) { ascii = false; break; }
    if (ascii) return String.fromCharCode(...b);
  }
  return dec.decode(b);
}

/** One shared scratch buffer: encoding is synchronous, so writers rarely overlap. */
let scratch: Uint8Array | null = new Uint8Array(1 << 16);
let scratchView = new DataView((scratch as Uint8Array).buffer);

export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  private borrowed: boolean;
  pos = 0;

  constructor(size = 256) {
    if (scratch && size <= scratch.length) {
      this.buf = scratch;
      this.view = scratchView;
      this.borrowed = true;
      scratch = null;
    } else {
      this.buf = new Uint8Array(size);
      this.view = new DataView(this.buf.buffer);
      this.borrowed = false;
    }
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.release();
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private release(): void {
    if (!this.borrowed) return;
    this.borrowed = false;
    scratch = this.buf;
    scratchView = this.view;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v & 0xff;
    return this;
  }

  /** Unsigned LEB128, for integers up to 2^53. */
  uvar(v: number): this {
    if (!(v >= 0) || !Number.isSafeInteger(v)) throw new RangeError(`Cannot encode ${v} as an unsigned varint`);
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }

  f64(v: number): this {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
    return this;
  }

  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  bytes(b: Uint8Array): this {
    return this.uvar(b.length).raw(b);
  }

  str(s: string): this {
    return this.bytes(encodeStr(s));
  }

  bool(b: boolean): this {
    return this.u8(b ? 1 : 0);
  }

  /** The bytes written (a copy); the writer must not be used afterwards. */
  finish(): Uint8Array {
    const out = this.buf.slice(0, this.pos);
    this.release();
    return out;
  }
}

export class Reader {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  pos: number;
  private readonly end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.end) throw new WireDecodeError("Message is truncated");
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  uvar(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (!Number.isSafeInteger(result)) break;
        return result;
      }
      mul *= 0x80;
    }
    throw new WireDecodeError("Varint is too long");
  }

  /** A varint that must not exceed `max` (lengths, counts). */
  count(max: number): number {
    const n = this.uvar();
    if (n > max) throw new WireDecodeError(`Count ${n} exceeds the limit of ${max}`);
    return n;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  raw(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  bytes(max = 1 << 24): Uint8Array {
    return this.raw(this.count(max));
  }

  str(max = 1 << 16): string {
    try {
      return decodeStr(this.bytes(max));
    } catch (e) {
      if (e instanceof WireDecodeError) throw e;
      throw new WireDecodeError("String is not valid UTF-8");
    }
  }

  bool(): boolean {
    const b = this.u8();
    if (b > 1) throw new WireDecodeError(`Invalid boolean byte ${b}`);
    return b === 1;
  }

  done(): void {
    if (this.pos !== this.end) throw new WireDecodeError(`${this.end - this.pos} trailing bytes`);
  }
}
