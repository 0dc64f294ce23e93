/**
 * DNS wire constants and the query parser. The parser never throws: any input
 * becomes either a query to answer, a header-only rejection (FORMERR/NOTIMP,
 * as miekg/dns's default accept policy answers), or nothing at all.
 */

export const RType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const;

export const RClass = { IN: 1 } as const;

export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

export const Opcode = { QUERY: 0 } as const;

/** Header flag bits (the second 16-bit word). */
export const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  CD: 0x0010,
} as const;

export const HEADER_SIZE = 12;
export const MAX_NAME_WIRE = 255;
export const EDNS_CLIENT_SUBNET = 8;

export interface ClientSubnet {
  readonly family: number;
  readonly sourcePrefix: number;
  readonly scopePrefix: number;
  readonly address: Uint8Array;
}

export interface Edns {
  readonly udpSize: number;
  readonly version: number;
  readonly dnssecOk: boolean;
  readonly subnet: ClientSubnet | null;
}

export interface Query {
  readonly id: number;
  /** The request's header flags word, for the bits a reply copies (RD, CD). */
  readonly flags: number;
  /** Question name in presentation form: lower case, escaped, with the trailing dot. */
  readonly name: string;
  /**
   * The same name in the case the client sent it, which the reply echoes
   * (resolvers randomise case as a check, "0x20"); equal to `name` when the
   * client sent lower case.
   */
  readonly asked: string;
  readonly qtype: number;
  readonly qclass: number;
  readonly edns: Edns | null;
}

export type ParsedQuery =
  | { readonly kind: "query"; readonly query: Query }
  /** Answer with a header-only message carrying this rcode. */
  | { readonly kind: "reject"; readonly id: number; readonly flags: number; readonly rcode: number }
  /** Not worth an answer (too short to carry an ID, or itself a response). */
  | { readonly kind: "drop" };

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

/** Skips a possibly compressed name; returns the offset after it, or -1 when malformed. */
function skipName(b: Uint8Array, at: number): number {
  let total = 0;
  while (at < b.length) {
    const len = b[at]!;
    if (len === 0) return at + 1;
    if ((len & 0xc0) === 0xc0) return at + 2 <= b.length ? at + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    total += len + 1;
    if (total > MAX_NAME_WIRE) return -1;
    at += len + 1;
  }
  return -1;
}

const HEX = "0123456789";

/** A label in presentation form, escaped the way miekg/dns prints it. */
function labelText(b: Uint8Array): string {
  let plain = true;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c || c === 0x28 || c === 0x29 || c === 0x3b || c === 0x22 || c === 0x40 || c === 0x24) {
      plain = false;
      break;
    }
  }
  if (plain) return String.fromCharCode(...b);
  let s = "";
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x2e || c === 0x5c || c === 0x28 || c === 0x29 || c === 0x3b || c === 0x22 || c === 0x40 || c === 0x24) s += "\\" + String.fromCharCode(c);
    else if (c <= 0x20 || c >= 0x7f) s += "\\" + HEX[Math.floor(c / 100)]! + HEX[Math.floor(c / 10) % 10]! + HEX[c % 10]!;
    else s += String.fromCharCode(c);
  }
  return s;
}

/** Bytes a label must escape in presentation form: . \\ ( ) ; " @ $ */
const SPECIAL = new Uint8Array(256);
for (const c of [0x2e, 0x5c, 0x28, 0x29, 0x3b, 0x22, 0x40, 0x24]) SPECIAL[c] = 1;
const scratch = new Uint8Array(MAX_NAME_WIRE + 1);

/** The question name, lower-cased unless `keepCase`, with odd bytes escaped (the slow path). */
function escapedName(b: Uint8Array, at: number, keepCase = false): string {
  let name = "";
  for (;;) {
    const len = b[at]!;
    if (len === 0) return name;
    const label = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      const c = b[at + 1 + i]!;
      label[i] = !keepCase && c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    }
    name += labelText(label) + ".";
    at += 1 + len;
  }
}

function reject(id: number, flags: number, rcode: number): ParsedQuery {
  return { kind: "reject", id, flags, rcode };
}

/** Parses the OPT record's rdata options; returns the client subnet, undefined when malformed. */
function parseOptions(b: Uint8Array, at: number, end: number): ClientSubnet | null | undefined {
  let subnet: ClientSubnet | null = null;
  while (at < end) {
    if (at + 4 > end) return undefined;
    const code = u16(b, at);
    const len = u16(b, at + 2);
    at += 4;
    if (at + len > end) return undefined;
    if (code === EDNS_CLIENT_SUBNET && len >= 4) {
      const family = u16(b, at);
      const sourcePrefix = b[at + 2]!;
      const scopePrefix = b[at + 3]!;
      const width = family === 1 ? 4 : family === 2 ? 16 : 0;
      if (width > 0 && len - 4 <= width && sourcePrefix <= width * 8) {
        const address = new Uint8Array(width);
        address.set(b.subarray(at + 4, at + len));
        subnet = { family, sourcePrefix, scopePrefix, address };
      }
    }
    at += len;
  }
  return subnet;
}

/**
 * Parses a request. Accepts what miekg/dns's default policy accepts: a query
 * (opcode QUERY) with exactly one question, at most one answer and one
 * authority record, and at most two additional records (one may be OPT).
 */
export function parseQuery(b: Uint8Array): ParsedQuery {
  if (b.length < HEADER_SIZE) return { kind: "drop" };
  const id = u16(b, 0);
  const flags = u16(b, 2);
  if (flags & Flag.QR) return { kind: "drop" };
  const opcode = (flags >> 11) & 0xf;
  if (opcode !== Opcode.QUERY) return reject(id, flags, Rcode.NOTIMP);
  const qd = u16(b, 4);
  const an = u16(b, 6);
  const ns = u16(b, 8);
  const ar = u16(b, 10);
  if (qd !== 1 || an > 1 || ns > 1 || ar > 2) return reject(id, flags, Rcode.FORMERR);

  // The question: uncompressed labels (nothing precedes it to point at).
  let at = HEADER_SIZE;
  let wire = 0;
  let plain = true;
  let upper = false;
  let n = 0;
  for (;;) {
    if (at >= b.length) return reject(id, flags, Rcode.FORMERR);
    const len = b[at]!;
    if (len === 0) {
      at++;
      break;
    }
    if ((len & 0xc0) !== 0) return reject(id, flags, Rcode.FORMERR);
    wire += len + 1;
    if (wire + 1 > MAX_NAME_WIRE || at + 1 + len > b.length) return reject(id, flags, Rcode.FORMERR);
    for (let i = at + 1; i <= at + len; i++) {
      const c = b[i]!;
      if (c >= 0x41 && c <= 0x5a) {
        scratch[n++] = c | 0x20;
        upper = true;
      } else {
        if (c <= 0x20 || c >= 0x7f || SPECIAL[c] === 1) plain = false;
        scratch[n++] = c;
      }
    }
    scratch[n++] = 0x2e;
    at += 1 + len;
  }
  let name: string;
  if (n === 0) name = ".";
  else if (plain) name = String.fromCharCode.apply(null, scratch.subarray(0, n) as unknown as number[]);
  else name = escapedName(b, HEADER_SIZE);
  const asked = upper ? escapedName(b, HEADER_SIZE, true) : name;
  if (at + 4 > b.length) return reject(id, flags, Rcode.FORMERR);
  const qtype = u16(b, at);
  const qclass = u16(b, at + 2);
  at += 4;

  for (let i = 0; i < an + ns; i++) {
    at = skipName(b, at);
    if (at < 0 || at + 10 > b.length) return reject(id, flags, Rcode.FORMERR);
    const rdlen = u16(b, at + 8);
    at += 10 + rdlen;
    if (at > b.length) return reject(id, flags, Rcode.FORMERR);
  }
  let edns: Edns | null = null;
  for (let i = 0; i < ar; i++) {
    const start = at;
    at = skipName(b, at);
    if (at < 0 || at + 10 > b.length) return reject(id, flags, Rcode.FORMERR);
    const type = u16(b, at);
    const rdlen = u16(b, at + 8);
    const rdata = at + 10;
    if (rdata + rdlen > b.length) return reject(id, flags, Rcode.FORMERR);
    if (type === RType.OPT) {
      // RFC 6891: one OPT, owned by the root.
      if (edns !== null || at !== start + 1) return reject(id, flags, Rcode.FORMERR);
      const subnet = parseOptions(b, rdata, rdata + rdlen);
      if (subnet === undefined) return reject(id, flags, Rcode.FORMERR);
      edns = { udpSize: u16(b, at + 2), version: b[at + 5]!, dnssecOk: (b[at + 6]! & 0x80) !== 0, subnet };
    }
    at = rdata + rdlen;
  }
  return { kind: "query", query: { id, flags, name, asked, qtype, qclass, edns } };
}
