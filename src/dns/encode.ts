/**
 * Message encoding with RFC 1035 name compression (Consul compresses unless
 * `disable_compression`), written for the hot path: one pass, one buffer.
 */
import type { Message, Rr } from "./message.ts";
import { RClass, RType } from "./wire.ts";

/** The largest message a 16-bit TCP length prefix can carry. */
export const MAX_MESSAGE = 65535;
const MAX_POINTER = 0x3fff;
const utf8 = new TextEncoder();

interface Label {
  /** Lower-cased presentation text, the compression key. */
  readonly key: string;
  readonly bytes: Uint8Array;
}

interface SplitName {
  readonly labels: readonly Label[];
  /** keys[i]: the compression key of the suffix starting at label i. */
  readonly keys: readonly string[];
}

const labelCache = new Map<string, SplitName>();
const LABEL_CACHE_MAX = 4096;

function labelBytes(text: string): Uint8Array {
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (!ascii) return utf8.encode(text);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Splits a presentation-form name into labels, honouring `\.` and `\DDD` escapes. */
export function splitName(name: string): SplitName {
  const cached = labelCache.get(name);
  if (cached) return cached;
  const labels = parseLabels(name);
  const keys = new Array<string>(labels.length);
  let suffix = "";
  for (let i = labels.length - 1; i >= 0; i--) {
    suffix = suffix === "" ? labels[i]!.key : `${labels[i]!.key}.${suffix}`;
    keys[i] = suffix;
  }
  const split = { labels, keys };
  if (labelCache.size >= LABEL_CACHE_MAX) labelCache.clear();
  labelCache.set(name, split);
  return split;
}

function parseLabels(name: string): Label[] {
  const labels: Label[] = [];
  if (name !== "." && name !== "") {
    if (!name.includes("\\")) {
      const parts = name.split(".");
      if (parts[parts.length - 1] === "") parts.pop();
      for (const p of parts) if (p !== "") labels.push({ key: p.toLowerCase(), bytes: labelBytes(p).subarray(0, 63) });
    } else {
      let bytes: number[] = [];
      let key = "";
      const flush = () => {
        if (bytes.length > 0) labels.push({ key: key.toLowerCase(), bytes: Uint8Array.from(bytes.slice(0, 63)) });
        bytes = [];
        key = "";
      };
      for (let i = 0; i < name.length; i++) {
        const c = name[i]!;
        if (c === "\\" && i + 1 < name.length) {
          const d = name.slice(i + 1, i + 4);
          if (/^[0-9]{3}$/.test(d)) {
            bytes.push(Number(d) & 0xff);
            key += "\\" + d;
            i += 3;
          } else {
            bytes.push(name.charCodeAt(i + 1) & 0xff);
            key += "\\" + name[i + 1];
            i += 1;
          }
        } else if (c === ".") {
          flush();
        } else {
          for (const byte of labelBytes(c)) bytes.push(byte);
          key += c;
        }
      }
      flush();
    }
  }
  return labels;
}

/** One scratch buffer and compression table, reused: encoding is synchronous and never nested. */
const scratchNames = new Map<string, number>();
let scratchBuf = new Uint8Array(4096);

class Writer {
  buf = scratchBuf;
  len = 0;
  private readonly names: Map<string, number> | null;

  /** `names`: a compression table of its own (the scratch one is cleared and used otherwise). */
  constructor(compress: boolean, names?: Map<string, number>) {
    if (names === undefined) scratchNames.clear();
    this.names = compress ? (names ?? scratchNames) : null;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    if (size <= 1 << 17) scratchBuf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf[this.len++] = (v >> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf[this.len++] = (v >>> 24) & 0xff;
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Writes a name, pointing at an earlier copy of its longest known suffix. */
  name(name: string, compressible = true): void {
    const { labels, keys } = splitName(name);
    const names = compressible ? this.names : null;
    for (let i = 0; i < labels.length; i++) {
      if (names) {
        const at = names.get(keys[i]!);
        if (at !== undefined) {
          this.u16(0xc000 | at);
          return;
        }
        if (this.len <= MAX_POINTER) names.set(keys[i]!, this.len);
      }
      const l = labels[i]!.bytes;
      this.u8(l.length);
      this.bytes(l);
    }
    this.u8(0);
  }

  /** Reserves a 16-bit length and returns a function that fills it in. */
  lengthMark(): () => void {
    const at = this.len;
    this.u16(0);
    return () => {
      const n = this.len - at - 2;
      this.buf[at] = (n >> 8) & 0xff;
      this.buf[at + 1] = n & 0xff;
    };
  }
}

function writeCharString(w: Writer, s: string): void {
  const b = labelBytes(s);
  // A character-string holds at most 255 bytes; longer TXT values are split by the caller.
  const n = Math.min(b.length, 255);
  w.u8(n);
  w.bytes(b.subarray(0, n));
}

/** The question as asked and in lower case: owners equal to it are written as the client spelled it. */
interface Asked {
  readonly lower: string;
  readonly name: string;
}

function writeRr(w: Writer, rr: Rr, asked: Asked | null): void {
  if (rr.type === RType.OPT) {
    w.u8(0);
    w.u16(RType.OPT);
    w.u16(rr.udpSize);
    w.u32(0);
    const done = w.lengthMark();
    for (const o of rr.options) {
      w.u16(o.code);
      w.u16(o.data.length);
      w.bytes(o.data);
    }
    done();
    return;
  }
  w.name(asked !== null && rr.name === asked.lower ? asked.name : rr.name);
  w.u16(rr.type);
  w.u16(RClass.IN);
  w.u32(rr.ttl >>> 0);
  const done = w.lengthMark();
  switch (rr.type) {
    case RType.A:
    case RType.AAAA:
      w.bytes(rr.ip);
      break;
    case RType.CNAME:
    case RType.PTR:
    case RType.NS:
      w.name(rr.target);
      break;
    case RType.SRV:
      w.u16(rr.priority);
      w.u16(rr.weight);
      w.u16(rr.port);
      // RFC 2782: the SRV target is not compressed.
      w.name(rr.target, false);
      break;
    case RType.TXT:
      for (const t of rr.texts) writeCharString(w, t);
      break;
    case RType.SOA:
      w.name(rr.mname);
      w.name(rr.rname);
      w.u32(rr.serial);
      w.u32(rr.refresh);
      w.u32(rr.retry);
      w.u32(rr.expire);
      w.u32(rr.minimum);
      break;
  }
  done();
}

/**
 * Encodes a message; with `compress`, names point at earlier copies of their
 * suffixes. The result may exceed MAX_MESSAGE; callers trim before sending.
 */
export function encodeMessage(msg: Message, compress: boolean): Uint8Array {
  const w = new Writer(compress);
  const asked = writeHead(w, msg);
  for (const rr of msg.answer) writeRr(w, rr, asked);
  for (const rr of msg.authority) writeRr(w, rr, asked);
  for (const rr of msg.additional) writeRr(w, rr, asked);
  return w.buf.slice(0, w.len);
}

/** The header and the question; answers the question as asked when owners must be written as the client spelled it. */
function writeHead(w: Writer, msg: Message): Asked | null {
  w.u16(msg.id);
  w.u16((msg.flags & ~0xf) | (msg.rcode & 0xf));
  w.u16(msg.question ? 1 : 0);
  w.u16(msg.answer.length);
  w.u16(msg.authority.length);
  w.u16(msg.additional.length);
  let asked: Asked | null = null;
  if (msg.question) {
    w.name(msg.question.name);
    w.u16(msg.question.qtype);
    w.u16(msg.question.qclass);
    const lower = msg.question.name.toLowerCase();
    if (lower !== msg.question.name) asked = { lower, name: msg.question.name };
  }
  return asked;
}

/**
 * A message's answers encoded once, for sizing it cut after any number of
 * them (trim.ts): where each answer ends, and what a record written after
 * them all takes. Past MAX_POINTER no name is entered in the compression
 * table, so there a record's size no longer depends on what precedes it:
 * `recordLength` is exact for any cut that ends past MAX_POINTER.
 */
export class AnswerCuts {
  /** ends[k]: the size of the header, question and first k answers. */
  readonly ends: readonly number[];
  private readonly w: Writer;
  private readonly asked: Asked | null;

  constructor(msg: Message, compress: boolean) {
    // Its own table: the sizes of other cuts may be encoded in between.
    this.w = new Writer(compress, new Map());
    this.asked = writeHead(this.w, msg);
    const ends = [this.w.len];
    for (const rr of msg.answer) {
      writeRr(this.w, rr, this.asked);
      ends.push(this.w.len);
    }
    this.ends = ends;
  }

  /** Whether records written after the first k answers enter nothing in the compression table. */
  pastWindow(k: number): boolean {
    return this.ends[k]! > MAX_POINTER;
  }

  /** The size of `rr` written after every answer (exact after any cut `pastWindow` accepts). */
  recordLength(rr: Rr): number {
    const at = this.w.len;
    writeRr(this.w, rr, this.asked);
    const n = this.w.len - at;
    this.w.len = at;
    return n;
  }
}

/** The encoded size of a message (miekg's Msg.Len()). */
export function messageLength(msg: Message, compress: boolean): number {
  return encodeMessage(msg, compress).length;
}
