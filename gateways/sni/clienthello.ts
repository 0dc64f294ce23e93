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

/** A bounds-checked cursor over one ClientHello body. */
class Cursor {
  pos = 0;
  readonly b: Uint8Array;
  readonly end: number;
  constructor(b: Uint8Array, end: number = b.length) {
    this.b = b;
    this.end = end;
  }
  need(n: number, what: string): void {
    if (this.pos + n > this.end) throw new Malformed(`${what} runs past its container`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.pos++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = (this.b[this.pos]! << 8) | this.b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }
  /** A sub-cursor over the next `n` bytes, skipping them here. */
  take(n: number, what: string): Cursor {
    this.need(n, what);
    const c = new Cursor(this.b, this.pos + n);
    c.pos = this.pos;
    this.pos += n;
    return c;
  }
  get left(): number {
    return this.end - this.pos;
  }
}

const HOST = /^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/;

function versionName(v: number): ClientHelloInfo["version"] {
  return v >= 0x0304 ? "TLSv1.3" : v === 0x0303 ? "TLSv1.2" : v === 0x0302 ? "TLSv1.1" : "TLSv1.0";
}

function parseBody(body: Uint8Array): Omit<ClientHelloInfo, "length"> {
  const c = new Cursor(body);
  const legacyVersion = c.u16("client_version");
  if (legacyVersion < 0x0301 || legacyVersion > 0x0303) throw new Malformed(`client_version 0x${legacyVersion.toString(16)} is not TLS 1.0-1.2`);
  c.take(32, "random");
  const sid = c.u8("session_id length");
  if (sid > 32) throw new Malformed("session_id longer than 32 bytes");
  c.take(sid, "session_id");
  const suites = c.u16("cipher_suites length");
  if (suites < 2 || suites % 2 !== 0) throw new Malformed("cipher_suites length is not a positive even number");
  c.take(suites, "cipher_suites");
  const comp = c.u8("compression_methods length");
  if (comp < 1) throw new Malformed("no compression method");
  c.take(comp, "compression_methods");
  let serverName = "";
  const alpn: string[] = [];
  let version = versionName(legacyVersion);
  if (c.left === 0) return { serverName, alpn, version };
  const exts = c.take(c.u16("extensions length"), "extensions");
  if (c.left !== 0) throw new Malformed("bytes after the extensions");
  const seen = new Set<number>();
  while (exts.left > 0) {
    const type = exts.u16("extension type");
    const data = exts.take(exts.u16("extension length"), "extension");
    if (seen.has(type)) throw new Malformed(`extension ${type} appears twice`);
    seen.add(type);
    if (type === EXT_SERVER_NAME) {
      const list = data.take(data.u16("server_name_list length"), "server_name_list");
      while (list.left > 0) {
        const kind = list.u8("name_type");
        const name = list.take(list.u16("host_name length"), "host_name");
        if (kind !== 0 || serverName !== "") continue;
        let s = "";
        for (let i = name.pos; i < name.end; i++) s += String.fromCharCode(body[i]!);
        s = s.toLowerCase();
        if (s.length === 0 || s.length > 253 || !HOST.test(s)) throw new Malformed(`server name ${JSON.stringify(s.slice(0, 80))} is not a host name`);
        serverName = s.endsWith(".") ? s.slice(0, -1) : s;
      }
    } else if (type === EXT_ALPN) {
      const list = data.take(data.u16("protocol_name_list length"), "protocol_name_list");
      while (list.left > 0) {
        const p = list.take(list.u8("protocol name length"), "protocol name");
        if (p.left === 0) throw new Malformed("empty ALPN protocol name");
        let s = "";
        for (let i = p.pos; i < p.end; i++) s += String.fromCharCode(body[i]!);
        alpn.push(s);
      }
    } else if (type === EXT_SUPPORTED_VERSIONS) {
      const list = data.take(data.u8("supported_versions length"), "supported_versions");
      let best = 0;
      while (list.left > 0) {
        const v = list.u16("supported version");
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
