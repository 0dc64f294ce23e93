/**
 * Just enough DER to move private keys between the PEM shapes WebCrypto
 * speaks (PKCS#8) and the ones Consul hands out and accepts (SEC1
 * "EC PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY"). Certificates and CSRs go
 * through @peculiar/x509; this is only for key containers.
 */

export interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte: `buf.subarray(head, end)` is the whole TLV. */
  readonly head: number;
  /** Offset of the first content byte. */
  readonly start: number;
  /** Offset one past the last content byte. */
  readonly end: number;
}

export class DerError extends Error {
  override readonly name = "DerError";
}

export const Tag = {
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  Null: 0x05,
  Oid: 0x06,
  Sequence: 0x30,
} as const;

/** Reads one TLV at `offset` (definite lengths only, as DER requires). */
export function readTlv(buf: Uint8Array, offset: number): Tlv {
  if (offset + 2 > buf.length) throw new DerError("truncated DER value");
  const tag = buf[offset]!;
  let len = buf[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > buf.length) throw new DerError("bad DER length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > buf.length) throw new DerError("truncated DER value");
  return { tag, head: offset, start, end };
}

/** The TLVs directly inside a constructed value. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = readTlv(buf, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

export function contents(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.start, t.end);
}

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const head = [tag, ...lengthBytes(content.length)];
  const out = new Uint8Array(head.length + content.length);
  out.set(head, 0);
  out.set(content, head.length);
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export const seq = (...parts: Uint8Array[]): Uint8Array => tlv(Tag.Sequence, concat(...parts));
export const octets = (b: Uint8Array): Uint8Array => tlv(Tag.OctetString, b);
export const bitString = (b: Uint8Array): Uint8Array => tlv(Tag.BitString, concat(new Uint8Array([0]), b));
export const smallInt = (n: number): Uint8Array => tlv(Tag.Integer, new Uint8Array([n]));
export const derNull = (): Uint8Array => new Uint8Array([Tag.Null, 0]);
/** A constructed context-specific tag `[n]`. */
export const explicit = (n: number, content: Uint8Array): Uint8Array => tlv(0xa0 + n, content);

/** Encodes a dotted OID. */
export function oid(dotted: string): Uint8Array {
  const parts = dotted.split(".").map(Number);
  const bytes: number[] = [parts[0]! * 40 + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    bytes.push(...chunk);
  }
  return tlv(Tag.Oid, new Uint8Array(bytes));
}

/** Decodes the contents of an OID TLV to dotted form. */
export function oidString(content: Uint8Array): string {
  if (content.length === 0) throw new DerError("empty OID");
  const first = content[0]!;
  const parts = [Math.min(2, Math.floor(first / 40)), first - Math.min(2, Math.floor(first / 40)) * 40];
  let v = 0;
  for (let i = 1; i < content.length; i++) {
    v = v * 128 + (content[i]! & 0x7f);
    if (!(content[i]! & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}
