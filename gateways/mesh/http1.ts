/**
 * HTTP/1.1 message framing, just enough for a relay to find where each
 * request and response begins and ends (RFC 9112 section 6): heads are parsed,
 * bodies are passed through byte for byte while their length is tracked.
 */
import { Buffer } from "node:buffer";

export class HttpParseError extends Error {
  override readonly name = "HttpParseError";
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export const MAX_HEAD_BYTES = 64 * 1024;

type Field = readonly [string, string];

/** Whether `text` from `at` spells `lower` (a lowercase name), ASCII letters compared without case. */
function namedAt(text: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = text.charCodeAt(at + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

const NO_OFFSETS: readonly number[] = [];

/**
 * Header fields with case-insensitive lookup; a repeated field reads as its
 * values joined by ", ". Parsed heads keep the head's text and each field's
 * offsets in it: a lookup compares names in place and slices only the value
 * it returns, and `fields` is built only when someone asks for the list
 * (a relay that only frames messages never does).
 */
export class HeaderList {
  #fields: readonly Field[] | null;
  readonly #text: string;
  /** Per field: name start, name end, value start, value end in #text. */
  readonly #at: readonly number[];

  /** Every line of a parsed head ends in CRLF (no bare LF): its bytes may be passed on as they are. */
  readonly crlf: boolean;

  constructor(fields: readonly Field[] | null, text = "", at: readonly number[] = NO_OFFSETS, crlf = false) {
    this.#fields = fields;
    this.#text = text;
    this.#at = at;
    this.crlf = crlf;
  }

  /** Whether a field named `name` is present. */
  has(name: string): boolean {
    return this.#find(name.toLowerCase(), 0) !== -1;
  }

  /** Where each line of a field named `lower` begins and ends (past its LF) in a parsed head, as pairs. */
  lines(lower: string): number[] {
    const out: number[] = [];
    if (this.#fields !== null) return out;
    for (let i = this.#find(lower, 0); i !== -1; i = this.#find(lower, i + 4)) out.push(this.#at[i]!, this.#text.indexOf("\n", this.#at[i + 3]!) + 1);
    return out;
  }

  get fields(): readonly Field[] {
    if (this.#fields === null) {
      const at = this.#at;
      const t = this.#text;
      const out: Field[] = [];
      for (let i = 0; i < at.length; i += 4) out.push([t.slice(at[i]!, at[i + 1]!), t.slice(at[i + 2]!, at[i + 3]!)]);
      this.#fields = out;
    }
    return this.#fields;
  }

  /** Index in #at (a multiple of 4) or in #fields of the next field named `lower` from `from`, or -1. */
  #find(lower: string, from: number): number {
    const n = lower.length;
    const f = this.#fields;
    if (f !== null) {
      for (let i = from; i < f.length; i++) if (f[i]![0].length === n && namedAt(f[i]![0], 0, lower)) return i;
      return -1;
    }
    const at = this.#at;
    for (let i = from; i < at.length; i += 4) if (at[i + 1]! - at[i]! === n && namedAt(this.#text, at[i]!, lower)) return i;
    return -1;
  }

  #value(i: number): string {
    return this.#fields !== null ? this.#fields[i]![1] : this.#text.slice(this.#at[i + 2]!, this.#at[i + 3]!);
  }

  get(name: string): string | null {
    const lower = name.toLowerCase();
    const step = this.#fields !== null ? 1 : 4;
    let i = this.#find(lower, 0);
    if (i === -1) return null;
    let out = this.#value(i);
    while ((i = this.#find(lower, i + step)) !== -1) out = `${out}, ${this.#value(i)}`;
    return out;
  }

  all(name: string): string[] {
    const lower = name.toLowerCase();
    const step = this.#fields !== null ? 1 : 4;
    const out: string[] = [];
    for (let i = this.#find(lower, 0); i !== -1; i = this.#find(lower, i + step)) out.push(this.#value(i));
    return out;
  }
}

export interface RequestHead {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly headers: HeaderList;
  /** The head's bytes exactly as received. */
  readonly raw: Uint8Array;
}

export interface ResponseHead {
  readonly status: number;
  readonly version: string;
  /** The status line's reason phrase ("" when absent). */
  readonly reason: string;
  readonly headers: HeaderList;
  readonly raw: Uint8Array;
}

export type BodyFraming = { readonly kind: "none" } | { readonly kind: "length"; readonly length: number } | { readonly kind: "chunked" } | { readonly kind: "close" };

/** The framings without a length, one object each (a head's framing is worked out for every message). */
const NONE: BodyFraming = { kind: "none" };
const CHUNKED: BodyFraming = { kind: "chunked" };
const CLOSE: BodyFraming = { kind: "close" };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** tchar (RFC 9110 5.6.2) by character code. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

/** Index just past the blank line ending a head, or -1. */
export function headEnd(buf: Uint8Array): number {
  for (let i = 3; i < buf.length; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  // Bare LF line endings are tolerated, as most servers do.
  for (let i = 1; i < buf.length; i++) if (buf[i] === 10 && buf[i - 1] === 10) return i + 1;
  return -1;
}

/** Bytes as ISO-8859-1 (one char per byte; TextDecoder's "latin1" is windows-1252). */
function latin1(bytes: Uint8Array): string {
  // A socket's chunk is a Buffer already: no second view of it.
  if (Buffer.isBuffer(bytes)) return bytes.toString("latin1");
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** What String.prototype.trim takes off, within ISO-8859-1. */
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13) || c === 160;

/** Header fields of the lines of `text` from `from` on (each line ends in LF, optionally CRLF), as offsets: no string per field until asked. */
function parseFields(text: string, from: number): HeaderList {
  const at: number[] = [];
  let crlf = true;
  let pos = from;
  while (pos < text.length) {
    let end = text.indexOf("\n", pos);
    if (end === -1) end = text.length;
    const lineEnd = end > pos && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (lineEnd === end) crlf = false;
    const start = pos;
    pos = end + 1;
    if (lineEnd === start) continue;
    const colon = text.indexOf(":", start);
    if (colon <= start || colon >= lineEnd) throw new HttpParseError(400, `malformed header line: ${JSON.stringify(text.slice(start, Math.min(lineEnd, start + 80)))}`);
    for (let i = start; i < colon; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128 || TCHAR[c] === 0) throw new HttpParseError(400, `invalid header name: ${JSON.stringify(text.slice(start, Math.min(colon, start + 80)))}`);
    }
    let v = colon + 1;
    let w = lineEnd;
    while (v < w && isSpace(text.charCodeAt(v))) v++;
    while (w > v && isSpace(text.charCodeAt(w - 1))) w--;
    at.push(start, colon, v, w);
  }
  return new HeaderList(null, text, at, crlf);
}

/** The first line of a head (without its line ending) and where the next one starts. */
function firstLine(text: string): [string, number] {
  const lf = text.indexOf("\n");
  if (lf === -1) return [text, text.length];
  return [text.slice(0, lf > 0 && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf), lf + 1];
}

const VERSION = /^HTTP\/1\.[01]$/;

export function parseRequestHead(raw: Uint8Array): RequestHead {
  const text = latin1(raw);
  const [line, next] = firstLine(text);
  const sp1 = line.indexOf(" ");
  const sp2 = sp1 === -1 ? -1 : line.indexOf(" ", sp1 + 1);
  const method = line.slice(0, sp1);
  const target = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (sp1 <= 0 || sp2 === -1 || line.indexOf(" ", sp2 + 1) !== -1 || !TOKEN.test(method) || target === "" || !VERSION.test(version)) {
    throw new HttpParseError(400, `malformed request line: ${JSON.stringify(line.slice(0, 80))}`);
  }
  return { method, target, version, headers: parseFields(text, next), raw };
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** `HTTP/1.x SSS[ reason]` (the reason without CR or LF). */
function statusLineOk(line: string): boolean {
  if (line.length < 12 || !line.startsWith("HTTP/1.") || (line[7] !== "0" && line[7] !== "1") || line[8] !== " ") return false;
  if (!isDigit(line.charCodeAt(9)) || !isDigit(line.charCodeAt(10)) || !isDigit(line.charCodeAt(11))) return false;
  if (line.length === 12) return true;
  return line[12] === " " && line.indexOf("\r", 13) === -1;
}

export function parseResponseHead(raw: Uint8Array): ResponseHead {
  const text = latin1(raw);
  const [line, next] = firstLine(text);
  if (!statusLineOk(line)) throw new HttpParseError(502, `malformed status line: ${JSON.stringify(line.slice(0, 80))}`);
  return { version: line.slice(0, 8), status: Number(line.slice(9, 12)), reason: line.length > 12 ? line.slice(13) : "", headers: parseFields(text, next), raw };
}

function isChunked(headers: HeaderList): boolean | null {
  const te = headers.get("transfer-encoding");
  if (te === null) return null;
  const codings = te.split(",").map((c) => c.trim().toLowerCase()).filter((c) => c !== "");
  return codings[codings.length - 1] === "chunked";
}

const DIGITS = /^\d+$/;

function contentLength(headers: HeaderList, status: number): number | null {
  const all = headers.all("content-length");
  if (all.length === 0) return null;
  // The common case, one plain value, without splitting.
  if (all.length === 1 && DIGITS.test(all[0]!)) return Number(all[0]);
  const values = all.flatMap((v) => v.split(",").map((x) => x.trim()));
  if (values.some((v) => !DIGITS.test(v)) || new Set(values).size > 1) throw new HttpParseError(status, "invalid Content-Length");
  return Number(values[0]);
}

/**
 * A parsed head's bytes without the fields named in `drop` (lowercase) and
 * with `extra` (CRLF-ended lines) before the blank line: hop-by-hop fields
 * taken out without parsing and writing the head again. Null when the head
 * has a bare-LF line (it is then rebuilt from its fields instead).
 */
export function headWithout(raw: Uint8Array, headers: HeaderList, drop: readonly string[], extra: string): Uint8Array | null {
  if (!headers.crlf) return null;
  const cut: number[] = [];
  for (const name of drop) cut.push(...headers.lines(name));
  if (cut.length === 0 && extra === "") return raw;
  if (cut.length > 2) {
    const pairs: [number, number][] = [];
    for (let i = 0; i < cut.length; i += 2) pairs.push([cut[i]!, cut[i + 1]!]);
    pairs.sort((a, b) => a[0] - b[0]);
    cut.length = 0;
    for (const [a, b] of pairs) cut.push(a, b);
  }
  let removed = 0;
  for (let i = 0; i < cut.length; i += 2) removed += cut[i + 1]! - cut[i]!;
  // The blank line ending the head (its last two bytes) stays last.
  const out = Buffer.allocUnsafe(raw.length - removed + extra.length);
  let from = 0;
  let to = 0;
  const keep = (end: number) => {
    out.set(raw.subarray(from, end), to);
    to += end - from;
  };
  for (let i = 0; i < cut.length; i += 2) {
    keep(cut[i]!);
    from = cut[i + 1]!;
  }
  keep(raw.length - 2);
  to += out.write(extra, to, "latin1");
  out[to] = 13;
  out[to + 1] = 10;
  return out;
}

/** How a request body is delimited (RFC 9112 6.3, rules for requests). */
export function requestFraming(h: RequestHead): BodyFraming {
  const chunked = isChunked(h.headers);
  if (chunked === false) throw new HttpParseError(400, "a request's transfer coding must end with chunked");
  if (chunked) return CHUNKED;
  const len = contentLength(h.headers, 400);
  return len === null || len === 0 ? NONE : { kind: "length", length: len };
}

/** How a response body is delimited, given the request method it answers. */
export function responseFraming(h: ResponseHead, requestMethod: string): BodyFraming {
  if (requestMethod === "HEAD" || (h.status >= 100 && h.status < 200) || h.status === 204 || h.status === 304) return NONE;
  if (requestMethod === "CONNECT" && h.status >= 200 && h.status < 300) return NONE;
  const chunked = isChunked(h.headers);
  if (chunked === true) return CHUNKED;
  if (chunked === false) return CLOSE;
  const len = contentLength(h.headers, 502);
  if (len !== null) return len === 0 ? NONE : { kind: "length", length: len };
  return CLOSE;
}

/** Whether the connection ends after this message (HTTP/1.0 without keep-alive, or Connection: close). */
export function closesConnection(version: string, headers: HeaderList): boolean {
  const connection = headers.get("connection");
  if (connection === null) return version === "HTTP/1.0";
  // The common values, without splitting.
  if (connection.length === 10 && namedAt(connection, 0, "keep-alive")) return false;
  if (connection.length === 5 && namedAt(connection, 0, "close")) return true;
  const tokens = connection.toLowerCase().split(",").map((t) => t.trim());
  if (tokens.includes("close")) return true;
  return version === "HTTP/1.0" && !tokens.includes("keep-alive");
}

/**
 * Tracks a chunked body across arbitrary chunk boundaries. `feed` returns how
 * many bytes of `bytes` belong to the body; `done` turns true after the last
 * chunk and its trailers.
 */
export class ChunkedTracker {
  private state: "size" | "data" | "crlf" | "trailer" = "size";
  private line = "";
  private remaining = 0;
  done = false;

  feed(bytes: Uint8Array): number {
    let i = 0;
    while (i < bytes.length && !this.done) {
      switch (this.state) {
        case "size":
        case "trailer": {
          const b = bytes[i++]!;
          if (b !== 10) {
            this.line += String.fromCharCode(b);
            if (this.line.length > 4096) throw new HttpParseError(400, "chunk line too long");
            break;
          }
          const line = this.line.replace(/\r$/, "");
          this.line = "";
          if (this.state === "trailer") {
            if (line === "") this.done = true;
            break;
          }
          const hex = line.split(";")[0]!.trim();
          if (!/^[0-9a-fA-F]{1,15}$/.test(hex)) throw new HttpParseError(400, `invalid chunk size: ${JSON.stringify(hex.slice(0, 20))}`);
          this.remaining = parseInt(hex, 16);
          this.state = this.remaining === 0 ? "trailer" : "data";
          break;
        }
        case "data": {
          const take = Math.min(this.remaining, bytes.length - i);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            this.state = "crlf";
            this.line = "";
          }
          break;
        }
        case "crlf": {
          const b = bytes[i++]!;
          if (b === 10) this.state = "size";
          else if (b !== 13) throw new HttpParseError(400, "chunk data not followed by CRLF");
          break;
        }
      }
    }
    return i;
  }
}
