/**
 * Reads the server name and ALPN protocols from a TLS ClientHello without
 * terminating TLS (RFC 8446 4.1.2 and RFC 5246 7.4.1.2; SNI RFC 6066 3; ALPN
 * RFC 7301). The hello may arrive split across TCP segments and across TLS
 * records; `peekClientHello` is called with every byte received so far and
 * says whether it needs more, found the hello, or must refuse the bytes.
 */

export interface ClientHelloInfo {
  /** The host_name of the server_name extension, lower-cased; "" when the client sent none. */
  readonly serverName: string;
  readonly alpn: readonly string[];
  /** The highest version the client offers: "TLSv1.3" when supported_versions names 0x0304. */
  readonly version: "TLSv1.0" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** Bytes the hello took (records included); everything received is still forwarded unchanged. */
  readonly length: number;
}

export type PeekResult =
  | { readonly status: "more" }
  | { readonly status: "ok"; readonly hello: ClientHelloInfo }
  | { readonly status: "error"; readonly reason: PeekRefusal; readonly detail: string };

/** Why bytes that were meant to open TLS are refused (a metrics label). */
export type PeekRefusal = "not_tls" | "malformed" | "too_large";

/** The largest ClientHello accepted (a post-quantum key share is ~1.8 KB; a hello of many records is an attack). */
export const MAX_HELLO_BYTES = 32 * 1024;
const MAX_RECORD = 16_384 + 2_048;
/** A real hello fits one or two records; more is a client wasting the parser's time. */
const MAX_RECORDS = 16;
const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;
const EXT_SUPPORTED_VERSIONS = 0x002b;

class Malformed extends Error {}

/** Throws unless `n` bytes from `at` fit before `limit` (the end of the container `what` is in). */
function need(at: number, n: number, limit: number, what: string): void {
  if (at + n > limit) throw new Malformed(`${what} runs past its container`);
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

const utf8 = new TextDecoder();

/** Bytes as a string of Latin-1 characters (one decoder call when they are ASCII, as names nearly always are). */
function chars(b: Uint8Array, from: number, to: number): string {
  let ascii = true;
  for (let i = from; i < to; i++) if (b[i]! >= 0x80) ascii = false;
  if (ascii) return utf8.decode(b.subarray(from, to));
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(b[i]!);
  return s;
}

const HOST = /^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/;

function versionName(v: number): ClientHelloInfo["version"] {
  return v >= 0x0304 ? "TLSv1.3" : v === 0x0303 ? "TLSv1.2" : v === 0x0302 ? "TLSv1.1" : "TLSv1.0";
}

// Plain offsets rather than cursor objects: this runs once per connection, often before the JIT has warmed up to it.
function parseBody(b: Uint8Array): Omit<ClientHelloInfo, "length"> {
  const end = b.length;
  let p = 0;
  need(p, 2, end, "client_version");
  const legacyVersion = u16(b, p);
  p += 2;
  if (legacyVersion < 0x0301 || legacyVersion > 0x0303) throw new Malformed(`client_version 0x${legacyVersion.toString(16)} is not TLS 1.0-1.2`);
  need(p, 32, end, "random");
  p += 32;
  need(p, 1, end, "session_id length");
  const sid = b[p++]!;
  if (sid > 32) throw new Malformed("session_id longer than 32 bytes");
  need(p, sid, end, "session_id");
  p += sid;
  need(p, 2, end, "cipher_suites length");
  const suites = u16(b, p);
  p += 2;
  if (suites < 2 || suites % 2 !== 0) throw new Malformed("cipher_suites length is not a positive even number");
  need(p, suites, end, "cipher_suites");
  p += suites;
  need(p, 1, end, "compression_methods length");
  const comp = b[p++]!;
  if (comp < 1) throw new Malformed("no compression method");
  need(p, comp, end, "compression_methods");
  p += comp;
  let serverName = "";
  const alpn: string[] = [];
  let version = versionName(legacyVersion);
  if (p === end) return { serverName, alpn, version };
  need(p, 2, end, "extensions length");
  const extEnd = p + 2 + u16(b, p);
  p += 2;
  need(p, extEnd - p, end, "extensions");
  if (extEnd !== end) throw new Malformed("bytes after the extensions");
  const seen: number[] = [];
  while (p < extEnd) {
    need(p, 2, extEnd, "extension type");
    const type = u16(b, p);
    need(p + 2, 2, extEnd, "extension length");
    const dataEnd = p + 4 + u16(b, p + 2);
    need(p + 4, dataEnd - p - 4, extEnd, "extension");
    let q = p + 4;
    p = dataEnd;
    if (seen.includes(type)) throw new Malformed(`extension ${type} appears twice`);
    seen.push(type);
    if (type === EXT_SERVER_NAME) {
      need(q, 2, dataEnd, "server_name_list length");
      const listEnd = q + 2 + u16(b, q);
      q += 2;
      need(q, listEnd - q, dataEnd, "server_name_list");
      while (q < listEnd) {
        need(q, 1, listEnd, "name_type");
        const kind = b[q++]!;
        need(q, 2, listEnd, "host_name length");
        const nameEnd = q + 2 + u16(b, q);
        q += 2;
        need(q, nameEnd - q, listEnd, "host_name");
        const from = q;
        q = nameEnd;
        if (kind !== 0 || serverName !== "") continue;
        const s = chars(b, from, nameEnd).toLowerCase();
        if (s.length === 0 || s.length > 253 || !HOST.test(s)) throw new Malformed(`server name ${JSON.stringify(s.slice(0, 80))} is not a host name`);
        serverName = s.endsWith(".") ? s.slice(0, -1) : s;
      }
    } else if (type === EXT_ALPN) {
      need(q, 2, dataEnd, "protocol_name_list length");
      const listEnd = q + 2 + u16(b, q);
      q += 2;
      need(q, listEnd - q, dataEnd, "protocol_name_list");
      while (q < listEnd) {
        need(q, 1, listEnd, "protocol name length");
        const n = b[q++]!;
        need(q, n, listEnd, "protocol name");
        if (n === 0) throw new Malformed("empty ALPN protocol name");
        alpn.push(chars(b, q, q + n));
        q += n;
      }
    } else if (type === EXT_SUPPORTED_VERSIONS) {
      need(q, 1, dataEnd, "supported_versions length");
      const listEnd = q + 1 + b[q]!;
      q += 1;
      need(q, listEnd - q, dataEnd, "supported_versions");
      let best = 0;
      while (q < listEnd) {
        need(q, 2, listEnd, "supported version");
        const v = u16(b, q);
        q += 2;
        // GREASE values (0x?a?a) are not versions.
        if ((v & 0x0f0f) !== 0x0a0a && v <= 0x0304) best = Math.max(best, v);
      }
      if (best >= 0x0301) version = versionName(best);
    }
  }
  return { serverName, alpn, version };
}

/**
 * Parses the ClientHello at the start of `buf` (every byte of the connection
 * so far). Handshake bytes are gathered from as many records as the hello
 * spans; anything not TLS, malformed, or larger than MAX_HELLO_BYTES is refused.
 */
export function peekClientHello(buf: Uint8Array): PeekResult {
  const handshake: Uint8Array[] = [];
  let have = 0;
  let pos = 0;
  let want = -1;
  for (;;) {
    if (buf.length - pos < 5) return more(buf);
    if (buf[pos] !== HANDSHAKE) return pos === 0 ? refuse("not_tls", `first byte 0x${buf[0]!.toString(16)} is not a TLS handshake record`) : refuse("malformed", "a record inside the ClientHello is not a handshake record");
    if (buf[pos + 1] !== 0x03 || buf[pos + 2]! > 0x04) return refuse(pos === 0 ? "not_tls" : "malformed", "record version is not TLS");
    const len = (buf[pos + 3]! << 8) | buf[pos + 4]!;
    if (len === 0 || len > MAX_RECORD) return refuse("malformed", `record length ${len}`);
    const available = Math.min(len, buf.length - pos - 5);
    handshake.push(buf.subarray(pos + 5, pos + 5 + available));
    have += available;
    if (want === -1 && have >= 4) {
      const at = (i: number) => byteAt(handshake, i);
      if (at(0) !== CLIENT_HELLO) return refuse("malformed", `handshake message ${at(0)} is not a ClientHello`);
      want = 4 + ((at(1) << 16) | (at(2) << 8) | at(3));
      if (want > MAX_HELLO_BYTES) return refuse("too_large", `ClientHello of ${want} bytes is over the ${MAX_HELLO_BYTES}-byte limit`);
    }
    if (want !== -1 && have >= want) {
      const h = concat(handshake, have);
      try {
        const info = parseBody(h.subarray(4, want));
        const recordsEnd = pos + 5 + len;
        return { status: "ok", hello: { ...info, length: recordsEnd } };
      } catch (err) {
        if (err instanceof Malformed) return refuse("malformed", err.message);
        throw err;
      }
    }
    if (available < len) return more(buf);
    if (handshake.length >= MAX_RECORDS) return refuse("malformed", `ClientHello spread over more than ${MAX_RECORDS} records`);
    pos += 5 + len;
  }
}

function more(buf: Uint8Array): PeekResult {
  if (buf.length > MAX_HELLO_BYTES + 64) return refuse("too_large", `no complete ClientHello in ${buf.length} bytes`);
  return { status: "more" };
}

function refuse(reason: PeekRefusal, detail: string): PeekResult {
  return { status: "error", reason, detail };
}

function byteAt(parts: Uint8Array[], i: number): number {
  for (const p of parts) {
    if (i < p.length) return p[i]!;
    i -= p.length;
  }
  return 0;
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
